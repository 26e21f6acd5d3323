"""A misbehaving stream server on 127.0.0.1 (HTTP, serving a real MJPEG AVI): it refuses connections, stalls
(accepts and never answers, or stops sending mid-stream) and cuts the stream mid-file. Every server loop is
bounded and stops by itself. Checked: retries with back-off at the start (with --reconnect), reconnects after
drops, Ctrl-C during any wait exits 130 at once, and the outputs of a stream that ended are whole."""
import contextlib
import signal
import socket
import threading
import time

import pytest

from .conftest import assert_error, assert_nothing_half_written, cli, start, wait_for_line

SERVER_LIFETIME_S = 60.0


@pytest.fixture(scope="module")
def avi_bytes(tmp_path_factory):
    from edge_saliency.outputs.sample_clip import write_sample_clip

    path = write_sample_clip(str(tmp_path_factory.mktemp("stream") / "clip.avi"), frames=48, size=(96, 128),
                             fps=12.0)
    with open(path, "rb") as f:
        return f.read()


def closed_port():
    """A port on 127.0.0.1 that refuses connections (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def server(mode, data=b"", fraction=0.5, answers=1000):
    """An HTTP server on 127.0.0.1 for one test: ``stall`` (accept, never answer), ``cut`` (send ``fraction`` of
    ``data``, then close), ``stall-mid`` (send ``fraction``, then keep the connection open silently). After
    ``answers`` connections it closes (refuses), and it stops by itself after SERVER_LIFETIME_S or when the test
    ends. Yields (url, the connections accepted)."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.1)
    stop = threading.Event()
    connections = []

    def serve():
        deadline = time.monotonic() + SERVER_LIFETIME_S
        while not stop.is_set() and time.monotonic() < deadline and len(connections) < answers:
            try:
                conn, _ = listener.accept()
            except socket.timeout:
                continue
            connections.append(conn)
            if mode == "stall":
                continue
            conn.settimeout(2.0)
            with contextlib.suppress(OSError):
                conn.recv(65536)
                conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: video/x-msvideo\r\n\r\n" +
                             data[: int(len(data) * fraction)])
            if mode == "cut":
                conn.close()
        listener.close()  # from now on: connection refused
        stop.wait(max(0.0, deadline - time.monotonic()))
        for conn in connections:
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:{}/live.avi".format(listener.getsockname()[1]), connections
    finally:
        stop.set()
        thread.join(timeout=5)


def test_refused_at_start_without_reconnect_fails_at_once(tmp_path):
    started = time.monotonic()
    result = cli("run", "http://127.0.0.1:{}/x".format(closed_port()), "--no-display", cwd=str(tmp_path), timeout=60)
    assert_error(result, "cannot open stream http://127.0.0.1:\\d+/x: no answer")
    assert time.monotonic() - started < 20 and "retrying" not in result.stderr


def test_refused_at_start_is_retried_with_backoff(tmp_path):
    started = time.monotonic()
    result = cli("run", "http://127.0.0.1:{}/x".format(closed_port()), "--reconnect", 3, "--no-display",
                 cwd=str(tmp_path), timeout=60)
    assert_error(result, "cannot open stream .*\\(gave up after 4 attempts to connect\\)")
    waits = [line for line in result.stderr.splitlines() if "is down; retrying in" in line]
    assert [w.split("retrying in ")[1].split(" s")[0] for w in waits] == ["0.5", "1.0", "2.0"]
    assert time.monotonic() - started >= 3.5


@pytest.mark.parametrize("attempts", [-1, 50])
def test_ctrl_c_during_the_backoff_exits_130_at_once(tmp_path, attempts):
    process = start("run", "http://127.0.0.1:{}/x".format(closed_port()), "--reconnect", attempts, "--no-display",
                    cwd=str(tmp_path))
    try:
        lines = wait_for_line(process, "retrying in 4.0 s")  # the fourth wait
        assert lines and "retrying in 4.0 s" in lines[-1], lines
        sent = time.monotonic()
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)
        assert process.returncode == 130 and time.monotonic() - sent < 2.5  # not the 4 s of the wait
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_ctrl_c_during_a_stalled_open_exits_130_at_once(tmp_path):
    with server("stall") as (url, connections):
        process = start("run", url, "--stream-timeout", 30, "--no-display", cwd=str(tmp_path))
        try:
            deadline = time.monotonic() + 30
            while not connections and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)
            sent = time.monotonic()
            process.send_signal(signal.SIGINT)
            process.communicate(timeout=10)
            assert process.returncode == 130 and time.monotonic() - sent < 3.0  # not the 30 s the open may take
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()


def test_a_stalled_server_times_out(tmp_path):
    with server("stall") as (url, connections):
        started = time.monotonic()
        result = cli("run", url, "--stream-timeout", 1, "--reconnect", 1, "--no-display", cwd=str(tmp_path),
                     timeout=60)
    assert_error(result, "cannot open stream .*live.avi: no answer.*gave up after 2 attempts")
    assert connections and time.monotonic() - started < 20


@pytest.mark.parametrize("mode", ["cut", "stall-mid"])
def test_a_stream_that_breaks_mid_way(tmp_path, avi_bytes, mode):
    """Frames arrive, then the stream is cut (or goes silent): reconnects with back-off, then the run ends and
    what arrived is written whole."""
    with server(mode, avi_bytes, 0.5, answers=6) as (url, connections):
        result = cli("run", url, "--reconnect", 2, "--stream-timeout", 2, "-o", "out.mp4", "--jsonl", "out.jsonl",
                     "--no-display", "--policy", "all", cwd=str(tmp_path), timeout=90)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "dropped; reconnecting in 0.5 s (attempt 1 of 2)" in result.stderr
    assert len(connections) >= 2 and "no frames after 2 reconnect attempts; stopping" in result.stderr
    frames = len(open(tmp_path / "out.jsonl").readlines())
    assert frames > 5 and "wrote out.mp4" in result.stdout
    assert_nothing_half_written(tmp_path)
