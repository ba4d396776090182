"""Direct WebSocket writes (``web.fanout``) against a real eventlet Socket.IO server
process (tests/fanout_server.py) and real clients: broadcasts arrive whole and in order,
also compressed (permessage-deflate, as browsers ask), and a client that stops reading
neither stalls the broadcast for the others nor loses or reorders its own messages."""

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import socketio
import websocket
from conftest import TESTS, free_port

from web import fanout

HERE = str(TESTS)


@pytest.fixture()
def server():
    port = free_port()
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "fanout_server.py")],
                            env=dict(os.environ, PORT=str(port), PYTHONWARNINGS="ignore",
                                     SECRET_KEY=os.urandom(16).hex()),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 20
    while True:
        if proc.poll() is not None:
            raise RuntimeError(proc.stderr.read().decode()[-2000:])
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.time() > deadline:
                raise RuntimeError("fanout_server did not start") from None
            time.sleep(0.1)
    yield url
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()


def raw_client(url: str, rcvbuf: int | None = None) -> websocket.WebSocket:
    """A WebSocket that speaks Engine.IO/Socket.IO by hand and has joined room ``r``;
    ``rcvbuf`` shrinks its kernel receive buffer (a phone on a bad network)."""
    opts = [(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)] if rcvbuf else []
    ws = websocket.create_connection(url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket",
                                     sockopt=opts, timeout=30)
    assert ws.recv().startswith("0{")  # Engine.IO open
    ws.send("40")
    assert ws.recv().startswith("40{")  # Socket.IO connect
    ws.send('420["join"]')
    assert ws.recv() == '430[{"ok":true}]'
    return ws


def numbers(frames: list[str]) -> list[int]:
    """The ``i`` of every ``m`` event among raw Socket.IO frames."""
    return [json.loads(f[2:])[1]["i"] for f in frames if f.startswith('42["m"')]


def test_install_needs_eventlet():
    """The test process is not monkey-patched: the fast path stays out."""
    assert fanout.install() is False


def test_broadcast_arrives_whole_and_in_order_and_mostly_direct(server):
    reader = socketio.Client(reconnection=False)
    got = []
    reader.on("m", lambda m: got.append((m["i"], len(m["pad"]))))
    reader.connect(server, transports=["websocket"], wait_timeout=10)
    try:
        assert reader.call("join", timeout=10)["ok"]
        assert reader.call("burst", {"n": 200, "size": 300}, timeout=30)["ok"]
        deadline = time.time() + 20
        while len(got) < 200 and time.time() < deadline:
            time.sleep(0.05)
        assert got == [(i, 300) for i in range(200)]
        stats = reader.call("stats", timeout=10)
        assert stats["installed"] is True
        assert stats["direct"] >= 150, stats  # most went straight to the socket
    finally:
        reader.disconnect()


def test_compressed_frames_stay_in_order(server):
    """Browsers negotiate permessage-deflate; the compressor's state follows the order
    frames are written in, so a frame out of order would not even decompress."""
    import aiohttp

    async def run():
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(server.replace("http", "ws")
                                          + "/socket.io/?EIO=4&transport=websocket",
                                          compress=15) as ws:
                assert ws.compress == 15, "server did not accept permessage-deflate"
                assert (await ws.receive_str()).startswith("0{")
                await ws.send_str("40")
                assert (await ws.receive_str()).startswith("40{")
                await ws.send_str('420["join"]')
                assert await ws.receive_str() == '430[{"ok":true}]'
                await ws.send_str('421["burst",{"n":100,"size":3000}]')
                frames = []
                while len(numbers(frames)) < 100:
                    frames.append(await asyncio.wait_for(ws.receive_str(), 20))
                return numbers(frames)

    # A thread of its own: the browser tests' Playwright keeps an event loop running in
    # this one, and asyncio.run refuses to start a second.
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(lambda: asyncio.run(run())).result(60) == list(range(100))


def test_a_client_that_stops_reading_stalls_nobody_and_loses_nothing(server):
    """15 MB to a room where one client reads nothing: the emitting finishes at once,
    the reading client gets everything, and the stuck one, once it reads again, gets
    every message, whole and in order."""
    stuck = raw_client(server, rcvbuf=8192)
    reader = socketio.Client(reconnection=False)
    got = []
    reader.on("m", lambda m: got.append(m["i"]))
    reader.connect(server, transports=["websocket"], wait_timeout=10)
    try:
        assert reader.call("join", timeout=10)["ok"]
        ack = reader.call("burst", {"n": 300, "size": 50_000}, timeout=30)
        assert ack["ok"] and ack["seconds"] < 5, ack  # not waiting for the stuck client
        deadline = time.time() + 30
        while len(got) < 300 and time.time() < deadline:
            time.sleep(0.05)
        assert got == list(range(300))
        stats = reader.call("stats", timeout=10)
        assert stats["deferred"] >= 1, stats  # the stuck socket's buffers did fill
        assert stats["queued"] >= 1, stats  # and its later messages waited their turn
        frames = []
        while len(numbers(frames)) < 300:
            frames.append(stuck.recv())
        assert numbers(frames) == list(range(300))
        assert all(len(f) > 50_000 for f in frames if f.startswith('42["m"'))
    finally:
        reader.disconnect()
        stuck.close()
