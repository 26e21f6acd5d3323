"""GStreamer pipelines for hardware video coding (Jetson's ``nvv4l2decoder`` / ``nvv4l2h264enc`` /
``nvv4l2h265enc``; desktop software elements otherwise): the pipeline text, and which elements exist here.

Elements are probed, never assumed: :class:`ElementProbe` asks GStreamer's registry (PyGObject's
``Gst.ElementFactory.find`` when ``gi`` is importable, else ``gst-inspect-1.0 --exists``), and only when this
OpenCV was built with GStreamer (pip wheels are not; JetPack's system OpenCV is). The chosen elements and the
pipeline text are logged at ``-v`` (INFO).

Element names and properties follow NVIDIA's "Accelerated GStreamer" guide for JetPack: ``nvv4l2h264enc`` /
``nvv4l2h265enc`` take NV12 in NVMM memory (``nvvidconv`` converts from system memory), ``bitrate`` in bits per
second, ``insert-sps-pps`` (parameter sets with every IDR, so a stream can be joined late), ``idrinterval``,
``maxperf-enable``; ``nvv4l2decoder`` outputs NVMM buffers that ``nvvidconv`` brings back to system memory
(decoding: ``filesrc ! qtdemux ! queue ! h264parse ! nvv4l2decoder``, ``rtspsrc ! rtph264depay ! h264parse !
nvv4l2decoder``; :mod:`.decoders` chooses when). The desktop fall-backs are the GStreamer "good"/"ugly" plugins'
``x264enc`` / ``x265enc`` / ``jpegenc`` and gst-libav's ``avdec_h264`` / ``avdec_h265``.
docs/performance.md lists the pipelines. Python 3.8.
"""
import logging
import os
import re
import shutil
import subprocess
import threading
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from ..errors import UserError
from .source import opencv

log = logging.getLogger("edge_saliency.capture")

# codec -> encoder elements, best first: Jetson hardware, then software
ENCODER_ELEMENTS: Dict[str, Tuple[str, ...]] = {
    "h264": ("nvv4l2h264enc", "x264enc"),
    "h265": ("nvv4l2h265enc", "x265enc"),
    "mjpeg": ("nvjpegenc", "jpegenc"),
}
HARDWARE_ELEMENTS = ("nvv4l2h264enc", "nvv4l2h265enc", "nvjpegenc", "nvv4l2decoder")
PARSERS = {"h264": "h264parse", "h265": "h265parse", "mjpeg": None}
# container (file extension or URL scheme) -> muxer / sink, per codec where it matters
MUXERS = {".mp4": "qtmux", ".m4v": "qtmux", ".mov": "qtmux", ".mkv": "matroskamux", ".avi": "avimux",
          ".ts": "mpegtsmux"}
RTP_PAYLOADERS = {"h264": "rtph264pay", "h265": "rtph265pay", "mjpeg": "rtpjpegpay"}
RTP_DEPAYLOADERS = {"h264": "rtph264depay", "h265": "rtph265depay"}
RTSP_SCHEMES = ("rtsp", "rtsps")  # what rtspsrc reads
DECODABLE = ("h264", "h265")  # codecs decode_pipeline handles (nvv4l2decoder also takes others; untested here)
# demuxer per container for decoding files
DEMUXERS = {".mp4": "qtdemux", ".m4v": "qtdemux", ".mov": "qtdemux", ".mkv": "matroskademux", ".webm": "matroskademux",
            ".avi": "avidemux", ".ts": "tsdemux"}


def _quote(path: str) -> str:
    """A location property value: quoted, so spaces and '!' in a path do not break the pipeline."""
    return '"{}"'.format(path.replace("\\", "\\\\").replace('"', '\\"'))


