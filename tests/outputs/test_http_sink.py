"""The http output on loopback: MJPEG decoded by OpenCV, events and status.json against --jsonl, /metrics
through prometheus_client's parser, the token, stalled and many clients, several sources, the page in a real
headless Chromium, and the CLI. Every loop is bounded; only 127.0.0.1 is used."""
import contextlib
import http.client
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from edge_saliency.capture.sources import open_source
from edge_saliency.outputs import http_server
from edge_saliency.outputs import http_sink as http_module
from edge_saliency.outputs.http_server import mjpeg_frames
from edge_saliency.outputs.http_sink import HttpSink
from edge_saliency.outputs.jsonl import JsonLinesSink
from edge_saliency.outputs.sink import OutputOptions, StreamInfo
from edge_saliency.pipeline.options import PipelineOptions
from edge_saliency.pipeline.pipeline import Pipeline
from edge_saliency.runners import create_runner

from .chromium import Chromium, find_chromium

cv2 = pytest.importorskip("cv2")
CLIP_SIZE = (96, 128)  # the conftest clip, (H, W)


@contextlib.contextmanager
def serving(clip, tmp_path, options=None, sources=1):
    """A classic-backend pipeline over ``sources`` looping copies of ``clip`` into an http output on a free
    loopback port and a JSON-lines file; stopped (and joined) on exit."""
    opened = [open_source(clip, loop=True) for _ in range(sources)]
    runner = create_runner(None, "classic")
    runner.activate()
    http = HttpSink("127.0.0.1", 0, options or OutputOptions(max_fps=60.0))
    jsonl = JsonLinesSink(str(tmp_path / "frames.jsonl"))
    pipeline = Pipeline(opened, runner, [http, jsonl], PipelineOptions(max_frames=100000))
    outcome = {}

    def run():
        try:
            outcome["summary"] = pipeline.run()
        except BaseException as exc:  # reported by the test below
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not (http.port and http._running) and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.05)
    try:
        assert http.port, outcome.get("error")
        yield http, pipeline, outcome
    finally:
        pipeline.stop()
        thread.join(timeout=30)
        runner.deactivate()
        for source in opened:
            source.close()
    assert not thread.is_alive()
    assert "error" not in outcome, outcome.get("error")


def get(sink, path, headers=None, timeout=10.0):
    connection = http.client.HTTPConnection("127.0.0.1", sink.port, timeout=timeout)
    connection.request("GET", path, headers=headers or {})
    return connection, connection.getresponse()


def json_lines(path):
    with open(path) as f:
        return {(r["stream"], r["frame"]): r for r in map(json.loads, f)}


def read_events(response, count, deadline):
    records, statuses, event = [], [], None
    while len(records) < count and time.monotonic() < deadline:
        line = response.readline().decode("utf-8").rstrip("\n")
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            (statuses if event == "status" else records).append(json.loads(line[6:]))
        elif not line:
            event = None
    return records, statuses


def test_mjpeg_streams_decode_with_opencv_and_change_over_time(clip, tmp_path):
    with serving(clip, tmp_path) as (sink, pipeline, _):
        for path, channels_equal in (("/stream.mjpg", False), ("/map.mjpg", True)):
            connection, response = get(sink, path)
            assert response.status == 200
            assert response.getheader("Content-Type").startswith("multipart/x-mixed-replace; boundary=")
            images = []
            for jpeg in mjpeg_frames(response):
                images.append(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR))
                if len(images) == 6:
                    break
            connection.close()
            assert len(images) == 6
            assert all(image is not None and image.shape == CLIP_SIZE + (3,) for image in images)
            differences = [float(np.abs(a.astype(int) - b.astype(int)).mean()) for a, b in zip(images, images[1:])]
            assert max(differences) > 1.0, differences  # the clip pans: frames differ
            grey = images[0].astype(int)
            assert (np.abs(grey[..., 0] - grey[..., 2]).max() <= 12) == channels_equal  # the map is grey
        assert sink.state.counters["encoded"] >= 12


