"""The decoder choice (edge_saliency.capture.decoders, ``run --decoder``): the plan for each source kind with
fake element registries (a Jetson's, a desktop's, OpenCV without GStreamer), the fallback to OpenCV's FFmpeg
backend when the GStreamer capture does not open (real clip, real frames), the FFmpeg options reaching
``cv2.VideoCapture``, and credentials masked in what ``-v`` prints. No GStreamer pipeline runs here."""
import logging

import cv2
import numpy as np
import pytest

from edge_saliency.capture import decoders, gstreamer, media, sources
from edge_saliency.capture import uri as uris
from edge_saliency.capture.decoders import DecodeOptions, plan_decode
from edge_saliency.capture.gstreamer import ElementProbe
from edge_saliency.capture.sources import open_source
from edge_saliency.errors import UserError
from edge_saliency.outputs import encoder, encoders, ffmpeg_encoder

JETSON = {"nvv4l2decoder", "nvvidconv", "videoconvert", "h264parse", "h265parse", "appsink", "filesrc", "queue",
          "qtdemux", "matroskademux", "avidemux", "tsdemux", "rtspsrc", "rtph264depay", "rtph265depay"}
DESKTOP_GST = {"videoconvert", "h264parse", "appsink", "filesrc", "queue", "qtdemux", "avdec_h264"}
needs_ffmpeg = pytest.mark.skipif(ffmpeg_encoder.ffmpeg_binary() is None,
                                  reason="no FFmpeg binary (pip install imageio-ffmpeg)")


def fake(elements, opencv=True):
    asked = []

    def lookup(name):
        asked.append(name)
        return name in elements

    return ElementProbe(lookup=lookup, opencv_gstreamer=opencv), asked


def frames_of(capture):
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            capture.release()
            return frames
        frames.append(image)


# -- the choice -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path, named, demuxer, parser", [
    ("/v/clip.mp4", "avc1", "qtdemux", "h264parse"),
    ("/v/clip.mov", "hvc1", "qtdemux", "h265parse"),
    ("/v/clip.mkv", "V_MPEGH/ISO/HEVC", "matroskademux", "h265parse"),
    ("/v/clip.avi", "H264", "avidemux", "h264parse"),
])
def test_jetson_files_get_the_hardware_pipeline(path, named, demuxer, parser):
    probe, asked = fake(JETSON)
    plan = plan_decode("file", path, path, "auto", codec=named, probe=probe)
    assert plan.decoder == "gstreamer" and plan.fallback and "nvv4l2decoder (hardware)" in plan.why
    assert plan.pipeline.startswith('filesrc location="{}" ! {} ! queue ! {} ! nvv4l2decoder ! nvvidconv'.format(
        path, demuxer, parser))
    assert {demuxer, parser, "nvv4l2decoder", "nvvidconv", "appsink"} <= set(asked)  # probed, not assumed


def test_jetson_rtsp_streams_and_their_codec():
    url = "rtsp://admin:hunter2@10.0.0.5:554/stream1"
    plan = plan_decode("stream", url, uris.mask_url(url), "auto", probe=fake(JETSON)[0])
    assert plan.pipeline.startswith('rtspsrc location="{}" latency=200 ! rtph264depay ! h264parse ! nvv4l2decoder'
                                    .format(url))  # the capture gets the real URL...
    described = plan.describe()  # ...what -v prints never has the credentials
    assert "hunter2" not in described and "admin" not in described
    assert 'rtspsrc location="rtsp://***@10.0.0.5:554/stream1"' in described
    h265 = plan_decode("stream", "rtsp://cam/live", "rtsp://cam/live", "auto",
                       DecodeOptions(codec="h265", latency_ms=50), probe=fake(JETSON)[0])
    assert "latency=50 ! rtph265depay ! h265parse ! nvv4l2decoder" in h265.pipeline


@pytest.mark.parametrize("kind, target, named", [
    ("file", "/v/clip.mp4", "mp4v"),  # MPEG-4 Part 2: no GStreamer decode offered
    ("file", "/v/clip.mp4", None),  # codec unknown
    ("file", "/v/clip.flv", "avc1"),  # no demuxer
    ("stream", "http://cam/video.mjpg", None),  # only rtsp:// goes through rtspsrc
    ("camera", 0, None),
    ("images", "frames/", None),
])
def test_what_auto_leaves_to_opencv(kind, target, named):
    plan = plan_decode(kind, target, str(target), "auto", codec=named, probe=fake(JETSON)[0])
    assert plan.decoder == "opencv" and plan.pipeline is None and not plan.fallback
    if named == "mp4v":
        assert "its codec is mp4v" in plan.why
    if target == "/v/clip.flv":
        assert "no GStreamer demuxer" in plan.why


