"""Where processed frames go (after jetson-utils' ``videoOutput``): a window, a video file, per-frame maps,
JSON lines, the run's summary.

Every file is written through :mod:`edge_saliency.files.atomic`: to a temp file beside the target, renamed when it
is complete and checked. A video is re-opened before it replaces anything (frame count and size must be what
was written), and the disk is watched while it grows (a full disk or the file size limit stops the run at
once: OpenCV's writer itself reports no write errors). The files of one run (videos, JSON lines, summary) are
committed together by the pipeline: all of them, or on a failure none, so previous files stay intact. Maps
are committed one by one (each is a whole file the moment it appears). An interrupted run (Ctrl-C) still
finishes its files: they are playable and complete up to the last frame.

Long on purpose: every output kind (window, video, maps, JSON lines, summary) and the URI registry that picks them,
as sources.py does for inputs; the network outputs live in http_sink.py and stream_sink.py.
"""
import dataclasses
import errno
import json
import logging
import os
import re
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .._lazy import require
from ..capture.uri import mask_url
from ..errors import UserError
from ..files.atomic import OutputGroup, atomic_output, check_writable, remove_stale_in, write_blocked, write_temp
from ..pipeline.frames import draw_hud
from ..pipeline.packet import Packet
from .encoders import OPENCV_FOURCC, EncoderError, EncoderOptions, open_encoder

log = logging.getLogger("edge_saliency.outputs")

VIEWS = ("overlay", "side-by-side", "map")
VIDEO_CODECS = OPENCV_FOURCC  # container -> a codec every OpenCV/FFmpeg build writes
MAP_FORMATS = ("png", "npy", "both")
SPACE_CHECK_S = 1.0  # how often a growing video checks the disk (OpenCV drops write errors silently)


def _cv2() -> Any:
    return require("cv2", purpose="video output")


@dataclasses.dataclass
class StreamInfo:
    """What a sink knows of a stream before its first frame."""

    index: int
    uri: str  # masked
    size: Tuple[int, int]  # (H, W) of the source frames
    fps: float


@dataclasses.dataclass
class RunInfo:
    """What a sink may show of the run it is part of (the live page, /status.json, /metrics): the model, the
    backend and precision, the sources, and ``status()``: the pipeline's live counters (frames, captured, dropped,
    skipped, fps, cumulative busy seconds per stage, uptime)."""

    model: str = ""
    backend: str = ""
    precision: str = ""
    input_size: Tuple[int, int] = (0, 0)  # (H, W)
    preprocess: str = ""
    sources: Tuple[str, ...] = ()  # masked URIs
    status: Callable[[], Dict[str, Any]] = dict
    colormap: str = "jet"  # how views rendered by the sink itself look (as the pipeline renders them)
    alpha: float = 0.5


def check_growing(output: atomic_output) -> None:
    """Stop a run whose file cannot be finished: its disk is full, it reached the file size limit, or its folder
    was removed (writes to an open file in a removed folder would succeed until the final rename)."""
    blocked = write_blocked(output.tmp)
    if blocked is not None:
        raise output.error(os.strerror(blocked), blocked)
    if not os.path.exists(output.tmp):
        raise output.error(FileNotFoundError(errno.ENOENT, "gone", output.tmp))


def stream_path(path: str, stream: int, streams: int) -> str:
    """The file for one stream: ``{stream}`` in the path is replaced, else ``-N`` goes before the extension
    when there are several streams."""
    if "{stream}" in path:
        return path.replace("{stream}", str(stream))
    if streams == 1:
        return path
    stem, ext = os.path.splitext(path)
    return "{}-{}{}".format(stem, stream, ext)