def test_opencv_videocapture_plays_the_stream(clip, tmp_path):
    with serving(clip, tmp_path) as (sink, _, _):
        capture = cv2.VideoCapture("http://127.0.0.1:{}/stream.mjpg".format(sink.port), cv2.CAP_FFMPEG)
        try:
            if not capture.isOpened():
                pytest.skip("this OpenCV's FFmpeg does not read MJPEG over HTTP")
            frames = [capture.read() for _ in range(3)]
        finally:
            capture.release()
    assert all(ok and image.shape == CLIP_SIZE + (3,) for ok, image in frames)


def test_events_and_status_json_hold_the_jsonl_records(clip, tmp_path):
    with serving(clip, tmp_path) as (sink, pipeline, _):
        connection, response = get(sink, "/events")
        assert response.status == 200 and response.getheader("Content-Type") == "text/event-stream"
        records, statuses = read_events(response, 20, time.monotonic() + 30)
        connection.close()
        connection, response = get(sink, "/status.json")
        status = json.loads(response.read())
        connection.close()
    lines = json_lines(tmp_path / "frames.jsonl")
    assert len(records) == 20
    for record in records:
        assert record == lines[(record["stream"], record["frame"])]
    frames = [r["frame"] for r in records]
    assert frames == sorted(frames) and len(set(frames)) == 20
    last = status["last"]["0"]
    assert last == lines[(0, last["frame"])]
    assert status["model"] == "spectral-residual" and status["backend"].startswith("classic")
    assert status["streams"][0]["uri"] == clip and (status["streams"][0]["height"], status["streams"][0]["width"]) \
        == CLIP_SIZE
    assert status["frames"] >= last["frame"] and status["uptime_s"] > 0
    assert set(status["busy"]) >= {"capture", "preprocess", "infer", "postprocess"}


def test_metrics_parse_with_the_prometheus_text_parser(clip, tmp_path):
    parser = pytest.importorskip("prometheus_client.parser")
    with serving(clip, tmp_path) as (sink, pipeline, _):
        deadline = time.monotonic() + 30
        while pipeline.frames < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        connection, response = get(sink, "/metrics")
        assert response.getheader("Content-Type").startswith("text/plain; version=0.0.4")
        text = response.read().decode("utf-8")
        connection.close()
    families = {f.name: f for f in parser.text_string_to_metric_families(text)}
    assert families["edge_saliency_frames"].type == "counter"
    frames = families["edge_saliency_frames"].samples[0].value
    assert frames >= 10
    for name in ("edge_saliency_dropped_frames", "edge_saliency_captured_frames", "edge_saliency_fps",
                 "edge_saliency_uptime_seconds", "edge_saliency_http_clients", "edge_saliency_stage_busy_seconds"):
        assert name in families, name
    latency = families["edge_saliency_stage_latency_seconds"]
    assert latency.type == "histogram"
    by_stage = {}
    for sample in latency.samples:
        by_stage.setdefault(sample.labels["stage"], []).append(sample)
    assert set(by_stage) == {"capture", "preprocess", "infer", "postprocess", "total"}
    for samples in by_stage.values():
        buckets = [s for s in samples if s.name.endswith("_bucket")]
        counts = [s.value for s in buckets]
        assert counts == sorted(counts) and buckets[-1].labels["le"] == "+Inf"
        count = next(s.value for s in samples if s.name.endswith("_count"))
        assert counts[-1] == count >= 10
        total = next(s.value for s in samples if s.name.endswith("_sum"))
        assert 0 < total < count * 10.0


@pytest.fixture
def guarded(tmp_path):
    """An http output with a token, open on two streams without a pipeline behind it."""
    sink = HttpSink("127.0.0.1", 0, OutputOptions(token="s3cret-token-42"))
    sink.open([StreamInfo(0, "a.mp4", CLIP_SIZE, 10.0), StreamInfo(1, "b.mp4", CLIP_SIZE, 10.0)])
    yield sink
    sink.finish()


def test_every_endpoint_needs_the_token(guarded):
    for path in ("/", "/status.json", "/metrics", "/events", "/stream.mjpg", "/map.mjpg?stream=1"):
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Cookie": guarded.cookie_name + "=wrong"}):
            connection, response = get(guarded, path, headers)
            body = response.read()
            connection.close()
            assert response.status == 401, (path, headers)
            assert b"s3cret" not in body
    connection, response = get(guarded, "/?token=nope")
    assert response.status == 401 and b'name="token"' in response.read()  # the page asks for it
    connection.close()


