"""The hashed lock files (README "Run it", `make lock`): they hold every pin people wrote in
requirements*.txt at the same version, every package with its hashes, and they are what
this environment was installed from."""

import re
from importlib import metadata

import pytest
from conftest import REPO
from packaging.markers import Marker
from packaging.utils import canonicalize_name

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


def pins(path) -> dict[str, str]:
    """``{name: version}`` of the ``name==version`` lines of a requirements file (no -r)."""
    found = {}
    for line in (REPO / path).read_text().splitlines():
        m = _PIN.match(line.strip())
        if m:
            found[canonicalize_name(m.group(1))] = m.group(2)
    return found


def lock_entries(path) -> dict[str, tuple[str, int, str | None]]:
    """``{name: (version, number of hashes, environment marker)}`` of a lock file."""
    entries, current = {}, None
    for line in (REPO / path).read_text().splitlines():
        m = _PIN.match(line)
        if m:
            marker = line.split(";", 1)[1].rstrip(" \\").strip() if ";" in line else None
            current = canonicalize_name(m.group(1))
            entries[current] = [m.group(2), 0, marker]
        elif current and line.strip().startswith("--hash=sha256:"):
            entries[current][1] += 1
    return {k: tuple(v) for k, v in entries.items()}


@pytest.mark.parametrize("wanted,lock", [
    (["requirements.txt"], "requirements.lock"),
    (["requirements.txt", "requirements-dev.txt"], "requirements-dev.lock"),
])
def test_lock_holds_every_pin_at_its_version_with_hashes(wanted, lock):
    locked = lock_entries(lock)
    for req in wanted:
        for name, version in pins(req).items():
            assert name in locked, f"{name} is pinned in {req} but missing from {lock}: make lock"
            assert locked[name][0] == version, (
                f"{req} pins {name}=={version}, {lock} has {locked[name][0]}: make lock")
    unhashed = [name for name, (_v, hashes, _m) in locked.items() if hashes == 0]
    assert not unhashed, f"{lock} has packages without hashes: {unhashed}"


def test_runtime_and_dev_locks_agree():
    run, dev = lock_entries("requirements.lock"), lock_entries("requirements-dev.lock")
    differ = {n: (v[0], dev[n][0]) for n, v in run.items() if n in dev and dev[n][0] != v[0]}
    assert not differ, f"the two lock files disagree (make lock): {differ}"
    assert set(run) <= set(dev), f"only in the runtime lock: {set(run) - set(dev)}"


def test_this_environment_was_installed_from_the_dev_lock():
    wrong = {}
    for name, (version, _hashes, marker) in lock_entries("requirements-dev.lock").items():
        if marker and not Marker(marker).evaluate():
            continue
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            wrong[name] = (version, installed)
    assert not wrong, f"locked vs installed (scripts/install.sh dev): {wrong}"
