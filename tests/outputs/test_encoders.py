"""Video encoders (edge_saliency.outputs.encoders): every backend present here writes a file that reads back with the
frames written; auto falls back; FFmpeg failures are one line; the command lines are what the docs say."""
import os
import shutil

import cv2
import numpy as np
import pytest

from edge_saliency.capture.gstreamer import ElementProbe
from edge_saliency.errors import UserError
from edge_saliency.outputs import encoder, encoders, ffmpeg_encoder
from edge_saliency.outputs.encoder import EncoderError, EncoderOptions
from edge_saliency.outputs.encoders import open_encoder

HAVE_FFMPEG = ffmpeg_encoder.ffmpeg_binary() is not None
needs_ffmpeg = pytest.mark.skipif(not HAVE_FFMPEG, reason="no FFmpeg binary (pip install imageio-ffmpeg)")
NO_GST = ElementProbe(lookup=lambda name: False, opencv_gstreamer=False)


def frames(count=6, size=(48, 64)):
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.integers(0, 255, size + (3,)).astype(np.uint8), (9, 9), 3)
    return [np.roll(base, 3 * i, axis=1) for i in range(count)]


def read_all(path):
    capture = cv2.VideoCapture(str(path))
    out = []
    while True:
        ok, frame = capture.read()
        if not ok:
            return out
        out.append(frame)


@pytest.mark.parametrize("backend, name, options", [
    ("opencv", "a.mp4", EncoderOptions()),
    ("opencv", "a.avi", EncoderOptions()),
    pytest.param("ffmpeg", "a.mp4", EncoderOptions(), marks=needs_ffmpeg),
    pytest.param("ffmpeg", "a.mkv", EncoderOptions(codec="h265"), marks=needs_ffmpeg),
    pytest.param("ffmpeg", "a.avi", EncoderOptions(), marks=needs_ffmpeg),
    pytest.param("ffmpeg", "a.mp4", EncoderOptions(codec="mpeg4", threads=1), marks=needs_ffmpeg),
])
def test_each_backend_writes_a_video_that_reads_back(tmp_path, backend, name, options):
    written = frames()
    path = tmp_path / name
    with open_encoder(str(path), (48, 64), 12.0, backend, options, probe=NO_GST) as encoder:
        for frame in written:
            encoder.write(frame)
    assert encoder.backend == backend and encoder.frames == len(written)
    back = read_all(path)
    assert len(back) == len(written) and back[0].shape == written[0].shape
    # lossy codecs: the pictures must still be the ones written (mean error a few grey levels, not noise)
    errors = [np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(back, written)]
    assert max(errors) < 12, errors


@needs_ffmpeg
def test_odd_frame_sides_are_kept_by_the_ffmpeg_encoder(tmp_path):
    path = tmp_path / "odd.mp4"
    with open_encoder(str(path), (47, 63), 10.0, "ffmpeg") as encoder:
        for frame in frames(3, (47, 63)):
            encoder.write(frame)
    back = read_all(path)
    assert len(back) == 3 and back[0].shape == (47, 63, 3)


def test_auto_falls_back_to_opencv_when_the_others_cannot_open(tmp_path, monkeypatch):
    monkeypatch.setenv(ffmpeg_encoder.FFMPEG_ENV, str(tmp_path / "no-such-ffmpeg"))
    encoder = open_encoder(str(tmp_path / "a.mp4"), (48, 64), 10.0, "auto", probe=NO_GST)
    encoder.write(frames(1)[0])
    encoder.close()
    assert encoder.backend == "opencv" and "mp4v" in encoder.description


def test_auto_with_a_fourcc_tries_opencv_first(tmp_path):
    encoder = open_encoder(str(tmp_path / "a.avi"), (48, 64), 10.0, "auto", EncoderOptions(fourcc="MJPG"),
                           probe=NO_GST)
    encoder.abort()
    assert encoders.plan("a.avi", "auto", EncoderOptions(fourcc="MJPG"))[0] == "opencv"
    assert encoder.backend == "opencv"


