"""The benchmarks BENCHMARKS.md quotes still run, as scripts, the way its commands call
them: a tiny chat fan-out (every message delivered) and a tiny PDF batch (every document
rendered). The figures themselves are the benchmarks' business, not a test's."""

import os
import pathlib
import subprocess
import sys

import pytest
from conftest import TEST_REDIS_URL

REPO = pathlib.Path(__file__).resolve().parents[2]


def run_bench(args: list[str], tmp_path, **env) -> str:
    done = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=400, env={**os.environ, **env})
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def row(out: str, header: str) -> dict:
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.split()[:1] == [header])
    return dict(zip(lines[at].split(), lines[at + 1].split()))


@pytest.mark.slow
def test_chat_bench_delivers_every_message_in_each_server_mode(tmp_path):
    out = run_bench(["bench/chat.py", "--clients", "20", "--rate", "2", "--seconds", "3",
                     "--rates", "", "--procs", "1", "--mode", "eventlet,gevent",
                     "--database-url", f"sqlite:///{tmp_path / 'chat.db'}"], tmp_path,
                    BENCH_REDIS_URL=TEST_REDIS_URL)
    got = row(out, "clients")
    assert got["clients"] == "20"
    assert int(got["sent"]) > 0
    assert got["lost"] == "0"
    assert int(got["received"]) == int(got["sent"]) * 20
    lines = out.splitlines()
    at = lines.index("mode      clients  rate  p50 ms  p99 ms  lost")
    per_mode = [line.split() for line in lines[at + 1:at + 3]]
    assert [r[0] for r in per_mode] == ["eventlet", "gevent"]
    assert all(r[1] == "20" and r[-1] == "0" for r in per_mode)


@pytest.mark.slow
def test_chat_bench_node_generator_measures_ours_and_the_peer(tmp_path):
    """The Node generator (npm installs its pinned packages on first use) runs against our
    servers and the peer Node pair, every message delivered to every client of both, and
    prints the ratio."""
    out = run_bench(["bench/chat.py", "--generator", "node", "--matrix", "20:2",
                     "--seconds", "3", "--mode", "eventlet", "--database-url",
                     f"sqlite:///{tmp_path / 'chat.db'}"], tmp_path,
                    BENCH_REDIS_URL=TEST_REDIS_URL,
                    BENCH_NODE_DIR=str(tmp_path.parent / "siso-bench-node"))
    rows = {line.split()[0]: line.split() for line in out.splitlines()
            if line.startswith(("ours-eventlet ", "peer-node "))}
    head = next(line.split() for line in out.splitlines() if line.startswith("target "))
    for target in ("ours-eventlet", "peer-node"):
        got = dict(zip(head, rows[target], strict=True))
        assert got["clients"] == "20" and int(got["sent"]) == 6
        assert got["lost"] == "0" and got["errors"] == "0"
        assert int(got["received"]) == 6 * 20
    assert "ours-eventlet       20 clients     2 msg/s: p99" in out


@pytest.mark.slow
def test_pdf_bench_renders_every_document(tmp_path):
    out = run_bench(["bench/pdf.py", "--n", "3", "--cases", "one", "--workers", "1",
                     "--redis-url", TEST_REDIS_URL], tmp_path)
    got = row(out, "case")
    assert got["case"] == "one"
    assert "ok!" not in out  # the bench flags a batch with documents missing
    assert float(got["docs/s"]) > 0