def test_a_desktop_without_the_hardware_elements_and_opencv_without_gstreamer():
    plan = plan_decode("file", "a.mp4", "a.mp4", "auto", codec="avc1", probe=fake(DESKTOP_GST)[0])
    assert plan.decoder == "opencv" and "nvv4l2decoder needs nvv4l2decoder, nvvidconv" in plan.why
    forced = plan_decode("file", "a.mp4", "a.mp4", "gstreamer", codec="avc1", probe=fake(DESKTOP_GST)[0])
    assert forced.pipeline.split(" ! ")[4] == "avdec_h264" and not forced.fallback  # forced: software GStreamer
    probe, asked = fake(JETSON, opencv=False)
    plan = plan_decode("file", "a.mp4", "a.mp4", "auto", codec="avc1", probe=probe)
    assert plan.decoder == "opencv" and "has no GStreamer" in plan.why and asked == []
    assert plan_decode("file", "a.mp4", "a.mp4", "opencv", codec="avc1", probe=fake(JETSON)[0]).decoder == "opencv"


@pytest.mark.parametrize("kind, target, named, elements, opencv, message", [
    ("file", "a.mp4", "avc1", JETSON, False, "has no GStreamer \\(pip wheels never do; on Jetson use the system"),
    ("file", "a.mp4", "avc1", {"videoconvert"}, True, "nvv4l2decoder needs .*avdec_h264 needs .*install them"),
    ("file", "a.mp4", "mp4v", JETSON, True, "its codec is mp4v"),
    ("stream", "http://u:pw@cam/v", None, JETSON, True, "reads video files and rtsp:// / rtsps:// streams, not stream"),
    ("camera", 0, None, JETSON, True, "not camera 0; use --decoder auto, or give the whole pipeline as gst://"),
])
def test_forced_gstreamer_refuses_in_one_line(kind, target, named, elements, opencv, message):
    uri = uris.mask_url(str(target))
    with pytest.raises(UserError, match=message) as error:
        plan_decode(kind, target, uri, "gstreamer", codec=named, probe=fake(elements, opencv)[0])
    assert "\n" not in str(error.value) and "pw" not in str(error.value)


@pytest.mark.parametrize("decoder, options, message", [
    ("ffmpeg", None, "--decoder must be one of auto, opencv, gstreamer"),
    ("auto", DecodeOptions(threads=0), "--decoder-threads must be at least 1"),
    ("auto", DecodeOptions(codec="vp9"), "--input-codec must be one of h264, h265"),
    ("auto", DecodeOptions(latency_ms=-1), "--rtsp-latency"),
])
def test_bad_values(decoder, options, message):
    with pytest.raises(UserError, match=message):
        plan_decode("file", "a.mp4", "a.mp4", decoder, options, probe=fake(JETSON)[0])


# -- real captures ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def h264_clip(clip, tmp_path_factory):
    """The sample clip re-encoded as H.264 (libx264 through the FFmpeg encoder)."""
    if ffmpeg_encoder.ffmpeg_binary() is None:
        pytest.skip("no FFmpeg binary (pip install imageio-ffmpeg)")
    path = str(tmp_path_factory.mktemp("h264") / "clip264.mp4")
    images = frames_of(cv2.VideoCapture(clip))
    with encoders.open_encoder(path, images[0].shape[:2], 15.0, "ffmpeg", encoder.EncoderOptions(codec="h264")) as e:
        for image in images:
            e.write(image)
    assert media.probe_container(path)[1] == "avc1"
    return path


@needs_ffmpeg
def test_a_gstreamer_capture_that_does_not_open_falls_back_to_ffmpeg_with_a_warning(h264_clip, caplog):
    if gstreamer.gstreamer_available():
        pytest.skip("this OpenCV has GStreamer: the pipeline might really open")
    with caplog.at_level(logging.DEBUG, logger="edge_saliency"):
        with open_source(h264_clip, probe=fake(JETSON)[0]) as source:
            got = [frame.image for frame in source]
            assert source.plan.decoder == "opencv"
    assert "decoder for {}: GStreamer, nvv4l2decoder (hardware): filesrc".format(h264_clip) in caplog.text
    warning = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warning) == 1 and "the GStreamer pipeline for {} did not open".format(h264_clip) in warning[0]
    assert "through OpenCV's FFmpeg backend instead" in warning[0]
    expected = frames_of(cv2.VideoCapture(h264_clip, cv2.CAP_FFMPEG))
    assert len(got) == len(expected) > 30 and all(np.array_equal(a, b) for a, b in zip(got, expected))


def test_forced_gstreamer_without_it_fails_before_opening(clip):
    if gstreamer.gstreamer_available():
        pytest.skip("this OpenCV has GStreamer")
    with pytest.raises(UserError, match="--decoder gstreamer cannot read .*clip.mp4: this OpenCV .* has no GStreamer"):
        open_source(clip, decoder="gstreamer")