def test_the_token_opens_the_page_as_query_header_or_cookie(guarded, monkeypatch, caplog):
    compared = []
    real = http_module.hmac.compare_digest
    monkeypatch.setattr(http_module.hmac, "compare_digest", lambda a, b: compared.append((a, b)) or real(a, b))
    caplog.set_level(logging.DEBUG, logger="edge_saliency")
    connection, response = get(guarded, "/?token=s3cret-token-42")
    assert response.status == 303 and response.getheader("Location") == "/"
    cookie = response.getheader("Set-Cookie")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    response.read()
    connection.close()
    assert compared and all(b == b"s3cret-token-42" for _, b in compared)  # constant-time comparison
    for headers in ({"Cookie": cookie.split(";")[0]}, {"Authorization": "Bearer s3cret-token-42"}):
        connection, response = get(guarded, "/status.json", headers)
        assert response.status == 200
        assert [s["uri"] for s in json.loads(response.read())["streams"]] == ["a.mp4", "b.mp4"]
        connection.close()
    connection, response = get(guarded, "/", {"Cookie": cookie.split(";")[0]})
    assert response.status == 200 and b"EventSource" in response.read()
    connection.close()
    assert "GET /?token=" in caplog.text  # the request was logged...
    assert "s3cret" not in caplog.text  # ...without the token


def test_a_token_is_generated_beyond_loopback_only(capsys):
    assert HttpSink("127.0.0.1", 8080).token is None and HttpSink("::1", 8080).token is None
    wide, named = HttpSink("0.0.0.0", 8080), HttpSink("board.local", 8080)
    assert wide.generated_token and len(wide.token) >= 20 and wide.token != named.token
    assert HttpSink("0.0.0.0", 8080, OutputOptions(token="mine")).token == "mine"


def test_bad_addresses_and_unknown_streams(guarded):
    with pytest.raises(Exception, match="port is in use"):
        HttpSink("127.0.0.1", guarded.port).open([StreamInfo(0, "a.mp4", CLIP_SIZE, 10.0)])
    auth = {"Authorization": "Bearer s3cret-token-42"}
    for path, code in (("/stream.mjpg?stream=2", 404), ("/stream.mjpg?stream=x", 404), ("/nothing", 404)):
        connection, response = get(guarded, path, auth)
        assert response.status == code, path
        connection.close()


def test_streams_beyond_max_clients_get_503(clip, tmp_path):
    with serving(clip, tmp_path, OutputOptions(max_fps=30.0, max_clients=2, client_timeout=30.0)) as (sink, _, __):
        open_streams = [get(sink, "/stream.mjpg") for _ in range(2)]
        assert [response.status for _, response in open_streams] == [200, 200]
        connection, response = get(sink, "/stream.mjpg")
        assert response.status == 503
        connection.close()
        for connection, _ in open_streams:
            connection.close()


def test_a_stalled_client_is_dropped_while_twenty_others_and_the_pipeline_go_on(clip, tmp_path, monkeypatch):
    monkeypatch.setattr(http_server, "SEND_BUFFER", 4096)
    options = OutputOptions(max_fps=30.0, max_clients=21, client_timeout=1.0)
    with serving(clip, tmp_path, options) as (sink, pipeline, _):
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(("127.0.0.1", sink.port))
        stalled.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: x\r\n\r\n")  # ...and never reads
        counts = [0] * 20
        ready = threading.Barrier(21, timeout=30)

        def reader(i):
            connection, response = get(sink, "/stream.mjpg")
            ready.wait()
            stop = time.monotonic() + 4.0
            for jpeg in mjpeg_frames(response):
                assert cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).shape == CLIP_SIZE + (3,)
                counts[i] += 1
                if time.monotonic() > stop:
                    break
            connection.close()

        readers = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(20)]
        for thread in readers:
            thread.start()
        ready.wait()
        connection, response = get(sink, "/stream.mjpg")  # the 22nd stream
        # refused while all 21 slots are taken; the stalled client may already be gone under load (1 s timeout),
        # and then its slot is free again (the refusal itself: test_streams_beyond_max_clients_get_503)
        assert response.status == 503 or sink.state.counters["clients_dropped"] >= 1, response.status
        connection.close()
        before = pipeline.frames
        for thread in readers:
            thread.join(timeout=30)
        deadline = time.monotonic() + 20
        while sink.state.counters["clients_dropped"] < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert sink.state.counters["clients_dropped"] == 1
        assert pipeline.frames > before + 20  # the pipeline kept going
        stalled.close()
    assert min(counts) >= 10, counts  # 4 s at up to 30 frames a second each


