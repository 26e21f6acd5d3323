"""Which decoder opens a video file or a network stream (``edge-saliency run --decoder``), and the options of
OpenCV's FFmpeg backend.

- ``auto`` (default) — video files (H.264 / H.265 in MP4, MOV, MKV, AVI, TS) and ``rtsp://`` streams go through
  a GStreamer pipeline with Jetson's hardware decoder ``nvv4l2decoder`` when this OpenCV has GStreamer and every
  element of the pipeline exists (probed by :class:`.gstreamer.ElementProbe`, never assumed); if that capture
  does not open, a warning says why and OpenCV's FFmpeg backend reads the source instead. Anything else: OpenCV.
- ``opencv`` — OpenCV's FFmpeg backend, with :class:`DecodeOptions` (decode threads, the hardware-acceleration
  request) where this OpenCV has the open parameters (4.5.2+; older ones open exactly as before).
- ``gstreamer`` — the GStreamer pipeline, ``nvv4l2decoder`` where it exists, else ``avdec_h264`` /
  ``avdec_h265``; one line naming what is missing and the fix when it cannot.

The chosen decoder and the pipeline text are logged at ``-v``, URLs masked (:func:`.uri.mask_url`).
CSI cameras and ``gst://`` pipelines are GStreamer already; cameras and image folders are not video streams to
decode here. docs/performance.md ("Decoders") has the pipelines and the measured FFmpeg options. Python 3.8.
"""
import dataclasses
import logging
import re
from typing import Any, List, Optional, Sequence, Tuple

from ..errors import UserError
from . import gstreamer
from .gstreamer import OPENCV_GSTREAMER_FIX
from .source import opencv

log = logging.getLogger("edge_saliency.capture")

DECODERS = ("auto", "opencv", "gstreamer")
# the codec named in a container (MP4 sample entry, AVI FourCC, Matroska codec id), lower case -> codec
CONTAINER_CODECS = {"avc1": "h264", "avc3": "h264", "h264": "h264", "x264": "h264", "v_mpeg4/iso/avc": "h264",
                    "hvc1": "h265", "hev1": "h265", "hevc": "h265", "h265": "h265", "v_mpegh/iso/hevc": "h265"}


@dataclasses.dataclass
class DecodeOptions:
    """How to decode. ``threads`` / ``hw_acceleration``: OpenCV's FFmpeg backend (``CAP_PROP_N_THREADS``,
    ``CAP_PROP_HW_ACCELERATION = VIDEO_ACCELERATION_ANY``), ignored where this OpenCV lacks them. ``codec``: a
    network stream's codec for the GStreamer pipeline (h264, h265; files: read from the container).
    ``latency_ms``: rtspsrc's jitter buffer."""

    threads: Optional[int] = None
    hw_acceleration: bool = False
    codec: Optional[str] = None
    latency_ms: int = 200

    def validate(self) -> None:
        """UserError naming the option and its allowed values when one is out of range."""
        if self.threads is not None and self.threads < 1:
            raise UserError("--decoder-threads must be at least 1, got {}".format(self.threads))
        if self.codec is not None and self.codec not in gstreamer.DECODABLE:
            raise UserError("--input-codec must be one of {}, got {!r}".format(", ".join(gstreamer.DECODABLE),
                                                                               self.codec))
        if self.latency_ms < 0:
            raise UserError("--rtsp-latency must be 0 or more milliseconds, got {}".format(self.latency_ms))


def supports(name: str) -> bool:
    """Whether this OpenCV has the constant ``name`` (``CAP_PROP_N_THREADS`` came after JetPack 5's 4.5.4)."""
    return hasattr(opencv(), name)


def ffmpeg_params(options: DecodeOptions, properties: Sequence[Tuple[int, float]] = ()) -> List[int]:
    """The open parameters of ``cv2.VideoCapture(target, CAP_FFMPEG, params)``: ``properties`` then the options
    this OpenCV supports (the others are left out, so an older OpenCV decodes as it always did)."""
    cv2 = opencv()
    params: List[int] = []
    for prop, value in properties:
        params += [int(prop), int(value)]
    if options.threads and supports("CAP_PROP_N_THREADS"):
        params += [cv2.CAP_PROP_N_THREADS, int(options.threads)]
    if options.hw_acceleration and supports("CAP_PROP_HW_ACCELERATION"):
        params += [cv2.CAP_PROP_HW_ACCELERATION, cv2.VIDEO_ACCELERATION_ANY]
    return params


def open_ffmpeg_capture(target: str, options: Optional[DecodeOptions] = None,
                        properties: Sequence[Tuple[int, float]] = (), any_backend: bool = False) -> Any:
    """``cv2.VideoCapture`` of ``target`` through OpenCV's FFmpeg backend with ``options``. ``any_backend``
    (files): without parameters, OpenCV picks its backend as ``cv2.VideoCapture(path)`` always did. OpenCV
    before 4.5.2 has no open parameters: ``properties`` are then set after opening and the options dropped."""
    cv2 = opencv()
    params = ffmpeg_params(options or DecodeOptions(), properties)
    if params:
        try:
            return cv2.VideoCapture(target, cv2.CAP_FFMPEG, params)
        except (TypeError, cv2.error):  # OpenCV < 4.5.2 has no open parameters
            pass
    capture = cv2.VideoCapture(target) if any_backend and not params else cv2.VideoCapture(target, cv2.CAP_FFMPEG)
    for prop, value in properties:
        capture.set(prop, value)
    return capture