class Sink:
    """Base class: ``open(streams)`` before the first frame, ``write(packet)`` per frame, ``close(ok)`` at the
    end (:meth:`finish`, then :meth:`commit` of its files). The pipeline instead finishes every sink, gives them
    the summary (:meth:`summarize`) and commits the files of all of them together (or discards them all);
    :meth:`report` says what this run wrote."""

    views: Tuple[str, ...] = ()  # rendered views the sink needs (see VIEWS)
    needs_float_map = False  # the float map at frame size (NPY)
    needs_map_u8 = False  # the uint8 map at frame size (PNG maps); views are asked for by name
    stop_requested = False  # a window's q / Esc

    def describe(self) -> str:
        """Where this sink writes, for the start-up line (no credentials)."""
        return type(self).__name__

    def attach(self, run: RunInfo) -> None:
        """The run this sink is part of, before :meth:`open` (sinks that show the run's figures keep it)."""

    def open(self, streams: Sequence[StreamInfo]) -> None:
        """Prepare for ``streams`` (check outputs can be written) before the first frame."""
        pass

    def write(self, packet: Packet) -> None:
        """Take one processed frame."""
        raise NotImplementedError

    def finish(self, ok: bool = True) -> None:
        """Release what the sink holds; with ``ok``, make its files complete and checked (not yet committed);
        without, discard them."""

    def commit(self) -> None:
        """Rename this sink's finished files over their targets (all of them, or none)."""
        OutputGroup(self.finished()).commit()

    def close(self, ok: bool = True) -> None:
        """Finish, and commit the outputs when ``ok`` (else leave the previous files untouched)."""
        self.finish(ok)
        if ok:
            self.commit()

    def summarize(self, summary: Any) -> None:
        """The run's summary, after a successful close (the summary file writes it)."""

    def finished(self) -> List[atomic_output]:
        """Files that are complete and checked, waiting to be committed (after ``close(ok=True)``)."""
        return []

    def report(self) -> List[str]:
        """"wrote ..." lines for the files this run completed (none before the commit)."""
        return ["wrote {}".format(o.path) for o in self.finished() if o.committed]


class FileSink(Sink):
    """A sink writing one file per run (or per stream) through :class:`atomic_output`."""

    def __init__(self) -> None:
        self._done: List[atomic_output] = []

    def finished(self) -> List[atomic_output]:
        return list(self._done)


def video_fourcc(path: str, fourcc: Optional[str] = None) -> str:
    """The codec for a video path: ``fourcc`` if given, else the container's default (mp4v, MJPG)."""
    extension = os.path.splitext(path)[1].lower()
    if fourcc:
        if len(fourcc) != 4:
            raise UserError("--fourcc takes four characters (mp4v, MJPG, avc1...), got {!r}".format(fourcc))
        return fourcc
    if extension not in VIDEO_CODECS:
        raise UserError("cannot write video {}: unsupported container '{}'; use {} (or name a codec with "
                        "--fourcc)".format(path, extension or "(no extension)", ", ".join(sorted(VIDEO_CODECS))))
    return VIDEO_CODECS[extension]


def check_fps(fps: Optional[float], flag: str = "--fps") -> None:
    """UserError unless ``fps`` is None or a positive frame rate."""
    if fps is not None and not (0.0 < fps < 1e6):  # also refuses NaN
        raise UserError("{} must be a positive number of frames per second (e.g. 25), got {}".format(flag, fps))


