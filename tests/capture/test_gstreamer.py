"""GStreamer pipeline text and element probing (edge_saliency.capture.gstreamer). No GStreamer runs here: the
probe is given fake registries (a Jetson's, a desktop's, a bare one) and the text is checked element by element
against NVIDIA's documented element names and properties."""
import logging

import pytest

from edge_saliency.capture import gstreamer
from edge_saliency.capture.gstreamer import ElementProbe
from edge_saliency.outputs import encoders
from edge_saliency.outputs.encoder import EncoderError, EncoderOptions

JETSON = {"nvv4l2h264enc", "nvv4l2h265enc", "nvv4l2decoder", "nvvidconv", "nvjpegenc", "videoconvert", "h264parse",
          "h265parse", "x264enc", "qtmux", "matroskamux", "appsink", "filesrc", "queue", "qtdemux", "matroskademux",
          "rtspsrc", "rtph264depay", "rtph265depay"}
DESKTOP = {"x264enc", "x265enc", "jpegenc", "videoconvert", "h264parse", "h265parse"}


def fake(elements, opencv=True):
    asked = []

    def lookup(name):
        asked.append(name)
        return name in elements

    probe = ElementProbe(lookup=lookup, opencv_gstreamer=opencv)
    return probe, asked


def elements_of(pipeline):
    return [part.strip().split(" ")[0] for part in pipeline.split("!")]


def test_jetson_gets_the_hardware_encoder_and_the_probe_asks_for_each_element():
    probe, asked = fake(JETSON)
    element, why = gstreamer.choose_encoder("h264", probe)
    assert element == "nvv4l2h264enc" and "hardware" in why
    assert {"nvv4l2h264enc", "nvvidconv", "videoconvert", "h264parse"} <= set(asked)
    assert gstreamer.choose_encoder("h265", probe)[0] == "nvv4l2h265enc"
    assert gstreamer.choose_decoder("h264", probe)[0] == "nvv4l2decoder"


def test_a_missing_converter_rules_the_hardware_encoder_out():
    probe, _ = fake(JETSON - {"nvvidconv"})
    element, why = gstreamer.choose_encoder("h264", probe)
    assert element == "x264enc"  # falls back to software, and says nothing is assumed
    hw, why = gstreamer.choose_encoder("h264", fake(JETSON - {"nvvidconv"})[0], hardware_only=True)
    assert hw is None and "nvvidconv" in why
    assert gstreamer.choose_decoder("h264", fake(JETSON - {"nvvidconv"})[0])[0] is None


def test_desktop_and_bare_machines():
    assert gstreamer.choose_encoder("h264", fake(DESKTOP)[0]) == ("x264enc", "x264enc (software)")
    assert gstreamer.choose_encoder("h264", fake(DESKTOP)[0], hardware_only=True)[0] is None
    probe, asked = fake(JETSON, opencv=False)
    element, why = gstreamer.choose_encoder("h264", probe)
    assert element is None and "no GStreamer" in why and asked == []  # nothing probed without OpenCV support
    assert gstreamer.choose_encoder("mpeg4", fake(JETSON)[0])[0] is None


def test_hardware_file_pipeline_follows_nvidias_element_contract():
    text = gstreamer.encode_pipeline("/out/a b.mp4", "h264", "nvv4l2h264enc", 30.0, bitrate_kbps=4000)
    assert elements_of(text) == ["appsrc", "videoconvert", "video/x-raw,", "nvvidconv", "video/x-raw(memory:NVMM),",
                                 "nvv4l2h264enc", "h264parse", "qtmux", "filesink"]
    assert "format=(string)BGRx" in text and "format=(string)NV12" in text
    encoder = [p for p in text.split("!") if "nvv4l2h264enc" in p][0]
    # bitrate in bits per second, parameter sets with every IDR, one IDR per second
    assert "bitrate=4000000" in encoder and "insert-sps-pps=true" in encoder and "idrinterval=30" in encoder
    assert 'location="/out/a b.mp4"' in text


def test_software_and_network_pipelines():
    text = gstreamer.encode_pipeline("a.mkv", "h265", "x265enc", 25.0, threads=2)
    assert elements_of(text)[-4:] == ["x265enc", "h265parse", "matroskamux", "filesink"]
    assert "bitrate=8000" in text and "speed-preset=ultrafast" in text and "threads=2" in text
    rtp = gstreamer.encode_pipeline("rtp://127.0.0.1:5004", "h264", "nvv4l2h264enc", 30.0)
    assert elements_of(rtp)[-3:] == ["h264parse", "rtph264pay", "udpsink"]
    assert "host=127.0.0.1 port=5004" in rtp and "config-interval=1" in rtp
    jpeg = gstreamer.encode_pipeline("a.avi", "mjpeg", "jpegenc", 10.0)
    assert elements_of(jpeg) == ["appsrc", "videoconvert", "jpegenc", "avimux", "filesink"]
    with pytest.raises(ValueError):
        gstreamer.encode_pipeline("a.webm", "h264", "x264enc", 10.0)
    with pytest.raises(ValueError):
        gstreamer.encode_pipeline("a.mp4", "h264", "nvv4l2h265enc", 10.0)