class ElementProbe:
    """Which GStreamer elements exist. ``lookup(name) -> bool`` can be injected (tests); the default asks GStreamer.
    Results are cached per probe."""

    def __init__(self, lookup: Optional[Callable[[str], bool]] = None, opencv_gstreamer: Optional[bool] = None) -> None:
        self._lookup = lookup
        self._opencv = opencv_gstreamer
        self._cache: Dict[str, bool] = {}
        self._lock = threading.Lock()
        self.how = "injected" if lookup is not None else ""

    @property
    def opencv_gstreamer(self) -> bool:
        """Whether OpenCV can run a pipeline at all (CAP_GSTREAMER)."""
        if self._opencv is None:
            self._opencv = gstreamer_available()
        return bool(self._opencv)

    def has(self, element: str) -> bool:
        with self._lock:
            if element not in self._cache:
                self._cache[element] = self._ask(element)
                log.debug("GStreamer element %s: %s (%s)", element, "present" if self._cache[element] else "absent",
                          self.how)
            return self._cache[element]

    def _ask(self, element: str) -> bool:
        if self._lookup is not None:
            return bool(self._lookup(element))
        try:
            import gi  # PyGObject: the registry itself, no process per element

            gi.require_version("Gst", "1.0")
            from gi.repository import Gst

            if not Gst.is_initialized():
                Gst.init(None)
            self.how = "Gst.ElementFactory.find"
            return Gst.ElementFactory.find(element) is not None
        except (ImportError, ValueError, AttributeError):
            pass
        inspect = shutil.which("gst-inspect-1.0")
        if inspect is None:
            self.how = "no gi and no gst-inspect-1.0"
            return False
        self.how = "gst-inspect-1.0 --exists"
        try:
            return subprocess.run([inspect, "--exists", element], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, timeout=20).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False

    def first(self, elements: Sequence[str]) -> Optional[str]:
        return next((e for e in elements if self.has(e)), None)


_default_probe: Optional[ElementProbe] = None


def default_probe() -> ElementProbe:
    global _default_probe
    if _default_probe is None:
        _default_probe = ElementProbe()
    return _default_probe


def _container(target: str) -> str:
    if "://" in target:
        return target.split("://", 1)[0].lower()
    return os.path.splitext(target)[1].lower()


def encode_pipeline(target: str, codec: str, encoder: str, fps: float, bitrate_kbps: Optional[int] = None,
                    preset: str = "ultrafast", threads: Optional[int] = None, gop: Optional[int] = None) -> str:
    """The appsrc → ``encoder`` → ``target`` pipeline text for OpenCV's GStreamer VideoWriter (BGR frames in).

    ``target``: a file (muxer from the extension) or ``rtp://HOST:PORT`` / ``udp://HOST:PORT`` (RTP over UDP,
    ``rtp`` payloaded) / ``tcp://HOST:PORT`` (MPEG-TS over a TCP server). ``encoder``: one of
    :data:`ENCODER_ELEMENTS`' names for ``codec``.
    """
    if codec not in ENCODER_ELEMENTS or encoder not in ENCODER_ELEMENTS[codec]:
        raise ValueError("no GStreamer encoder {!r} for codec {!r}".format(encoder, codec))
    gop = gop or max(1, int(round(fps)))
    kbps = bitrate_kbps or 8000
    hardware = encoder.startswith("nv")
    parts = ["appsrc", "videoconvert"]  # OpenCV sets the appsrc caps (BGR, size, rate) itself
    if hardware:
        # the V4L2 encoders take NV12 in NVMM memory: videoconvert to BGRx (system memory), nvvidconv to NVMM
        parts[-1] = "videoconvert ! video/x-raw, format=(string)BGRx"
        fmt = "I420" if encoder == "nvjpegenc" else "NV12"
        parts.append("nvvidconv ! video/x-raw(memory:NVMM), format=(string){}".format(fmt))
        if encoder == "nvjpegenc":
            parts.append("nvjpegenc quality=90")
        else:
            parts.append("{} bitrate={} control-rate=1 insert-sps-pps=true idrinterval={} iframeinterval={} "
                         "maxperf-enable=true".format(encoder, kbps * 1000, gop, gop))
    elif encoder in ("x264enc", "x265enc"):
        parts[-1] = "videoconvert ! video/x-raw, format=(string)I420"
        option = "option-string=\"threads={}\"".format(threads) if threads and encoder == "x265enc" else ""
        thread_prop = " threads={}".format(threads) if threads and encoder == "x264enc" else ""
        parts.append("{} bitrate={} speed-preset={} tune=zerolatency key-int-max={}{}{}".format(
            encoder, kbps, preset, gop, thread_prop, " " + option if option else "").strip())
    else:  # jpegenc
        parts.append("jpegenc quality=90")
    container = _container(target)
    parser = PARSERS[codec]
    if container in ("rtp", "udp"):
        host, _, port = target.split("://", 1)[1].rpartition(":")
        if parser:
            parts.append(parser)
        parts.append("{} config-interval=1 pt=96".format(RTP_PAYLOADERS[codec]))
        parts.append("udpsink host={} port={} sync=false async=false".format(host.strip("[]") or "127.0.0.1",
                                                                            int(port)))
    elif container == "tcp":
        host, _, port = target.split("://", 1)[1].rpartition(":")
        parts += ([parser] if parser else []) + ["mpegtsmux",
                                                 "tcpserversink host={} port={}".format(host or "0.0.0.0", int(port))]
    else:
        muxer = MUXERS.get(container)
        if muxer is None:
            raise ValueError("no GStreamer muxer for {!r} (use {})".format(container, ", ".join(sorted(MUXERS))))
        if parser:
            parts.append(parser)
        parts += [muxer, "filesink location={}".format(_quote(target))]
    return " ! ".join(parts)