def test_several_sources_get_a_stream_each(clip, tmp_path):
    with serving(clip, tmp_path, sources=2) as (sink, _, _):
        connection, response = get(sink, "/status.json")
        status = json.loads(response.read())
        connection.close()
        assert [s["index"] for s in status["streams"]] == [0, 1]
        for stream in (0, 1):
            connection, response = get(sink, "/stream.mjpg?stream={}".format(stream))
            jpeg = next(mjpeg_frames(response))
            connection.close()
            assert cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).shape == CLIP_SIZE + (3,)


@pytest.mark.skipif(find_chromium() is None, reason="no chromium here (Debian: apt install chromium)")
def test_the_page_in_headless_chromium_shows_the_live_image_and_figures(clip, tmp_path):
    browser = Chromium(find_chromium())
    try:
        with serving(clip, tmp_path, OutputOptions(max_fps=15.0)) as (sink, _, _):
            browser.open("http://127.0.0.1:{}/".format(sink.port))
            card = "(document.querySelector('.card') || {dataset: {}}).dataset"
            assert browser.wait_for(card + ".image", timeout=30) == "{}x{}".format(CLIP_SIZE[1], CLIP_SIZE[0])
            first = browser.wait_for("document.querySelector('.card .frame').textContent.match(/\\d+/) && "
                                     "document.querySelector('.card .frame').textContent")
            later = browser.wait_for("(function(){var t = document.querySelector('.card .frame').textContent;"
                                     "return t !== '" + str(first) + "' && t;})()")
            assert int(later) > int(first)  # the figures update
            assert browser.wait_for("document.querySelector('#busy .bar') !== null")
            assert browser.evaluate("document.getElementById('state').textContent") == "live"
            fps = float(browser.wait_for("parseFloat(document.querySelector('.card .sfps').textContent) || 0"))
            assert fps > 0
            assert "spectral-residual" in browser.evaluate("document.getElementById('model').textContent")
            shot = str(tmp_path / "page.png")
            browser.screenshot(shot)
    finally:
        browser.close()
    image = cv2.imread(shot)
    assert image is not None and image.shape[0] >= 600 and image.std() > 10
    target = os.environ.get("EDGE_SALIENCY_PAGE_SCREENSHOT")  # to refresh docs/images/live-page.png
    if target:
        shutil.copyfile(shot, target)


def test_run_serves_and_writes_files_at_once(short_clip_for_cli, tmp_path):
    video, lines = tmp_path / "o.mp4", tmp_path / "f.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "edge_saliency", "run", short_clip_for_cli, "--loop", "--max-frames", "300",
         "--output", "http://127.0.0.1:0", "--output", str(video), "--jsonl", str(lines), "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = None
        deadline = time.monotonic() + 60
        while port is None and time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            if "live view at http://127.0.0.1:" in line:
                port = int(line.split("127.0.0.1:")[1].split("/")[0])
        assert port, "no live view line"
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/status.json")
        assert json.loads(connection.getresponse().read())["streams"][0]["uri"] == short_clip_for_cli
        connection.close()
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "served http://127.0.0.1:{}/".format(port) in out and "wrote {}".format(video) in out
    assert video.exists() and len(lines.read_text().splitlines()) == 300


@pytest.fixture(scope="module")
def short_clip_for_cli(tmp_path_factory):
    from edge_saliency.outputs.sample_clip import write_sample_clip

    return write_sample_clip(str(tmp_path_factory.mktemp("cli") / "clip.mp4"), frames=12, size=CLIP_SIZE, fps=15.0)
