"""Sinks: atomic, playable video files; maps; JSON lines; clear errors for outputs that cannot be written;
outputs chosen by URI through the registry."""
import json
import os
import re
import types

import cv2
import numpy as np
import pytest

from edge_saliency.errors import UserError
from edge_saliency.files.atomic import check_writable
from edge_saliency.outputs import registry
from edge_saliency.outputs.jsonl import JsonLinesSink
from edge_saliency.outputs.maps import MapsSink
from edge_saliency.outputs.registry import parse_sink_uri, register_sink
from edge_saliency.outputs.sink import OutputOptions, StreamInfo, stream_path
from edge_saliency.outputs.sinks import create_sink
from edge_saliency.outputs.video import VideoSink
from edge_saliency.outputs.window import WindowSink, display_available


def packet(index, size=(48, 64), stream=0, name=None):
    frame = np.full(size + (3,), index * 10 % 255, np.uint8)
    map_u8 = np.tile(np.linspace(0, 255, size[1]).astype(np.uint8), (size[0], 1))
    return types.SimpleNamespace(
        stream=stream, index=index, timestamp=index / 10.0, name=name, frame=frame, wall_time=1.7e9 + index,
        views={"overlay": frame, "map": cv2.cvtColor(map_u8, cv2.COLOR_GRAY2BGR),
               "side-by-side": np.concatenate([frame, frame], axis=1)},
        map_u8=map_u8, map_float=map_u8.astype(np.float32) / 255.0, batch=1, hud=["12.0 FPS"],
        stats={"peak": {"x": 63.0, "y": 0.0, "value": 1.0}, "bbox": [32, 0, 64, 48], "mean": 0.5},
        timings={"capture": 0.001, "infer": 0.01, "total": 0.02})


def streams(n=1, size=(48, 64), fps=12.0):
    return [StreamInfo(i, "clip{}.mp4".format(i), size, fps) for i in range(n)]


def hidden_files(folder):
    return [n for n in os.listdir(folder) if n.startswith(".")]


@pytest.mark.parametrize("name, view, size", [("out.mp4", "overlay", (48, 64)), ("out.avi", "map", (48, 64)),
                                              ("out.mkv", "side-by-side", (48, 128))])
def test_video_is_written_to_a_temp_file_then_renamed(tmp_path, name, view, size):
    path = tmp_path / name
    sink = VideoSink(str(path), view=view)
    sink.open(streams())
    for i in range(7):
        sink.write(packet(i))
        assert not path.exists()  # only the hidden temp file exists while writing
    assert len(hidden_files(tmp_path)) == 1
    sink.close()
    assert path.exists() and hidden_files(tmp_path) == []
    capture = cv2.VideoCapture(str(path))
    assert capture.get(cv2.CAP_PROP_FRAME_COUNT) == 7 and capture.get(cv2.CAP_PROP_FPS) == 12.0
    ok, frame = capture.read()
    assert ok and frame.shape[:2] == size


def test_a_failed_run_leaves_no_video(tmp_path):
    sink = VideoSink(str(tmp_path / "out.mp4"))
    sink.open(streams())
    sink.write(packet(0))
    sink.close(ok=False)
    assert os.listdir(tmp_path) == []


def test_frames_of_another_size_are_fitted_and_hud_is_burnt_in(tmp_path):
    sink = VideoSink(str(tmp_path / "out.mp4"), hud=True)
    sink.open(streams())
    sink.write(packet(0, size=(30, 40)))
    original = packet(1)
    sink.write(original)
    sink.close()
    assert (original.views["overlay"] == 10).all()  # the HUD is drawn on a copy
    capture = cv2.VideoCapture(str(tmp_path / "out.mp4"))
    assert capture.get(cv2.CAP_PROP_FRAME_COUNT) == 2
    frames = [capture.read()[1] for _ in range(2)]
    assert frames[0].shape == (48, 64, 3)
    assert frames[1][:20].max() > 150 and np.median(frames[1]) < 30  # white text on the dark frame


def test_several_streams_get_one_file_each(tmp_path):
    sink = VideoSink(str(tmp_path / "out.mp4"))
    sink.open(streams(2))
    sink.write(packet(0, stream=0))
    sink.write(packet(0, stream=1))
    sink.write(packet(1, stream=1))
    sink.close()
    assert sorted(os.listdir(tmp_path)) == ["out-0.mp4", "out-1.mp4"]
    assert stream_path("cam{stream}.mp4", 3, 4) == "cam3.mp4" and stream_path("a.mp4", 0, 1) == "a.mp4"


@pytest.mark.parametrize("name, fourcc, message", [
    ("out.xyz", None, "unsupported container '.xyz'"),
    ("out", None, "unsupported container '\\(no extension\\)'"),
    ("out.mp4", "mp4", "four characters"),
])
def test_unsupported_outputs_are_refused_before_any_work(tmp_path, name, fourcc, message):
    with pytest.raises(UserError, match=message):
        VideoSink(str(tmp_path / name), fourcc=fourcc)


def test_a_codec_the_encoder_lacks_is_one_clear_error(tmp_path):
    sink = VideoSink(str(tmp_path / "out.mp4"), fourcc="QQQQ")
    with pytest.raises(UserError, match="no encoder for it"):
        sink.open(streams())
    assert os.listdir(tmp_path) == []