def choose_encoder(codec: str, probe: ElementProbe, hardware_only: bool = False) -> Tuple[Optional[str], str]:
    """(the element to encode ``codec`` with, or None; why). Needs OpenCV with GStreamer and the elements of the
    pipeline around it (videoconvert, the parser; nvvidconv for the hardware encoders)."""
    if codec not in ENCODER_ELEMENTS:
        return None, "GStreamer has no encoder for codec {} here (choose h264, h265 or mjpeg)".format(codec)
    if not probe.opencv_gstreamer:
        return None, "this OpenCV has no GStreamer (pip wheels never do; Jetson's system OpenCV does)"
    missing: List[str] = []
    for element in ENCODER_ELEMENTS[codec]:
        hardware = element.startswith("nv")
        if hardware_only and not hardware:
            continue
        needs = [element, "videoconvert"] + ([PARSERS[codec]] if PARSERS[codec] else [])
        if hardware:
            needs.append("nvvidconv")
        absent = [n for n in needs if not probe.has(n)]
        if not absent:
            return element, "{} {}".format(element, "(hardware)" if hardware else "(software)")
        missing.append("{} needs {}".format(element, ", ".join(absent)))
    return None, "no GStreamer {} encoder: {}".format(codec, "; ".join(missing) or "no hardware element")


def _decode_head(source: str, codec: str, latency_ms: int) -> str:
    """The elements up to the parser: ``rtspsrc`` → RTP depayloader for ``rtsp://`` / ``rtsps://``, else
    ``filesrc`` → the container's demuxer (then a ``queue``, as NVIDIA's decode examples have it)."""
    scheme = _container(source) if "://" in source else ""
    if scheme in RTSP_SCHEMES:
        # latency: rtspsrc's jitter buffer in ms (GStreamer's default 2000 would delay every frame by 2 s)
        return "rtspsrc location={} latency={} ! {} ! {}".format(_quote(source), int(latency_ms),
                                                                  RTP_DEPAYLOADERS[codec], PARSERS[codec])
    if scheme:
        raise ValueError("GStreamer decoding reads files and {} streams, not {}://".format(
            " / ".join(s + "://" for s in RTSP_SCHEMES), scheme))
    demuxer = DEMUXERS.get(os.path.splitext(source)[1].lower())
    if demuxer is None:
        raise ValueError("no GStreamer demuxer for {} (containers: {})".format(source, ", ".join(sorted(DEMUXERS))))
    return "filesrc location={} ! {} ! queue ! {}".format(_quote(source), demuxer, PARSERS[codec])


def decode_pipeline(source: str, codec: str, hardware: bool, latency_ms: int = 200) -> str:
    """The pipeline text for OpenCV's GStreamer VideoCapture that decodes ``source`` (a video file, or an
    ``rtsp://`` / ``rtsps://`` URL) to BGR frames: demux or depayload → parse → (``nvv4l2decoder`` →
    ``nvvidconv`` | ``avdec_h264`` / ``avdec_h265``) → ``appsink``.

    ``nvv4l2decoder`` outputs NV12 in NVMM memory; ``nvvidconv`` brings it to BGRx in system memory and
    ``videoconvert`` drops the fourth byte (OpenCV's appsink takes BGR). A live stream's appsink keeps only the
    newest buffer (``drop=true max-buffers=1``), a file's gives every frame. ``sync=false``: as fast as decoded.
    """
    if codec not in DECODABLE:
        raise ValueError("GStreamer decoding is offered for {}, not {}".format(" / ".join(DECODABLE),
                                                                              codec or "an unknown codec"))
    head = _decode_head(source, codec, latency_ms)
    if hardware:
        body = ("nvv4l2decoder ! nvvidconv ! video/x-raw, format=(string)BGRx ! videoconvert ! "
                "video/x-raw, format=(string)BGR")
    else:
        body = "avdec_{} ! videoconvert ! video/x-raw, format=(string)BGR".format(codec)
    live = head.startswith("rtspsrc")
    return "{} ! {} ! appsink {}sync=false".format(head, body, "drop=true max-buffers=1 " if live else "")