class VideoSink(FileSink):
    """A video file per stream (overlay, side-by-side or the raw map), at the source's fps and size, written by
    the encoder ``encoder`` names (:mod:`.encoders`: auto, opencv, ffmpeg, gstreamer)."""

    def __init__(self, path: str, view: str = "overlay", fourcc: Optional[str] = None, fps: Optional[float] = None,
                 hud: bool = False, encoder: str = "auto", options: Optional[EncoderOptions] = None) -> None:
        super().__init__()
        if view not in VIEWS:
            raise UserError("--view must be one of {}, got {!r}".format(", ".join(VIEWS), view))
        check_fps(fps)
        self.path = os.fspath(path)
        self.view = view
        self.views = (view,)
        self.fourcc = video_fourcc(self.path, fourcc)
        self.encoder = encoder
        options = options or EncoderOptions()
        self.options = dataclasses.replace(options, fourcc=fourcc or options.fourcc)
        self.options.validate()
        self.fps = fps
        self.hud = hud
        self._writers: Dict[int, Any] = {}
        self._outputs: Dict[int, atomic_output] = {}
        self._sizes: Dict[int, Tuple[int, int]] = {}
        self._checked = 0.0
        self.frames: Dict[int, int] = {}
        self.paths: Dict[int, str] = {}

    def describe(self) -> str:
        return self.path

    def open(self, streams: Sequence[StreamInfo]) -> None:
        """Open one video writer per stream (to a temporary file), at the stream's size and frame rate."""
        for stream in streams:
            check_writable(stream_path(self.path, stream.index, len(streams)), "output video")
        for stream in streams:
            path = stream_path(self.path, stream.index, len(streams))
            h, w = stream.size
            size = (h, 2 * w) if self.view == "side-by-side" else (h, w)
            output = atomic_output(path, what="output video")
            output.verify = self._verifier(stream.index, output)
            tmp = output.open()
            try:
                writer = open_encoder(tmp, size, float(self.fps or stream.fps), self.encoder, self.options)
            except EncoderError as exc:
                output.discard()
                self.finish(ok=False)
                if not os.path.isdir(os.path.dirname(os.path.abspath(tmp))):  # removed while the writer opened
                    raise output.error(FileNotFoundError(errno.ENOENT, "gone", tmp)) from None
                blocked = write_blocked(tmp)
                if blocked is not None:
                    raise output.error(os.strerror(blocked), blocked) from None
                if self.encoder != "auto" or self.options.fourcc:
                    raise UserError("cannot write video {} ({}); use --encoder auto, .mp4 (mp4v) or .avi (MJPG), or "
                                    "another --fourcc".format(path, str(exc).replace(tmp, path))) from None
                raise UserError("cannot write video {} with codec '{}': this OpenCV/FFmpeg has no encoder for it; use "
                                ".mp4 (mp4v) or .avi (MJPG), or another --fourcc".format(path, self.fourcc)) from None
            self._writers[stream.index], self._outputs[stream.index] = writer, output
            self._sizes[stream.index], self.frames[stream.index], self.paths[stream.index] = size, 0, path
        self._checked = time.monotonic()

    def write(self, packet: Packet) -> None:
        """Encode the frame's view (resized to the video's size if needed, with the HUD when asked)."""
        image = video_frame(packet, self.view, self._sizes[packet.stream], self.hud)
        try:
            self._writers[packet.stream].write(image)
        except EncoderError:
            check_growing(self._outputs[packet.stream])  # a full disk / removed folder says so; else the encoder's line
            raise
        self.frames[packet.stream] += 1
        now = time.monotonic()
        if now - self._checked >= SPACE_CHECK_S:
            self._checked = now
            for output in self._outputs.values():
                check_growing(output)

    def _verifier(self, index: int, output: atomic_output) -> Any:
        return lambda tmp: verify_video(output, lambda: self.frames.get(index, 0), self._sizes[index])

    def finish(self, ok: bool = True) -> None:
        failure: Optional[BaseException] = None
        for index, writer in list(self._writers.items()):
            output = self._outputs[index]
            try:
                writer.close() if ok else writer.abort()  # finalizes the container (an mp4 needs its index written)
            except EncoderError as exc:
                if failure is None:
                    blocked = write_blocked(output.tmp)
                    failure = output.error(os.strerror(blocked), blocked) if blocked is not None else exc
                output.discard()
                continue
            if ok and self.frames.get(index) and failure is None:
                try:
                    output.finish()  # fsync and read back now; the pipeline renames it with the others
                except BaseException as exc:
                    failure = exc
                    output.discard()
                    continue
                self._done.append(output)
            else:
                if ok and not self.frames.get(index):
                    log.warning("no frames for %s: not written", self.paths[index])
                output.discard()
        self._writers.clear()
        self._outputs.clear()
        if failure is not None:
            for output in self._done:
                output.discard()
            self._done.clear()
            raise failure


def video_frame(packet: Packet, view: str, size: Tuple[int, int], hud: bool) -> np.ndarray:
    """The ``view`` of ``packet`` at ``size`` (H, W) — image folders may mix sizes; a video has one — with the
    HUD burnt in when ``hud``."""
    image = packet.views[view]
    if image.shape[:2] != tuple(size):
        image = _cv2().resize(image, (size[1], size[0]), interpolation=_cv2().INTER_AREA)
    if hud and packet.hud:
        image = draw_hud(image.copy(), packet.hud)
    return image


