"""`edge-saliency run` and `sample-clip`: the quick start, every bad input as one line with exit code 1,
and Ctrl-C leaving a playable video."""
import json
import os
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from edge_saliency.cli import main
from tests.capture.test_sources import unsupported_codec_avi
from tests.stream_fixtures import tiny_conv_onnx

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def cli(*args, **kwargs):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "edge_saliency"] + [str(a) for a in args], capture_output=True,
                          text=True, env=env, timeout=300, **kwargs)


def frame_count(path):
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    return count, capture.get(cv2.CAP_PROP_FPS)


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "clip.mp4"
    result = cli("sample-clip", path, "--frames", 24, "--size", "96x128", "--fps", 12)
    assert result.returncode == 0, result.stderr
    assert "wrote {}: 24 frames, 128x96 at 12 fps".format(path) in result.stdout
    return str(path)


def test_quick_start_without_a_model_runs_the_classic_backend(tmp_path, short_clip):
    out, jsonl, summary = tmp_path / "out.mp4", tmp_path / "out.jsonl", tmp_path / "summary.json"
    result = cli("run", short_clip, "-o", out, "--jsonl", jsonl, "--summary-json", summary, cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "classic spectral-residual" in result.stderr
    assert "24 frames in" in result.stdout and "FPS end to end" in result.stdout and "wrote" in result.stdout
    assert frame_count(out) == (24, 12.0)
    assert len(open(jsonl).read().splitlines()) == 24
    data = json.load(open(summary))
    assert data["frames"] == 24 and data["dropped"] == 0 and set(data["stages"]) >= {"capture", "infer", "output"}


def test_run_an_onnx_model_with_options(tmp_path, short_clip, capsys):
    model = tiny_conv_onnx(tmp_path / "tiny.onnx", size=(64, 96))
    code = main(["run", short_clip, "--model", model, "--output", str(tmp_path / "o.avi"), "--view", "side-by-side",
                 "--letterbox", "--smooth", "0.5", "--colormap", "turbo", "--maps", str(tmp_path / "maps"),
                 "--maps-format", "both", "--max-frames", "10", "--batch", "2", "--hud", "on", "-q"])
    assert code == 0
    assert frame_count(tmp_path / "o.avi") == (10, 12.0)
    assert len(os.listdir(tmp_path / "maps")) == 20
    assert "10 frames in" in capsys.readouterr().out


@pytest.fixture
def bad_inputs(tmp_path, short_clip):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(os.urandom(3000))
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    grey = tiny_conv_onnx(tmp_path / "grey.onnx", channels=1)
    fixed = tiny_conv_onnx(tmp_path / "fixed.onnx", size=(64, 96))
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not onnx")
    (tmp_path / "some_folder").mkdir()
    return {
        "missing source": ([str(tmp_path / "nope.mp4")], "source not found: .*nope.mp4"),
        "unreadable source": ([str(garbage)], "cannot open video .*garbage.mp4: not a video"),
        "unsupported codec": ([unsupported_codec_avi(tmp_path / "odd.avi")], "no decoder for its codec 'QQQQ'"),
        "no camera": (["57"], "no camera at 57 \\(/dev/video57\\)"),
        "csi without gstreamer": (["csi://0"], "csi://0 needs OpenCV built with GStreamer"),
        "unwritable output": ([short_clip, "-o", str(blocker / "out.mp4")], "cannot write output video"),
        "unsupported output": ([short_clip, "-o", str(tmp_path / "out.gifv")], "unsupported container '.gifv'"),
        "unsupported output codec": ([short_clip, "-o", str(tmp_path / "o.mp4"), "--fourcc", "QQQQ"],
                                     "no encoder for it"),
        "wrong model input shape": ([short_clip, "--model", grey], "3-channel"),
        "model size mismatch": ([short_clip, "--model", fixed, "--size", "128x128"], "fixed input size 64x96"),
        "missing model": ([short_clip, "--model", str(tmp_path / "none.onnx")], "model file not found"),
        "broken model": ([short_clip, "--model", str(broken)], "ONNX Runtime cannot load .*broken.onnx"),
        "classic with a model": ([short_clip, "--backend", "classic", "--model", fixed], "takes no model"),
        "bad option value": ([short_clip, "--smooth", "0"], "--smooth must be in"),
        "window without a display": ([short_clip, "--display"], "cannot open a window"),
        "negative fps": ([short_clip, "-o", str(tmp_path / "o.mp4"), "--fps", "-5"],
                         "--fps must be a positive number of frames per second \\(e.g. 25\\), got -5.0"),
        "zero fps": ([short_clip, "--fps", "0"], "--fps must be a positive number"),
        "zero threads": ([short_clip, "--model", fixed, "--threads", "0"], "--threads must be at least 1"),
        "zero stream timeout": ([short_clip, "--stream-timeout", "0"], "--stream-timeout must be a positive number"),
        "model is a folder": ([short_clip, "--model", str(tmp_path / "some_folder") + "/"],
                              "--model .*some_folder/ is a folder; give the model file in it"),
        "unknown preset": ([short_clip, "--model", "emlnet-huge"],
                           "--model emlnet-huge: no such file, and not a preset; presets: emlnet-densenet161"),
        "output is the source": ([short_clip, "-o", short_clip], "output video .*clip.mp4 is the input"),
    }


CASES = ["missing source", "unreadable source", "unsupported codec", "no camera", "csi without gstreamer",
         "unwritable output", "unsupported output", "unsupported output codec", "wrong model input shape",
         "model size mismatch", "missing model", "broken model", "classic with a model", "bad option value",
         "window without a display", "negative fps", "zero fps", "zero threads", "zero stream timeout",
         "model is a folder", "unknown preset", "output is the source"]


@pytest.mark.parametrize("case", CASES)
def test_bad_inputs_are_one_line_and_exit_1(case, bad_inputs, tmp_path, capsys, monkeypatch):
    if case == "csi without gstreamer":
        from edge_saliency.capture.gstreamer import gstreamer_available

        if gstreamer_available():
            pytest.skip("this OpenCV has GStreamer")
    if case == "no camera" and os.path.exists("/dev/video57"):
        pytest.skip("this machine has /dev/video57")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    args, message = bad_inputs[case]
    assert main(["run"] + args + ([] if "--display" in args else ["--no-display"])) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("edge-saliency: error: "), err
    import re

    assert re.search(message, lines[0]), lines[0]
    assert [n for n in os.listdir(tmp_path) if n.startswith(".")] == []  # no temp files left behind


@pytest.mark.parametrize("source", ["57", "garbage"])
def test_opencv_prints_nothing_of_its_own(tmp_path, source):
    if source == "garbage":
        path = tmp_path / "garbage.mp4"
        path.write_bytes(os.urandom(3000))
        source = str(path)
    result = cli("run", source, "--no-display")
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_credentials_never_reach_the_terminal():
    result = cli("run", "rtsp://admin:hunter2@127.0.0.1:9/live", "--no-display", "-v")
    assert result.returncode == 1 and "rtsp://***@127.0.0.1:9/live" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout


def test_ctrl_c_leaves_a_playable_video(tmp_path, short_clip):
    model = tiny_conv_onnx(tmp_path / "tiny.onnx", size=(64, 96))
    out, jsonl = tmp_path / "out.mp4", tmp_path / "out.jsonl"
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    process = subprocess.Popen(
        [sys.executable, "-m", "edge_saliency", "run", short_clip, "--loop", "--model", model, "-o", str(out),
         "--jsonl", str(jsonl), "--no-display"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:  # the log line before frames start flowing
            line = process.stderr.readline()
            if " -> " in line or not line:
                break
        time.sleep(1.5)
        assert process.poll() is None, process.stderr.read()
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "stopping" in stderr and "stopped early" in stdout
    frames, fps = frame_count(out)
    assert frames > 0 and fps == 12.0
    assert frames == len(open(jsonl).read().splitlines())
    assert [n for n in os.listdir(tmp_path) if n.startswith(".")] == []
    capture = cv2.VideoCapture(str(out))
    ok, image = capture.read()
    assert ok and image.shape == (96, 128, 3) and np.asarray(image).std() > 5


def test_wrote_is_printed_only_for_files_this_run_completed(tmp_path, short_clip):
    (tmp_path / "out.mp4").write_bytes(b"an old file")
    result = cli("run", short_clip, short_clip, "-o", "out.mp4", "--no-display", cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert [line for line in result.stdout.splitlines() if line.startswith("wrote")] == ["wrote out-0.mp4",
                                                                                          "wrote out-1.mp4"]
    assert (tmp_path / "out.mp4").read_bytes() == b"an old file"


def test_decoder_gstreamer_without_gstreamer_is_one_line_and_masks_credentials(short_clip):
    from edge_saliency.capture.gstreamer import gstreamer_available

    if gstreamer_available():
        pytest.skip("this OpenCV has GStreamer")
    for source in (short_clip, "rtsp://admin:hunter2@127.0.0.1:9/live"):
        result = cli("run", source, "--decoder", "gstreamer", "--no-display")
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.returncode == 1 and len(lines) == 1, result.stderr
        assert lines[0].startswith("edge-saliency: error: --decoder gstreamer cannot read "), lines
        assert "has no GStreamer (pip wheels never do; on Jetson use the system OpenCV" in lines[0]
        assert "hunter2" not in result.stderr + result.stdout


def test_decoder_options_run(tmp_path, short_clip, capsys):
    jsonl = tmp_path / "maps.jsonl"
    assert main(["run", short_clip, "--decoder", "opencv", "--decoder-threads", "1", "--decoder-hw", "--jsonl",
                 str(jsonl), "--no-display", "-q"]) == 0
    assert len(jsonl.read_text().splitlines()) == 24


def test_the_reconnect_help_says_what_open_source_does(capsys):
    # open_source retries a source that is down at the start only with an explicit reconnect
    # (tests/capture/test_sources.py); the help said every stream was retried 10 times
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "given explicitly, a source that is down at the start is retried as often too" in text
    assert "by default it fails at once" in text


@pytest.mark.parametrize("delay", [0.3, 0.7, 1.2, 2.0])
def test_ctrl_c_at_any_point_of_start_up_never_replaces_a_file_with_nothing(tmp_path, short_clip, delay):
    model = tiny_conv_onnx(tmp_path / "tiny.onnx", size=(64, 96))
    out, jsonl, maps = tmp_path / "out.mp4", tmp_path / "out.jsonl", tmp_path / "maps"
    out.write_bytes(b"the previous video")
    jsonl.write_text('{"frame": 0}\n')
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    process = subprocess.Popen(
        [sys.executable, "-m", "edge_saliency", "run", short_clip, "--loop", "--max-frames", "400", "--model", model,
         "-o", str(out), "--jsonl", str(jsonl), "--maps", str(maps), "--no-display"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    records = jsonl.read_text().splitlines()
    if out.read_bytes() == b"the previous video":  # stopped before a frame was done: nothing replaced
        assert records == ['{"frame": 0}'], stderr
        assert not maps.exists(), stderr  # nor an empty maps folder
    else:  # frames were done: whole new files, the same frames in each
        frames, _ = frame_count(out)
        assert frames == len(records) == len(os.listdir(maps)) > 0, stderr
    assert [n for n in os.listdir(tmp_path) if n.startswith(".")] == []


def test_jsonl_dash_is_standard_output_and_the_summary_goes_to_stderr(tmp_path, short_clip):
    result = cli("run", short_clip, "--jsonl", "-", "--no-display", cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]  # nothing else on stdout: jq can read it
    assert len(records) == 24 and [r["frame"] for r in records] == list(range(24))
    assert "24 frames in" in result.stderr
    assert not (tmp_path / "-").exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_jsonl_into_a_named_pipe_reaches_its_reader_and_the_pipe_stays(tmp_path, short_clip):
    import stat
    import threading

    fifo = tmp_path / "records"
    os.mkfifo(str(fifo))
    received = []
    reader = threading.Thread(target=lambda: received.append(open(str(fifo), "rb").read()), daemon=True)
    reader.start()
    result = cli("run", short_clip, "--jsonl", str(fifo), "--no-display", cwd=str(tmp_path))
    reader.join(timeout=60)
    assert result.returncode == 0, result.stderr
    assert len(received) == 1 and len(received[0].decode().splitlines()) == 24
    assert stat.S_ISFIFO(os.stat(str(fifo)).st_mode)
    assert sorted(os.listdir(tmp_path)) == ["records"]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="mknod of a device needs root")
def test_outputs_to_a_device_are_written_in_place_and_a_video_is_refused(tmp_path, short_clip):
    import stat

    null = tmp_path / "null"
    os.mknod(str(null), 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # our own null device, never the real /dev/null
    result = cli("run", short_clip, "--jsonl", str(null), "--summary-json", str(null), "--no-display",
                 cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert stat.S_ISCHR(os.stat(str(null)).st_mode) and os.listdir(tmp_path) == ["null"]
    refused = cli("run", short_clip, "-o", str(null), "--no-display", cwd=str(tmp_path))
    assert refused.returncode == 1
    assert refused.stderr.strip() == ("edge-saliency: error: cannot write a video file to {}: it is a character "
                                      "device, and a video container needs a seekable file; give a file name, or "
                                      "stream it (-o rtp://HOST:PORT, -o rtsp://...)".format(null))
    assert stat.S_ISCHR(os.stat(str(null)).st_mode) and os.listdir(tmp_path) == ["null"]