def test_decode_pipelines():
    # NVIDIA's file decode examples: filesrc ! qtdemux ! queue ! h264parse ! nvv4l2decoder; nvv4l2decoder gives NV12
    # in NVMM memory, nvvidconv brings it to BGRx in system memory, videoconvert to the BGR OpenCV's appsink takes
    hw = gstreamer.decode_pipeline("/v/clip.mp4", "h264", hardware=True)
    assert elements_of(hw) == ["filesrc", "qtdemux", "queue", "h264parse", "nvv4l2decoder", "nvvidconv",
                               "video/x-raw,", "videoconvert", "video/x-raw,", "appsink"]
    assert "nvvidconv ! video/x-raw, format=(string)BGRx ! videoconvert ! video/x-raw, format=(string)BGR" in hw
    assert hw.endswith("appsink sync=false")  # a file: every frame, as fast as decoded
    sw = gstreamer.decode_pipeline("/v/clip.mkv", "h265", hardware=False)
    assert "matroskademux ! queue ! h265parse ! avdec_h265" in sw
    for path, demuxer in (("a.mov", "qtdemux"), ("a.m4v", "qtdemux"), ("a.webm", "matroskademux"),
                          ("a.avi", "avidemux"), ("a.ts", "tsdemux")):
        assert elements_of(gstreamer.decode_pipeline(path, "h264", hardware=True))[1] == demuxer
    with pytest.raises(ValueError):
        gstreamer.decode_pipeline("/v/clip.avi", "mjpeg", hardware=True)
    with pytest.raises(ValueError, match="no GStreamer demuxer"):
        gstreamer.decode_pipeline("/v/clip.flv", "h264", hardware=True)
    with pytest.raises(ValueError, match="not http://"):
        gstreamer.decode_pipeline("http://cam/video", "h264", hardware=True)


@pytest.mark.parametrize("codec", ["h264", "h265"])
def test_rtsp_decode_pipeline(codec):
    text = gstreamer.decode_pipeline("rtsp://cam.local:554/live", codec, hardware=True, latency_ms=100)
    assert elements_of(text) == ["rtspsrc", "rtp{}depay".format(codec), "{}parse".format(codec), "nvv4l2decoder",
                                 "nvvidconv", "video/x-raw,", "videoconvert", "video/x-raw,", "appsink"]
    assert text.startswith('rtspsrc location="rtsp://cam.local:554/live" latency=100 ! ')
    # live: the appsink keeps only the newest frame
    assert text.endswith("appsink drop=true max-buffers=1 sync=false")
    assert elements_of(gstreamer.decode_pipeline("rtsps://cam/live", codec, hardware=False))[3] == "avdec_" + codec


def test_pipeline_elements_leave_caps_out():
    text = gstreamer.decode_pipeline("a b!.mp4", "h264", hardware=True)
    assert gstreamer.pipeline_elements(text) == ["filesrc", "qtdemux", "queue", "h264parse", "nvv4l2decoder",
                                                 "nvvidconv", "videoconvert", "appsink"]
    assert 'location="a b!.mp4"' in text


def test_the_decoder_needs_every_element_of_its_pipeline():
    element, why = gstreamer.choose_decoder("h264", fake(JETSON)[0], "clip.mkv")
    assert element == "nvv4l2decoder" and "hardware" in why
    probe, asked = fake(JETSON - {"rtph265depay"})
    element, why = gstreamer.choose_decoder("h265", probe, "rtsp://cam/live")
    assert element is None and "rtph265depay" in why
    assert asked[:2] == ["rtspsrc", "rtph265depay"]
    # forced (hardware_only=False) on a desktop GStreamer: the software decoder of gst-libav
    desktop = DESKTOP | {"avdec_h264", "filesrc", "qtdemux", "queue", "appsink"}
    element, why = gstreamer.choose_decoder("h264", fake(desktop)[0], "a.mp4")  # auto: hardware only
    assert element is None and "nvv4l2decoder needs nvv4l2decoder, nvvidconv" in why
    assert gstreamer.choose_decoder("h264", fake(desktop)[0], "a.mp4", hardware_only=False)[0] == "avdec_h264"
    element, why = gstreamer.choose_decoder("h264", fake(DESKTOP)[0], "a.mp4", hardware_only=False)
    assert element is None and "nvv4l2decoder needs" in why and "avdec_h264 needs" in why


def test_the_gstreamer_encoder_logs_its_pipeline_and_refuses_cleanly(caplog):
    # here OpenCV has no GStreamer: the encoder refuses with the reason, and auto's plan starts with the hardware
    # choice so a Jetson gets it without asking
    probe, _ = fake(JETSON, opencv=False)
    with pytest.raises(EncoderError, match="no GStreamer"):
        encoders.GStreamerEncoder("a.mp4", (48, 64), 10.0, "h264", EncoderOptions(), probe)
    assert encoders.plan("a.mp4")[0] == "gstreamer-hw"
    with caplog.at_level(logging.DEBUG, logger="edge_saliency"):
        fake(JETSON)[0].has("nvv4l2h264enc")
    assert "nvv4l2h264enc: present" in caplog.text


def test_real_probe_without_gstreamer_in_opencv_says_so():
    probe = ElementProbe()
    if probe.opencv_gstreamer:
        pytest.skip("this OpenCV has GStreamer")
    assert gstreamer.choose_encoder("h264", probe)[0] is None