def verify_video(output: atomic_output, frames: Any, size: Tuple[int, int]) -> None:
    """The finished temp video of ``output`` must read back: ``frames()`` frames (the count when it is checked)
    of ``size`` (H, W); else :class:`OutputError` with the cause (a full disk, the file size limit, or a write
    OpenCV's writer failed silently)."""
    cv2 = _cv2()
    want = frames()
    capture = cv2.VideoCapture(output.tmp)
    try:
        opened = capture.isOpened()
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if opened else 0
        got = (int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0),
               int(capture.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)) if opened else (0, 0)
        readable = opened and capture.read()[0]
    finally:
        capture.release()
    if readable and count == want and got == tuple(size):
        return
    blocked = write_blocked(output.tmp)
    if blocked is not None:
        raise output.error(os.strerror(blocked), blocked)
    raise output.error("the finished video does not read back ({} of {} frames, {}x{} instead of {}x{}: a write "
                       "failed or the disk is failing)".format(count, want, got[1], got[0], size[1], size[0]),
                       errno.EIO)


def display_available() -> Tuple[bool, str]:
    """(whether a window can open here, why not)."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False, "no display (DISPLAY is not set)"
    import re

    gui = re.search(r"GUI:\s*(\S+)", _cv2().getBuildInformation())
    if gui and gui.group(1).upper() == "NONE":
        return False, ("this OpenCV has no GUI (a headless build): pip install opencv-contrib-python instead of "
                       "opencv-contrib-python-headless")
    return True, ""


class WindowSink(Sink):
    """An OpenCV window per stream; q or Esc stops, h toggles the HUD."""

    def __init__(self, view: str = "overlay", title: str = "edge-saliency", hud: bool = True) -> None:
        if view not in VIEWS:
            raise UserError("--view must be one of {}, got {!r}".format(", ".join(VIEWS), view))
        self.view = view
        self.views = (view,)
        self.title = title
        self.hud = hud
        self._titles: Dict[int, str] = {}

    def describe(self) -> str:
        return "window"

    def open(self, streams: Sequence[StreamInfo]) -> None:
        """Check a display exists and name one window per stream."""
        ok, why = display_available()
        if not ok:
            raise UserError("cannot open a window: {}; run with --no-display".format(why))
        for stream in streams:
            self._titles[stream.index] = self.title if len(streams) == 1 else "{} [{}]".format(self.title, stream.uri)

    def write(self, packet: Packet) -> None:
        """Show the frame's view; ``q`` or Esc requests a stop, ``h`` toggles the HUD."""
        cv2 = _cv2()
        image = packet.views[self.view]
        if self.hud and packet.hud:
            image = draw_hud(image.copy(), packet.hud)
        cv2.imshow(self._titles[packet.stream], image)
        key = cv2.waitKey(1) & 0xFF
        if key in (27, ord("q")):
            self.stop_requested = True
        elif key == ord("h"):
            self.hud = not self.hud

    def finish(self, ok: bool = True) -> None:
        if self._titles:
            _cv2().destroyAllWindows()


class MapsSink(Sink):
    """Per-frame maps in a folder: PNG (uint8, frame size) and/or NPY (float32 in [0, 1], frame size)."""

    def __init__(self, folder: str, fmt: str = "png") -> None:
        if fmt not in MAP_FORMATS:
            raise UserError("--maps-format must be one of {}, got {!r}".format(", ".join(MAP_FORMATS), fmt))
        self.folder = os.fspath(folder)
        self.formats = ("png", "npy") if fmt == "both" else (fmt,)
        self.needs_float_map = "npy" in self.formats
        self.needs_map_u8 = "png" in self.formats
        self._prefix = False
        self.written = 0

    def describe(self) -> str:
        return self.folder

    def open(self, streams: Sequence[StreamInfo]) -> None:
        """Check the folder can be written and remove temporary files dead writers left in it."""
        if os.path.exists(self.folder) and not os.path.isdir(self.folder):
            raise UserError("maps folder {} is a file; give a folder".format(self.folder))
        check_writable(os.path.join(self.folder, "probe"), "maps folder")
        remove_stale_in(self.folder)
        self._prefix = len(streams) > 1

    def name(self, packet: Packet) -> str:
        """The file stem of a packet's map (the image's name, or its frame index; per stream when several)."""
        base = packet.name or "frame_{:06d}".format(packet.index)
        return "s{}_{}".format(packet.stream, base) if self._prefix else base

    def write(self, packet: Packet) -> None:
        """Write the frame's map (PNG and / or .npy)."""
        cv2 = _cv2()
        stem = os.path.join(self.folder, self.name(packet))
        if "png" in self.formats:
            # encoded here and written by Python, whose write errors say why (cv2.imwrite only returns False);
            # maps are many small files: no fsync each
            ok, png = cv2.imencode(".png", packet.map_u8)
            if not ok:
                raise UserError("OpenCV could not encode the map {}.png".format(stem))
            output = atomic_output(stem + ".png", durable=False, what="map", one_of_many=True)
            with output as tmp:
                write_temp(tmp, png.tobytes(), output)
        if "npy" in self.formats:
            with atomic_output(stem + ".npy", durable=False, what="map", one_of_many=True) as tmp:
                np.save(tmp, packet.map_float)
        self.written += 1

    def report(self) -> List[str]:
        return ["wrote {} maps into {}".format(self.written, self.folder)] if self.written else []


