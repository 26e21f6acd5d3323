"""Video encoders behind one small interface: ``open_encoder(target, size, fps, backend, options)`` →
``write(frame)`` per BGR uint8 frame → ``close()``.

Backends (``--encoder``):

- ``opencv`` — OpenCV's ``VideoWriter`` (its FFmpeg backend; the codec by FourCC: mp4v, MJPG, avc1 where the
  build has H.264 — pip wheels do not). Encoding runs on the calling thread (OpenCV releases the GIL).
- ``ffmpeg`` — an FFmpeg process fed raw BGR frames through a pipe (``libx264 -preset ultrafast`` by default):
  the binary of the ``imageio-ffmpeg`` wheel (``pip install edge-saliency[video]``), ``$EDGE_SALIENCY_FFMPEG``,
  or ``ffmpeg`` on PATH. The encoder runs in its own process, in parallel with the pipeline.
- ``gstreamer`` — a GStreamer pipeline through OpenCV's ``CAP_GSTREAMER`` writer: Jetson's hardware
  ``nvv4l2h264enc`` / ``nvv4l2h265enc`` when they exist (probed, :mod:`.gstreamer`), else ``x264enc``.
- ``auto`` — the first that opens of: GStreamer with a *hardware* encoder, the FFmpeg process, OpenCV. With an
  explicit ``--fourcc`` OpenCV comes first (the FourCC names an OpenCV codec).

``target`` is a file path or a URL (``rtp://HOST:PORT``, ``udp://``, ``rtsp://``, ``tcp://``...), so network
outputs reuse the same encoders. :func:`probe` says what this machine has. Measured costs: docs/performance.md.
Python 3.8.

Here the choice (:func:`plan`, :func:`open_encoder`, :func:`probe`) and the GStreamer writer; the interface and
OpenCV's writer are in :mod:`.encoder`, the FFmpeg process in :mod:`.ffmpeg_encoder`.
"""
import logging
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .._lazy import require
from ..capture import gstreamer
from ..errors import UserError
from .encoder import CODECS, Encoder, EncoderError, EncoderOptions, OpenCVEncoder, opencv_fourcc, resolve_codec
from .ffmpeg_encoder import FFMPEG_ENCODERS, FFmpegEncoder, _mask, ffmpeg_binary, ffmpeg_encoders

log = logging.getLogger("edge_saliency.outputs")

BACKENDS = ("auto", "opencv", "ffmpeg", "gstreamer")


# -- the interface ------------------------------------------------------------------------------------------




class GStreamerEncoder(Encoder):
    """A GStreamer pipeline (:func:`.gstreamer.encode_pipeline`) through OpenCV's CAP_GSTREAMER writer."""

    backend = "gstreamer"

    def __init__(self, target: str, size: Tuple[int, int], fps: float, codec: str, options: EncoderOptions,
                 probe: Optional[gstreamer.ElementProbe] = None, hardware_only: bool = False) -> None:
        super().__init__(target, size, fps, codec)
        probe = probe or gstreamer.default_probe()
        element, why = gstreamer.choose_encoder(codec, probe, hardware_only)
        if element is None:
            raise EncoderError("GStreamer cannot write {}: {}".format(_mask(target), why))
        try:
            self.pipeline = gstreamer.encode_pipeline(target, codec, element, self.fps, options.bitrate_kbps,
                                                      options.preset, options.threads, options.gop)
        except ValueError as exc:
            raise EncoderError("GStreamer cannot write {}: {}".format(_mask(target), exc)) from None
        self.element = element
        self.description = "GStreamer ({}): {}".format(why, _mask(self.pipeline))
        cv2 = require("cv2", purpose="video output")
        self._writer = cv2.VideoWriter(self.pipeline, cv2.CAP_GSTREAMER, 0, self.fps, (self.size[1], self.size[0]))
        if not self._writer.isOpened():
            raise EncoderError("the GStreamer pipeline did not open: {}".format(_mask(self.pipeline)))

    def write(self, frame: np.ndarray) -> None:
        self._writer.write(frame)
        self.frames += 1

    def close(self) -> None:
        self._writer.release()  # sends end-of-stream: the muxer writes its index


