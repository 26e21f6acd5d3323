"""rtp:// and rtsp:// outputs: RTP to 127.0.0.1 read back by FFmpeg (where ffmpeg is installed), one clear line
for what cannot work (no encoder, a refused RTSP push, serving RTSP), per-stream URLs and the SDP."""
import shutil
import socket
import subprocess
import threading
import time

import numpy as np
import pytest

from edge_saliency.capture.sources import open_source
from edge_saliency.errors import UserError
from edge_saliency.outputs import encoder, encoders, ffmpeg_encoder
from edge_saliency.outputs.registry import parse_sink_uri
from edge_saliency.outputs.sink import OutputOptions, StreamInfo
from edge_saliency.outputs.sinks import create_sink
from edge_saliency.outputs.stream_sink import StreamSink, sdp, stream_url
from edge_saliency.pipeline.options import PipelineOptions
from edge_saliency.pipeline.packet import Packet
from edge_saliency.pipeline.pipeline import Pipeline
from edge_saliency.runners import create_runner

cv2 = pytest.importorskip("cv2")
SIZE = (96, 128)
needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None or ffmpeg_encoder.ffmpeg_binary() is None,
                                  reason="no ffmpeg here to send or receive RTP (Debian: apt install ffmpeg)")


def free_port(kind=socket.SOCK_DGRAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def packet(index, size=SIZE):
    frame = np.random.default_rng(index).integers(0, 255, size + (3,), dtype=np.uint8)
    return Packet(0, index, index / 15.0, None, frame, 0.0, 0.0, views={"overlay": frame})


@needs_ffmpeg
def test_rtp_to_loopback_is_read_back_by_ffmpeg(clip, tmp_path):
    port = free_port()
    description = tmp_path / "stream.sdp"
    description.write_text(sdp("127.0.0.1", port, "h264", 15.0))
    count = 8
    receiver = subprocess.Popen(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-protocol_whitelist", "file,udp,rtp", "-i",
         str(description), "-frames:v", str(count), "-f", "rawvideo", "-pix_fmt", "bgr24", "pipe:1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(0.5)  # listening before the first packet (UDP does not wait)
    runner = create_runner(None, "classic")
    runner.activate()
    source = open_source(clip, loop=True)
    sink = create_sink("rtp://127.0.0.1:{}".format(port))
    pipeline = Pipeline([source], runner, [sink], PipelineOptions(max_frames=100000))
    thread = threading.Thread(target=pipeline.run, daemon=True)
    thread.start()
    try:
        out, err = receiver.communicate(timeout=60)
    finally:
        if receiver.poll() is None:
            receiver.kill()
            receiver.communicate()
        pipeline.stop()
        thread.join(timeout=30)
        runner.deactivate()
        source.close()
    assert receiver.returncode == 0, err.decode()[-500:]
    frames = np.frombuffer(out, np.uint8).reshape(-1, SIZE[0], SIZE[1], 3)
    assert len(frames) == count
    changes = [float(np.abs(a.astype(int) - b.astype(int)).mean()) for a, b in zip(frames, frames[1:])]
    assert max(changes) > 1.0  # a moving overlay, not one frozen picture
    assert sink.frames > count and not thread.is_alive()


@needs_ffmpeg
def test_a_refused_rtsp_push_is_one_line_naming_the_server():
    port = free_port(socket.SOCK_STREAM)  # nobody listens there
    sink = create_sink("rtsp://127.0.0.1:{}/live".format(port), OutputOptions(encoder="ffmpeg"))
    with pytest.raises(UserError) as error:
        sink.open([StreamInfo(0, "clip.mp4", SIZE, 15.0)])
        deadline = time.monotonic() + 20
        index = 0
        while time.monotonic() < deadline:
            sink.write(packet(index))
            index += 1
            time.sleep(0.02)
        sink.finish()
    message = str(error.value)
    assert "rtsp://127.0.0.1:{}/live".format(port) in message and "\n" not in message
    assert "refused" in message.lower() or "connection" in message.lower(), message
    sink.finish(ok=False)


def test_no_encoder_names_every_backend_and_what_is_missing(monkeypatch):
    for module in (encoders, ffmpeg_encoder):  # where the encoder choice and the FFmpeg encoder look it up
        monkeypatch.setattr(module, "ffmpeg_binary", lambda: None)
    sink = create_sink("rtp://127.0.0.1:5004")
    with pytest.raises(UserError) as error:
        sink.open([StreamInfo(0, "clip.mp4", SIZE, 15.0)])
    message = str(error.value)
    assert "\n" not in message and "cannot stream to rtp://127.0.0.1:5004" in message
    assert "imageio-ffmpeg" in message and "gstreamer" in message.lower()


@pytest.mark.parametrize("uri, message", [
    ("rtsp://0.0.0.0:8554/live", "mediamtx"),
    ("rtsp://127.0.0.1:8554", "needs a path"),
])
def test_rtsp_outputs_that_cannot_work_are_refused_up_front(uri, message):
    with pytest.raises(UserError, match=message):
        create_sink(uri)


def test_streams_carry_h264_or_h265():
    with pytest.raises(UserError, match="h264 or h265"):
        StreamSink(parse_sink_uri("rtp://127.0.0.1:5004"),
                   OutputOptions(encoding=encoder.EncoderOptions(codec="mjpeg")))


def test_each_source_gets_its_own_port_or_path():
    assert stream_url("rtp://127.0.0.1:5004", 1, 1) == "rtp://127.0.0.1:5004"
    assert [stream_url("rtp://127.0.0.1:5004", i, 3) for i in range(3)] == [
        "rtp://127.0.0.1:5004", "rtp://127.0.0.1:5006", "rtp://127.0.0.1:5008"]
    assert stream_url("rtsp://u:p@srv:8554/cam", 1, 2) == "rtsp://u:p@srv:8554/cam-1"
    assert stream_url("rtsp://srv:8554/cam{stream}/x", 2, 3) == "rtsp://srv:8554/cam2/x"


def test_the_sdp_describes_the_stream():
    text = sdp("127.0.0.1", 5004, "h264", 15.0)
    assert "m=video 5004 RTP/AVP 96" in text and "a=rtpmap:96 H264/90000" in text
    assert "c=IN IP4 127.0.0.1" in text and text.endswith("\r\n")
    assert "c=IN IP6 ::1" in sdp("::1", 5004, "h265") and "H265/90000" in sdp("::1", 5004, "h265")