def map_paths(folder: str, fmt: str, names: Sequence[Optional[Sequence[str]]], inputs: Sequence[str] = ()) -> List[str]:
    """The files a maps sink would write into ``folder``, as far as they can be known before the run: for image
    sources (``names``: the stems per stream, None for other sources) every one; for videos and cameras
    (``frame_NNNNNN``) those that an input file already in ``folder`` could be."""
    formats = ("png", "npy") if fmt == "both" else (fmt,)
    prefix = len(names) > 1
    paths = []
    for stream, stems in enumerate(names):
        for stem in stems or ():
            base = "s{}_{}".format(stream, stem) if prefix else stem
            paths += [os.path.join(folder, "{}.{}".format(base, ext)) for ext in formats]
    real = os.path.realpath(folder)
    pattern = re.compile(r"(s\d+_)?frame_\d{6,}\.(" + "|".join(formats) + ")")
    for path in inputs:
        if os.path.realpath(os.path.dirname(os.path.abspath(path))) == real and pattern.fullmatch(
                os.path.basename(path)):
            paths.append(os.path.join(folder, os.path.basename(path)))
    return paths


def frame_record(packet: Packet, threshold: float) -> Dict[str, Any]:
    """The JSON-lines record of one frame."""
    record: Dict[str, Any] = {"stream": packet.stream, "frame": packet.index, "timestamp": packet.timestamp}
    if packet.name:
        record["name"] = packet.name
    record["wall_time"] = round(packet.wall_time, 3)
    record["size"] = [int(packet.frame.shape[1]), int(packet.frame.shape[0])]
    record.update(packet.stats)
    record["threshold"] = threshold
    record["batch"] = packet.batch
    record["latency_ms"] = {k: round(v * 1000.0, 3) for k, v in packet.timings.items()}
    return record


class JsonLinesSink(FileSink):
    """One JSON object per frame: stream, frame index, timestamp (s), wall_time, size [W, H], peak {x, y,
    value}, bbox [x0, y0, x1, y1] of the most salient region, mean, threshold, batch, latency_ms per stage."""

    def __init__(self, path: str, threshold: float = 0.5) -> None:
        super().__init__()
        self.path = os.fspath(path)
        self.threshold = threshold
        self._output: Optional[atomic_output] = None
        self._file: Any = None
        self._checked = 0.0
        self.records = 0

    def describe(self) -> str:
        return self.path

    def open(self, streams: Sequence[StreamInfo]) -> None:
        """Check the file can be written and open its temporary file."""
        check_writable(self.path, "JSON-lines file")
        self._output = atomic_output(self.path, what="JSON-lines file")
        try:
            self._file = open(self._output.open(), "w", encoding="utf-8")
        except OSError as exc:
            raise self._output.error(exc) from None

    def write(self, packet: Packet) -> None:
        """Append the frame's JSON record."""
        assert self._output is not None
        try:
            self._file.write(json.dumps(frame_record(packet, self.threshold), separators=(",", ":")) + "\n")
        except OSError as exc:
            raise self._output.error(exc) from None
        self.records += 1
        now = time.monotonic()
        if now - self._checked >= SPACE_CHECK_S:
            self._checked = now
            check_growing(self._output)

    def finish(self, ok: bool = True) -> None:
        if self._file is None:
            return
        output, self._output = self._output, None
        assert output is not None
        try:
            self._file.close()  # the last buffered lines: may fail too
        except OSError as exc:
            output.discard()
            if ok:
                raise output.error(exc) from None
        finally:
            self._file = None
        if ok:
            self._done.append(output)
        else:
            output.discard()


