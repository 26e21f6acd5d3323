"""Frame sources by URI (after jetson-utils' ``videoSource``).

- ``clip.mp4``, ``file:///data/clip.mkv``: a video file, every frame in order (``loop`` restarts it).
- ``0``, ``/dev/video0``, ``v4l2:///dev/video1``: a camera (V4L2 on Linux).
- ``rtsp://user:pass@cam/stream``, ``rtsps://``, ``rtmp://``, ``http(s)://``, ``udp://``, ``srt://``: a network
  stream, reconnected with back-off when it drops.
- ``csi://0``: a Jetson CSI camera through GStreamer ``nvarguscamerasrc`` (needs OpenCV with GStreamer).
- ``gst://PIPELINE``, or any text with `` ! ``: a GStreamer pipeline ending in ``appsink``.
- ``photo.jpg``, ``frames/``, ``'frames/*.png'``: an image file, folder or glob (unreadable or truncated images
  are skipped with a warning and counted).

Cameras, streams, CSI and GStreamer are *live*: the pipeline keeps only the newest frame. A live source that
drops is reconnected with back-off; with an explicit ``reconnect`` one that is down at the start is retried the
same way. Every wait (back-off, a stalled open) ends at once on ``stop_event`` or Ctrl-C. A video that cannot be
opened is explained: a truncated or unfinished file is named as such (:func:`media_problem`), not as a codec
problem. Credentials in URLs are never logged: every message shows :func:`mask_url`'s form
(``rtsp://***@cam/stream``).

:func:`open_source` picks the kind from the URI (:mod:`.uri`) and opens it: :mod:`.video` (files, cameras,
streams, CSI and GStreamer through VideoCapture), :mod:`.images`; :mod:`.media` names a damaged file.
"""
import glob
import logging
import os
import re
import sys
from typing import Any, List, Optional, Tuple

from ..errors import UserError
from . import decoders
from .gstreamer import csi_pipeline, require_gstreamer, with_appsink
from .images import ImageSource
from .media import probe_container
from .source import Source, opencv
from .uri import parse_uri
from .video import CaptureSource, _StreamSource

log = logging.getLogger("edge_saliency.capture")



def cameras_present() -> List[str]:
    """The ``/dev/video*`` devices of this machine, in numeric order."""
    return sorted(glob.glob("/dev/video*"), key=lambda p: int(re.sub(r"\D", "", p) or 0))


def open_source(uri: str, loop: bool = False, reconnect: Optional[int] = None,
                capture_wh: Optional[Tuple[int, int]] = None, capture_fps: Optional[float] = None,
                flip: int = 0, image_fps: Optional[float] = None, stream_timeout: float = 10.0,
                decoder: str = "auto", decode_options: Optional[decoders.DecodeOptions] = None,
                probe: Any = None) -> Source:
    """Open the source ``uri`` names (see the module table); raises :class:`UserError` with one clear line.

    ``reconnect``: attempts for live sources when they drop (default 10 for network streams, 3 for cameras;
    negative: forever); given explicitly, also for one that is down at the start. ``capture_wh`` (width, height:
    the order cameras and V4L2 / nvarguscamerasrc take) / ``capture_fps``: asked of cameras and CSI. ``image_fps``:
    the frame rate given to image sources (timestamps, output video). ``stream_timeout``: seconds a network stream
    may stall opening (reading: half of it). Every other size in edge-saliency is (H, W).
    ``decoder`` / ``decode_options`` / ``probe`` (a :class:`.gstreamer.ElementProbe`): how video files and
    network streams are decoded (:mod:`.decoders`: ``auto``, ``opencv``, ``gstreamer``).
    """
    start = reconnect if reconnect is not None else 0
    spec = parse_uri(uri)
    source: Source
    if spec.kind == "images":
        source = ImageSource(spec.uri, spec.target, fps=image_fps, loop=loop)
        return source.open()
    cv2 = opencv()
    plan = None
    if spec.kind == "file":
        if not os.path.exists(spec.target):
            raise UserError("source not found: {}".format(spec.uri))
        if not os.access(spec.target, os.R_OK):
            raise UserError("cannot read {}: permission denied".format(spec.uri))
    if spec.kind in ("file", "stream", "camera"):
        codec = probe_container(spec.target)[1] if spec.kind == "file" and decoder != "opencv" else None
        plan = decoders.plan_decode(spec.kind, spec.target, spec.uri, decoder, decode_options, codec, probe)
        if spec.kind == "camera":
            plan = None  # read through V4L2 (the plan only refused --decoder gstreamer)
        else:
            log.debug("decoder for %s: %s", spec.uri, plan.describe())
    if spec.kind == "file":
        source = CaptureSource(spec.uri, "file", spec.target, loop=loop, plan=plan)
    elif spec.kind == "camera":
        device = spec.target
        path = "/dev/video{}".format(device) if isinstance(device, int) else device
        if sys.platform.startswith("linux") and not os.path.exists(path):
            found = cameras_present()
            raise UserError("no camera at {} ({}): cameras here: {}".format(
                spec.uri, path, ", ".join(found) if found else "none"))
        props: List[Tuple[int, float]] = [(cv2.CAP_PROP_BUFFERSIZE, 1)]
        if capture_wh:
            props += [(cv2.CAP_PROP_FRAME_WIDTH, capture_wh[0]), (cv2.CAP_PROP_FRAME_HEIGHT, capture_wh[1])]
        if capture_fps:
            props.append((cv2.CAP_PROP_FPS, capture_fps))
        api = cv2.CAP_V4L2 if sys.platform.startswith("linux") else None
        source = CaptureSource(spec.uri, "camera", device, api=api, properties=props,
                               reconnect=3 if reconnect is None else reconnect, start_attempts=start)
    elif spec.kind == "stream":
        props = []
        for name, value in (("CAP_PROP_OPEN_TIMEOUT_MSEC", stream_timeout * 1000),
                            ("CAP_PROP_READ_TIMEOUT_MSEC", stream_timeout * 500)):
            if hasattr(cv2, name):
                props.append((getattr(cv2, name), value))
        source = _StreamSource(spec.uri, spec.target, props, 10 if reconnect is None else reconnect, start, plan)
    else:
        require_gstreamer(spec.uri)
        if spec.kind == "csi":
            width, height = capture_wh or (1280, 720)
            pipeline = csi_pipeline(spec.target, width, height, capture_fps or 30.0, flip)
        else:
            pipeline = with_appsink(spec.target)
        source = CaptureSource(spec.uri, spec.kind, pipeline, api=cv2.CAP_GSTREAMER,
                               reconnect=3 if reconnect is None else reconnect, start_attempts=start)
    if plan is not None and plan.pipeline is not None and plan.fallback:
        return _open_or_fall_back(source)
    return source.open()


def _open_or_fall_back(source: Source) -> Source:
    """``--decoder auto``: open ``source`` through its GStreamer pipeline in one attempt; when that does not give a
    frame, warn with the reason and open it through OpenCV's FFmpeg backend (with the reconnects asked for)."""
    assert isinstance(source, CaptureSource) and source.plan is not None
    attempts = source.start_attempts
    source.start_attempts = 0
    try:
        return source.open()
    except UserError as exc:
        log.warning("%s; reading %s through OpenCV's FFmpeg backend instead", exc, source.uri)
    source.plan = source.plan.without_gstreamer()
    source.start_attempts = attempts
    return source.open()