def pipeline_elements(pipeline: str) -> List[str]:
    """The element names of a pipeline's text, in order (caps filters such as ``video/x-raw, ...`` left out)."""
    names = [part.strip().split(" ")[0] for part in pipeline.split(" ! ")]
    return [n for n in names if n and "/" not in n]


def choose_decoder(codec: str, probe: ElementProbe, source: Optional[str] = None,
                   hardware_only: bool = True) -> Tuple[Optional[str], str]:
    """(the decoder element for ``codec`` — ``nvv4l2decoder`` (hardware), else with ``hardware_only=False``
    ``avdec_h264`` / ``avdec_h265`` — or None; why). Every element of the pipeline must exist: with ``source``
    its demuxer or RTSP depayloader too (:func:`decode_pipeline`)."""
    if codec not in DECODABLE:
        return None, "GStreamer decoding is offered for {}, not {}".format(" / ".join(DECODABLE),
                                                                          codec or "an unknown codec")
    if not probe.opencv_gstreamer:
        return None, "this OpenCV has no GStreamer"
    missing: List[str] = []
    for hardware in (True, False):
        if hardware_only and not hardware:
            break
        elements = pipeline_elements(decode_pipeline(source or "clip.mp4", codec, hardware))
        needs = elements if source else elements[elements.index(PARSERS[codec]):]  # no source: from the parser on
        absent = [n for n in needs if not probe.has(n)]
        element = "nvv4l2decoder" if hardware else "avdec_{}".format(codec)
        if not absent:
            return element, "{} ({})".format(element, "hardware" if hardware else "software")
        missing.append("{} needs {}".format(element, ", ".join(absent)))
    return None, "no GStreamer {} decoder: {}".format(codec, "; ".join(missing))


OPENCV_GSTREAMER_FIX = ("pip wheels never do; on Jetson use the system OpenCV (JetPack's python3-opencv) in a venv "
                        "made with --system-site-packages, and install edge-saliency with pip install --no-deps")


def gstreamer_available() -> bool:
    """Whether this OpenCV was built with GStreamer (pip wheels are not; Jetson's system OpenCV is)."""
    match = re.search(r"GStreamer:\s*(\w+)", opencv().getBuildInformation())
    return bool(match) and match.group(1).upper() == "YES"


def require_gstreamer(uri: str) -> None:
    """UserError naming what to install unless OpenCV was built with GStreamer (``csi://``, ``gst://``)."""
    if not gstreamer_available():
        raise UserError(
            "{} needs OpenCV built with GStreamer, and this OpenCV {} has none ({})".format(
                uri, opencv().__version__, OPENCV_GSTREAMER_FIX))


def csi_pipeline(sensor_id: int = 0, width: int = 1280, height: int = 720, fps: float = 30.0, flip: int = 0) -> str:
    """The GStreamer pipeline for a Jetson CSI camera: nvarguscamerasrc → NVMM → nvvidconv → BGR appsink."""
    return (
        "nvarguscamerasrc sensor-id={s} ! video/x-raw(memory:NVMM), width=(int){w}, height=(int){h}, "
        "framerate=(fraction){f}/1 ! nvvidconv flip-method={flip} ! video/x-raw, width=(int){w}, height=(int){h}, "
        "format=(string)BGRx ! videoconvert ! video/x-raw, format=(string)BGR ! appsink drop=true max-buffers=1 "
        "sync=false".format(s=sensor_id, w=width, h=height, f=int(round(fps)), flip=flip)
    )


def with_appsink(pipeline: str) -> str:
    """A user pipeline, ending in a BGR appsink if it has none."""
    if "appsink" in pipeline:
        return pipeline
    return pipeline + " ! videoconvert ! video/x-raw, format=(string)BGR ! appsink drop=true max-buffers=1"