class SummarySink(FileSink):
    """The end-of-run summary as JSON (``--summary-json``), committed with the run's other files."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = os.fspath(path)

    def describe(self) -> str:
        return self.path

    def open(self, streams: Sequence[StreamInfo]) -> None:
        """Check the summary file can be written."""
        check_writable(self.path, "summary file")

    def write(self, packet: Packet) -> None:
        """Nothing per frame: the summary is written at the end."""
        pass

    def summarize(self, summary: Any) -> None:
        output = atomic_output(self.path, what="summary file")
        write_temp(output.open(), (json.dumps(summary.to_dict(), indent=2) + "\n").encode("utf-8"), output)
        self._done.append(output)


def needed_views(sinks: Sequence[Sink]) -> List[str]:
    """The views (overlay, map, side-by-side) the sinks need, in order, each once."""
    views: List[str] = []
    for sink in sinks:
        views += [v for v in sink.views if v not in views]
    return views


# -- outputs by URI (after jetson-utils' videoOutput; sources are chosen the same way in sources.py) ----------


@dataclasses.dataclass
class OutputOptions:
    """How the ``--output`` URIs are written: the view, encoder and codec of videos and streams, and the http
    output's JPEG quality, frame-rate cap, token and client limits."""

    view: str = "overlay"
    fourcc: Optional[str] = None
    fps: Optional[float] = None  # video files and RTP/RTSP: frame rate (default: the source's)
    encoder: str = "auto"  # video files and RTP/RTSP: the encoder backend (encoders.py)
    encoding: EncoderOptions = dataclasses.field(default_factory=EncoderOptions)  # codec, threads, bit rate...
    hud: str = "auto"  # auto: windows only; on: also burnt into videos and streams; off
    threshold: float = 0.5  # the per-frame records' most-salient-region threshold (as --jsonl writes them)
    jpeg_quality: int = 80  # http: MJPEG quality, 1-100
    max_fps: float = 15.0  # http: frames per second sent to browsers at most (each frame encoded once)
    token: Optional[str] = None  # http: the access token (generated when binding beyond loopback without one)
    max_clients: int = 32  # http: open streams at most; more are refused with 503
    client_timeout: float = 5.0  # http: seconds a client may stall a send before it is dropped

    def validate(self) -> None:
        """Check the outputs' options together; one line naming the value and the fix."""
        if self.view not in VIEWS:
            raise UserError("--view must be one of {}, got {!r}".format(", ".join(VIEWS), self.view))
        check_fps(self.fps)
        check_fps(self.max_fps, "--output-max-fps")
        if not 1 <= self.jpeg_quality <= 100:
            raise UserError("--output-quality must be a JPEG quality in 1-100 (e.g. 80), got {}".format(
                self.jpeg_quality))
        if self.max_clients < 1:
            raise UserError("--output-max-clients must be at least 1, got {}".format(self.max_clients))
        if not self.client_timeout > 0:
            raise UserError("the client timeout must be a positive number of seconds, got {}".format(
                self.client_timeout))
        if self.token is not None and (not self.token or re.search(r"\s", self.token)):
            raise UserError("--output-token must be a non-empty word without spaces; leave it out to have one "
                            "generated")
        self.encoding.validate()


@dataclasses.dataclass
class SinkSpec:
    """What an output URI names: ``kind`` (a key of the sink registry), ``target`` (a path, a ``(host, port)``
    pair or a URL) and ``uri`` (as given, credentials masked)."""

    kind: str
    target: Any
    uri: str

    @property
    def network(self) -> bool:
        """Whether this output sends frames over the network (http, rtp, rtsp)."""
        return self.kind in NETWORK_KINDS