def test_stream_pipeline_text_is_masked_in_every_log_line(caplog):
    url = "rtsp://admin:hunter2@127.0.0.1:9/live?token=s3cret"
    with caplog.at_level(logging.DEBUG, logger="edge_saliency"):
        with pytest.raises(UserError) as error:
            open_source(url, probe=fake(JETSON)[0], stream_timeout=1.0, reconnect=0)
    assert 'rtspsrc location="rtsp://***@127.0.0.1:9/live?token=***"' in caplog.text
    text = caplog.text + str(error.value)
    assert "hunter2" not in text and "s3cret" not in text and "admin" not in text


class Recorder:
    """cv2.VideoCapture, recording each call's arguments; ``params_fail``: act as OpenCV < 4.5.2 (no params)."""

    def __init__(self, params_fail=False):
        self.calls, self.params_fail, self.real = [], params_fail, cv2.VideoCapture

    def __call__(self, *args):
        self.calls.append(args)
        if self.params_fail and len(args) == 3:
            raise TypeError("VideoCapture() takes at most 2 arguments")
        return self.real(*args)


def test_ffmpeg_options_reach_videocapture_and_frames_stay_identical(clip, monkeypatch):
    default = frames_of(cv2.VideoCapture(clip))
    recorder = Recorder()
    monkeypatch.setattr(cv2, "VideoCapture", recorder)
    options = DecodeOptions(threads=1, hw_acceleration=True)
    with open_source(clip, decoder="opencv", decode_options=options) as source:
        assert int(source.capture.get(cv2.CAP_PROP_N_THREADS)) == 1  # FFmpeg took it
        got = [frame.image for frame in source]
    path, api, params = recorder.calls[0]
    assert (path, api) == (clip, cv2.CAP_FFMPEG)
    pairs = dict(zip(params[::2], params[1::2]))
    assert pairs == {cv2.CAP_PROP_N_THREADS: 1, cv2.CAP_PROP_HW_ACCELERATION: cv2.VIDEO_ACCELERATION_ANY}
    assert len(got) == len(default) == 40 and all(np.array_equal(a, b) for a, b in zip(got, default))


def test_without_options_a_file_opens_exactly_as_before(clip, monkeypatch):
    recorder = Recorder()
    monkeypatch.setattr(cv2, "VideoCapture", recorder)
    with open_source(clip, decoder="opencv"):
        pass
    assert recorder.calls == [(clip,)]


def test_an_opencv_without_the_options_decodes_as_before(clip, monkeypatch):
    default = frames_of(cv2.VideoCapture(clip))
    # JetPack 5's OpenCV 4.5.4 has no CAP_PROP_N_THREADS: the option is left out, the file opens as it always did
    monkeypatch.delattr(cv2, "CAP_PROP_N_THREADS")
    assert decoders.ffmpeg_params(DecodeOptions(threads=2)) == []
    recorder = Recorder()
    monkeypatch.setattr(cv2, "VideoCapture", recorder)
    with open_source(clip, decoder="opencv", decode_options=DecodeOptions(threads=2)) as source:
        got = [frame.image for frame in source]
    assert recorder.calls == [(clip,)]
    assert all(np.array_equal(a, b) for a, b in zip(got, default)) and len(got) == len(default)


def test_an_opencv_without_open_parameters_still_opens_through_ffmpeg(clip, monkeypatch):
    default = frames_of(cv2.VideoCapture(clip))
    recorder = Recorder(params_fail=True)
    monkeypatch.setattr(cv2, "VideoCapture", recorder)
    with open_source(clip, decoder="opencv", decode_options=DecodeOptions(threads=1)) as source:
        got = [frame.image for frame in source]
    assert [len(c) for c in recorder.calls] == [3, 2] and recorder.calls[1] == (clip, cv2.CAP_FFMPEG)
    assert all(np.array_equal(a, b) for a, b in zip(got, default)) and len(got) == len(default)


def test_a_pipeline_that_opens_but_gives_no_frame_is_named_and_auto_falls_back(clip, monkeypatch, caplog):
    class Silent:  # a GStreamer capture whose pipeline starts but never delivers (e.g. a codec the stream lacks)
        def isOpened(self):
            return True

        def read(self):
            return False, None

        def release(self):
            pass

    real_open = decoders.DecodePlan.open
    monkeypatch.setattr(decoders.DecodePlan, "open", lambda plan, *a, **k: Silent() if plan.pipeline else
                        real_open(plan, *a, **k))
    monkeypatch.setattr(sources, "probe_container", lambda path: ("MP4/MOV", "avc1"))  # as if it were H.264
    with caplog.at_level(logging.WARNING, logger="edge_saliency"):
        with open_source(clip, probe=fake(JETSON)[0]) as source:
            assert source.plan.decoder == "opencv" and len(list(source)) == 40
    assert "the GStreamer pipeline for {} opened but gave no frame".format(clip) in caplog.text
    with pytest.raises(UserError, match="opened but gave no frame .*filesrc location="):
        open_source(clip, decoder="gstreamer", probe=fake(JETSON)[0])