def test_unwritable_outputs(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UserError, match="cannot write output .*file/out.mp4"):
        check_writable(str(blocker / "out.mp4"))
    with pytest.raises(UserError, match="is a folder"):
        check_writable(str(tmp_path))
    with pytest.raises(UserError, match="maps folder .* is a file"):
        MapsSink(str(blocker)).open(streams())


def test_maps_are_written_per_frame(tmp_path):
    sink = MapsSink(str(tmp_path / "maps"), "both")
    sink.open(streams())
    sink.write(packet(3))
    sink.write(packet(4, name="photo_b"))
    sink.close()
    assert sorted(os.listdir(tmp_path / "maps")) == ["frame_000003.npy", "frame_000003.png", "photo_b.npy",
                                                     "photo_b.png"]
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "maps" / "photo_b.png"), cv2.IMREAD_GRAYSCALE),
                                  packet(4).map_u8)
    np.testing.assert_array_equal(np.load(str(tmp_path / "maps" / "frame_000003.npy")), packet(3).map_float)


def test_json_lines_one_record_per_frame(tmp_path):
    path = tmp_path / "frames.jsonl"
    sink = JsonLinesSink(str(path), threshold=0.4)
    sink.open(streams())
    for i in range(3):
        sink.write(packet(i))
    assert not path.exists()
    sink.close()
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["frame"] for r in records] == [0, 1, 2]
    assert records[1] == {"stream": 0, "frame": 1, "timestamp": 0.1, "wall_time": 1.7e9 + 1, "size": [64, 48],
                          "peak": {"x": 63.0, "y": 0.0, "value": 1.0}, "bbox": [32, 0, 64, 48], "mean": 0.5,
                          "threshold": 0.4, "batch": 1,
                          "latency_ms": {"capture": 1.0, "infer": 10.0, "total": 20.0}}


def test_window_needs_a_display(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    ok, why = display_available()
    assert not ok and "DISPLAY" in why
    with pytest.raises(UserError, match="cannot open a window: no display.*--no-display"):
        WindowSink().open(streams())


def test_window_on_a_headless_opencv(monkeypatch):
    monkeypatch.setenv("DISPLAY", ":0")
    if "GUI:                           NONE" not in cv2.getBuildInformation():
        pytest.skip("this OpenCV has a GUI")
    with pytest.raises(UserError, match="headless build"):
        WindowSink().open(streams())


@pytest.mark.parametrize("uri, kind, target", [
    ("out.mp4", "video", "out.mp4"),
    ("file:///tmp/out.mkv", "video", "/tmp/out.mkv"),
    ("display://", "display", ""),
    ("display://0", "display", "0"),
    ("http://127.0.0.1:8080", "http", ("127.0.0.1", 8080)),
    ("HTTP://0.0.0.0:0/", "http", ("0.0.0.0", 0)),
    ("http://[::1]:9000", "http", ("::1", 9000)),
    ("rtp://127.0.0.1:5004", "rtp", ("127.0.0.1", 5004)),
    ("rtsp://127.0.0.1:8554/live", "rtsp", "rtsp://127.0.0.1:8554/live"),
])
def test_outputs_are_chosen_by_uri(uri, kind, target):
    spec = parse_sink_uri(uri)
    assert (spec.kind, spec.target) == (kind, target)
    assert spec.network == (kind in ("http", "rtp", "rtsp"))


@pytest.mark.parametrize("uri, message", [
    ("", "empty --output"),
    ("webrtc://0.0.0.0:8554", "unknown output scheme webrtc://"),
    ("https://0.0.0.0:8443", "TLS proxy"),
    ("http://127.0.0.1", "needs a host and a port"),
    ("http://127.0.0.1:99999", "needs a host and a port"),
    ("http://user:pw@127.0.0.1:8080", "carries credentials"),
    ("http://127.0.0.1:8080/live", "has a path"),
    ("rtp://:5004", "needs a host and a port"),
])
def test_bad_output_uris_are_one_clear_line(uri, message):
    with pytest.raises(UserError, match=re.escape(message)) as error:
        parse_sink_uri(uri)
    assert "pw" not in str(error.value)


def test_the_registry_builds_each_kind_and_warns_on_a_second_registration(tmp_path, caplog):
    from edge_saliency.outputs.http_sink import HttpSink

    assert isinstance(create_sink(str(tmp_path / "o.mp4")), VideoSink)
    assert isinstance(create_sink("display://"), WindowSink)
    http = create_sink("http://127.0.0.1:0", OutputOptions(jpeg_quality=70))
    assert isinstance(http, HttpSink) and http.options.jpeg_quality == 70
    factory = registry.SINK_FACTORIES["display"]
    try:
        register_sink("display")(lambda spec, options: "replaced")
        assert "registered again" in caplog.text
        assert create_sink("display://") == "replaced"
    finally:
        registry.SINK_FACTORIES["display"] = factory


@pytest.mark.parametrize("field, value, message", [
    ("jpeg_quality", 0, "--output-quality"), ("max_fps", 0.0, "--output-max-fps"),
    ("max_clients", 0, "--output-max-clients"), ("token", "two words", "--output-token"),
    ("view", "nope", "--view"),
])
def test_output_options_are_checked(field, value, message):
    with pytest.raises(UserError, match=re.escape(message)):
        create_sink("http://127.0.0.1:0", OutputOptions(**{field: value}))