SINK_SCHEMES = {"file": "video", "display": "display", "http": "http", "rtp": "rtp", "rtsp": "rtsp"}
NETWORK_KINDS = ("http", "rtp", "rtsp")
OUTPUT_URIS = "a video file, display://, http://HOST:PORT, rtp://HOST:PORT or rtsp://HOST:PORT/PATH"


def _host_port(scheme: str, text: str, masked: str) -> Tuple[str, int]:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        port, parts = None, None
    if parts is None or port is None or not parts.hostname:
        raise UserError("output {} needs a host and a port, e.g. {}://127.0.0.1:8080 (0.0.0.0 serves every "
                        "interface)".format(masked, scheme))
    if parts.username or parts.password:
        raise UserError("output {} carries credentials; the http output's access token goes in --output-token".format(
            masked))
    if parts.path not in ("", "/") or parts.query:
        raise UserError("output {} has a path or query; give only {}://HOST:PORT".format(masked, scheme))
    return parts.hostname, port


def parse_sink_uri(uri: str) -> SinkSpec:
    """What an output URI names (no I/O): a plain path or ``file://`` is a video file; ``display://`` a window;
    ``http://HOST:PORT`` the live page and streams (port 0: any free port); ``rtp://HOST:PORT`` an H.264 RTP
    stream; ``rtsp://HOST:PORT/PATH`` a stream pushed to (or served as) an RTSP server."""
    text = str(uri).strip()
    masked = mask_url(text)
    if not text:
        raise UserError("empty --output: give {}".format(OUTPUT_URIS))
    scheme_match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", text)
    if not scheme_match:
        return SinkSpec("video", text, masked)
    scheme = scheme_match.group(1).lower()
    rest = text[scheme_match.end():]
    kind = SINK_SCHEMES.get(scheme)
    if kind is None:
        hint = "; the live view is served as plain http:// with --output-token (put a TLS proxy in front for " \
               "https)" if scheme == "https" else ""
        raise UserError("unknown output scheme {}:// in {}; use {}{}".format(scheme, masked, OUTPUT_URIS, hint))
    if kind == "video":
        return SinkSpec(kind, rest, masked)
    if kind == "display":
        return SinkSpec(kind, rest, masked)
    if kind in ("http", "rtp"):
        return SinkSpec(kind, _host_port(scheme, text, masked), masked)
    return SinkSpec(kind, text, masked)


SinkFactory = Callable[[SinkSpec, OutputOptions], Sink]
_SINKS: Dict[str, SinkFactory] = {}


def register_sink(kind: str) -> Callable[[SinkFactory], SinkFactory]:
    """Register the factory of one output kind (re-registering a kind replaces it, with a warning)."""

    def decorate(factory: SinkFactory) -> SinkFactory:
        if kind in _SINKS:
            log.warning("output kind %s registered again: the new factory replaces the old one", kind)
        _SINKS[kind] = factory
        return factory

    return decorate


def create_sink(uri: str, options: Optional[OutputOptions] = None) -> Sink:
    """The sink an output URI names (see :func:`parse_sink_uri`), checked but not yet open."""
    options = options or OutputOptions()
    options.validate()
    spec = parse_sink_uri(uri)
    return _SINKS[spec.kind](spec, options)


@register_sink("video")
def _video_sink(spec: SinkSpec, options: OutputOptions) -> Sink:
    return VideoSink(spec.target, view=options.view, fourcc=options.fourcc, fps=options.fps, hud=options.hud == "on",
                     encoder=options.encoder, options=options.encoding)


@register_sink("display")
def _window_sink(spec: SinkSpec, options: OutputOptions) -> Sink:
    return WindowSink(view=options.view, hud=options.hud != "off")


@register_sink("http")
def _http_sink(spec: SinkSpec, options: OutputOptions) -> Sink:
    from .http_sink import HttpSink

    return HttpSink(spec.target[0], spec.target[1], options)


@register_sink("rtp")
@register_sink("rtsp")
def _stream_sink(spec: SinkSpec, options: OutputOptions) -> Sink:
    from .stream_sink import StreamSink

    return StreamSink(spec, options)