# -- choosing --------------------------------------------------------------------------------------------------


def plan(target: str, backend: str = "auto", options: Optional[EncoderOptions] = None) -> List[str]:
    """The backends to try, in order, for ``backend`` (``auto``: see the module docstring)."""
    if backend not in BACKENDS:
        raise UserError("--encoder must be one of {}, got {!r}".format(", ".join(BACKENDS), backend))
    options = options or EncoderOptions()
    if backend != "auto":
        return [backend]
    if options.fourcc:
        return ["opencv", "ffmpeg", "gstreamer"]
    return ["gstreamer-hw", "ffmpeg", "opencv"]


def open_encoder(target: str, size: Sequence[int], fps: float, backend: str = "auto",
                 options: Optional[EncoderOptions] = None, probe: Optional[gstreamer.ElementProbe] = None) -> Encoder:
    """Open ``target`` for frames of ``size`` (H, W) at ``fps``, with ``backend`` or (``auto``) the first that opens.

    Raises :class:`EncoderError` naming every backend tried and why it did not open. The choice is logged at
    DEBUG (``-v``), with the pipeline text / command line.
    """
    options = options or EncoderOptions()
    options.validate()
    hw = (int(size[0]), int(size[1]))
    codec = resolve_codec(target, options)
    reasons: List[str] = []
    for choice in plan(target, backend, options):
        try:
            started = time.perf_counter()
            encoder: Encoder
            if choice == "opencv":
                encoder = OpenCVEncoder(target, hw, fps, opencv_fourcc(target, options), options.threads)
            elif choice == "ffmpeg":
                encoder = FFmpegEncoder(target, hw, fps, codec, options)
            else:
                encoder = GStreamerEncoder(target, hw, fps, codec, options, probe,
                                           hardware_only=choice == "gstreamer-hw")
        except EncoderError as exc:
            reasons.append("{}: {}".format(choice, exc))
            log.debug("encoder %s not used: %s", choice, exc)
            continue
        log.debug("video %s: %s (opened in %.0f ms)", _mask(target), encoder.description,
                 1000 * (time.perf_counter() - started))
        return encoder
    raise EncoderError("no video encoder could open {}: {}".format(_mask(target), " | ".join(reasons)))


def probe(element_probe: Optional[gstreamer.ElementProbe] = None) -> Dict[str, Dict[str, Any]]:
    """What this machine can encode with: per backend ``available`` and ``detail`` (the FFmpeg binary and its
    encoders; GStreamer's encoder per codec, hardware or not; OpenCV's version and whether it has H.264)."""
    result: Dict[str, Dict[str, Any]] = {}
    try:
        cv2 = require("cv2", purpose="video output")
        result["opencv"] = {"available": True, "detail": "OpenCV {}".format(cv2.__version__)}
    except UserError as exc:
        result["opencv"] = {"available": False, "detail": str(exc)}
    binary = ffmpeg_binary()
    if binary is None:
        result["ffmpeg"] = {"available": False, "detail": "no FFmpeg binary (pip install imageio-ffmpeg)"}
    else:
        present = ffmpeg_encoders(binary)
        codecs = {c: next((e for e in FFMPEG_ENCODERS[c] if e in present), None) for c in CODECS}
        result["ffmpeg"] = {"available": any(codecs.values()), "detail": binary, "encoders": codecs}
    element_probe = element_probe or gstreamer.default_probe()
    chosen = {c: gstreamer.choose_encoder(c, element_probe) for c in gstreamer.ENCODER_ELEMENTS}
    result["gstreamer"] = {"available": any(e for e, _ in chosen.values()),
                           "detail": "; ".join("{}: {}".format(c, why) for c, (_, why) in chosen.items()),
                           "encoders": {c: e for c, (e, _) in chosen.items()},
                           "hardware": any(e is not None and e.startswith("nv") for e, _ in chosen.values())}
    return result