def test_no_encoder_at_all_names_every_reason(tmp_path, monkeypatch):
    monkeypatch.setenv(ffmpeg_encoder.FFMPEG_ENV, str(tmp_path / "no-such-ffmpeg"))
    with pytest.raises(EncoderError) as info:
        open_encoder(str(tmp_path / "a.mp4"), (48, 64), 10.0, "auto", EncoderOptions(fourcc="ZZZZ"), probe=NO_GST)
    message = str(info.value)
    assert "opencv:" in message and "ffmpeg:" in message and "gstreamer:" in message and "\n" not in message


@pytest.mark.parametrize("bad", [dict(codec="vp9"), dict(fourcc="mp4"), dict(threads=0), dict(bitrate_kbps=-1)])
def test_bad_options_are_one_line_user_errors(bad):
    with pytest.raises(UserError):
        EncoderOptions(**bad).validate()
    with pytest.raises(UserError, match="--encoder must be one of"):
        encoders.plan("a.mp4", "nvenc")


@needs_ffmpeg
def test_ffmpeg_failure_is_reported_with_its_own_message(tmp_path):
    # nobody listens on the loopback port: FFmpeg fails at once; its own error (not a Python traceback) is reported
    with pytest.raises(EncoderError, match="FFmpeg failed .*tcp://127.0.0.1:9") as info:
        encoder = ffmpeg_encoder.FFmpegEncoder("tcp://127.0.0.1:9", (48, 64), 10.0, "h264", EncoderOptions())
        for frame in frames(50):
            encoder.write(frame)
        encoder.close()
    assert "\n" not in str(info.value)


def test_ffmpeg_command_lines():
    options = EncoderOptions(threads=2)
    command = ffmpeg_encoder.ffmpeg_command("ffmpeg", "/x/out.mp4", (1080, 1920), 25.0, "h264", "libx264", options)
    text = " ".join(command)
    assert "-f rawvideo -pix_fmt bgr24 -s 1920x1080 -r 25 -i pipe:0" in text
    assert "-c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 25 -crf 23 -threads 2 -f mp4 /x/out.mp4" in text
    net = ffmpeg_encoder.ffmpeg_command("ffmpeg", "rtp://127.0.0.1:5004", (480, 640), 30.0, "h264", "libx264",
                                  EncoderOptions(bitrate_kbps=2000))
    assert net[-3:] == ["-f", "rtp", "rtp://127.0.0.1:5004"] and "-tune" in net and "2000k" in net
    odd = ffmpeg_encoder.ffmpeg_command("ffmpeg", "o.mkv", (47, 63), 10.0, "h264", "libx264", EncoderOptions())
    assert odd[odd.index("-pix_fmt", odd.index("libx264")) + 1] == "yuv444p" and odd[-3:-1] == ["-f", "matroska"]


def test_codec_and_fourcc_resolution():
    assert encoder.resolve_codec("a.mp4", EncoderOptions()) == "h264"
    assert encoder.resolve_codec("a.avi", EncoderOptions()) == "mjpeg"
    assert encoder.resolve_codec("a.mp4", EncoderOptions(fourcc="XVID")) == "mpeg4"
    assert encoder.opencv_fourcc("a.mkv", EncoderOptions()) == "mp4v"
    assert encoder.opencv_fourcc("a.mp4", EncoderOptions(codec="h264")) == "avc1"
    with pytest.raises(UserError, match="unsupported container"):
        encoder.opencv_fourcc("a.webm", EncoderOptions())


def test_probe_reports_each_backend():
    result = encoders.probe(NO_GST)
    assert set(result) == {"opencv", "ffmpeg", "gstreamer"}
    assert result["opencv"]["available"] is True
    assert result["ffmpeg"]["available"] == (HAVE_FFMPEG and any(result["ffmpeg"]["encoders"].values()))
    assert result["gstreamer"]["available"] is False and "no GStreamer" in result["gstreamer"]["detail"]


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="no ffmpeg on PATH")
def test_ffmpeg_encoders_are_parsed_from_the_binary():
    names = ffmpeg_encoder.ffmpeg_encoders(shutil.which("ffmpeg"))
    assert "mpeg4" in names and "mjpeg" in names and all(" " not in n for n in names)
    assert os.path.basename(shutil.which("ffmpeg")) == "ffmpeg"