def container_codec(name: Optional[str]) -> Optional[str]:
    """h264 / h265 for the codec a container names (``avc1``, ``hev1``, ``V_MPEG4/ISO/AVC``...), else None."""
    return CONTAINER_CODECS.get((name or "").strip().lower())


@dataclasses.dataclass
class DecodePlan:
    """How a source is opened: ``decoder`` "gstreamer" (``pipeline`` through ``CAP_GSTREAMER``; ``fallback``:
    OpenCV's FFmpeg backend when it does not open) or "opencv" (FFmpeg with ``options``); ``why`` it was chosen."""

    decoder: str
    why: str
    options: DecodeOptions
    pipeline: Optional[str] = None
    fallback: bool = False

    def describe(self) -> str:
        """One line for ``-v``: the decoder, why, and the pipeline text or the FFmpeg options (URLs masked)."""
        from .uri import mask_url

        if self.pipeline is not None:
            return "GStreamer, {}: {}".format(self.why, mask_url(self.pipeline))
        extras = ["{} threads".format(self.options.threads)] if self.options.threads else []
        extras += ["hardware acceleration requested"] if self.options.hw_acceleration else []
        return "OpenCV FFmpeg backend{} ({})".format(", " + ", ".join(extras) if extras else "", self.why)

    def open(self, target: str, properties: Sequence[Tuple[int, float]] = (), any_backend: bool = False) -> Any:
        """The ``cv2.VideoCapture`` of ``target`` as planned (the GStreamer pipeline already names it)."""
        if self.pipeline is not None:
            cv2 = opencv()
            return cv2.VideoCapture(self.pipeline, cv2.CAP_GSTREAMER)
        return open_ffmpeg_capture(target, self.options, properties, any_backend)

    def without_gstreamer(self) -> "DecodePlan":
        """The FFmpeg plan ``auto`` falls back to."""
        return DecodePlan("opencv", "fallback", self.options)


def _scheme(target: str) -> str:
    match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", str(target))
    return match.group(1).lower() if match else ""


def plan_decode(kind: str, target: Any, uri: str, decoder: str = "auto", options: Optional[DecodeOptions] = None,
                codec: Optional[str] = None, probe: Optional[gstreamer.ElementProbe] = None) -> DecodePlan:
    """The :class:`DecodePlan` for a source of ``kind`` (:class:`.sources.SourceSpec`) at ``target`` (``uri``:
    its masked form, for messages). ``codec``: a file's codec as its container names it (``avc1``, ``hev1``,
    ``V_MPEG4/ISO/AVC``, ``mp4v``...; None when unknown); streams take ``options.codec``, else h264.
    Raises :class:`UserError` when ``decoder`` is "gstreamer" and the pipeline cannot be built here."""
    if decoder not in DECODERS:
        raise UserError("--decoder must be one of {}, got {!r}".format(", ".join(DECODERS), decoder))
    options = options or DecodeOptions()
    options.validate()
    if decoder == "opencv":
        return DecodePlan("opencv", "--decoder opencv", options)
    forced = decoder == "gstreamer"
    stream = kind == "stream"
    if kind not in ("file", "stream") or (stream and _scheme(target) not in gstreamer.RTSP_SCHEMES):
        if forced and kind in ("file", "stream", "camera"):
            raise UserError("--decoder gstreamer reads video files and {} streams, not {} {}; use --decoder auto, or "
                            "give the whole pipeline as gst://...".format(
                                " / ".join(s + "://" for s in gstreamer.RTSP_SCHEMES), kind, uri))
        return DecodePlan("opencv", "GStreamer decoding is for video files and rtsp:// streams", options)
    named = codec
    codec = (options.codec or "h264") if stream else container_codec(named)
    probe = probe or gstreamer.default_probe()
    why = None
    if not probe.opencv_gstreamer:
        why = "this OpenCV {} has no GStreamer{}".format(opencv().__version__,
                                                         " ({})".format(OPENCV_GSTREAMER_FIX) if forced else "")
    elif codec is None:
        why = "its codec is {}, and GStreamer decoding is offered for {}".format(
            named or "unknown", " / ".join(gstreamer.DECODABLE))
    else:
        try:
            element, why = gstreamer.choose_decoder(codec, probe, str(target), hardware_only=not forced)
        except ValueError as exc:  # a container without a GStreamer demuxer
            element, why = None, str(exc)
        if element is not None:
            pipeline = gstreamer.decode_pipeline(str(target), codec, element == "nvv4l2decoder", options.latency_ms)
            return DecodePlan("gstreamer", why, options, pipeline, fallback=not forced)
        if forced:
            why += (" (install them: on Jetson the nvidia-l4t-gstreamer package and gstreamer1.0-plugins-good/-bad; "
                    "elsewhere gstreamer1.0-libav for avdec_*)")
    if forced:
        raise UserError("--decoder gstreamer cannot read {}: {}".format(uri, why))
    return DecodePlan("opencv", why, options)
