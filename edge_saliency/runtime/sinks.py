"""Where processed frames go (after jetson-utils' ``videoOutput``): a window, a video file, per-frame maps,
JSON lines.

Every file is written through :class:`edge_saliency.atomic.atomic_output`: a video goes to a hidden temp file
beside the target and is renamed when it is complete and finalized, so an interrupted run (Ctrl-C) still
leaves a playable file, and a failed one leaves none. The frame rate and size are the source's.
"""
import dataclasses
import json
import logging
import os
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .._lazy import require
from ..atomic import atomic_output
from ..errors import UserError
from .frames import draw_hud

log = logging.getLogger("edge_saliency.runtime")

VIEWS = ("overlay", "side-by-side", "map")
# container -> a codec every OpenCV/FFmpeg build writes
VIDEO_CODECS = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".mkv": "mp4v", ".avi": "MJPG"}
MAP_FORMATS = ("png", "npy", "both")


def _cv2() -> Any:
    return require("cv2", purpose="video output")


@dataclasses.dataclass
class StreamInfo:
    """What a sink knows of a stream before its first frame."""

    index: int
    uri: str  # masked
    size: Tuple[int, int]  # (H, W) of the source frames
    fps: float


def check_writable(path: str, what: str = "output") -> None:
    """Fail now, with one line, if ``path`` cannot be written (instead of after processing a video)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise UserError("{} {} is a folder; give a file name".format(what, path))
    folder = os.path.dirname(os.path.abspath(path))
    probe = os.path.join(folder, ".{}.probe{}".format(os.path.basename(path), os.getpid()))
    try:
        os.makedirs(folder, exist_ok=True)
        with open(probe, "wb"):
            pass
        os.remove(probe)
    except OSError as exc:
        raise UserError("cannot write {} {}: {}".format(what, path, exc.strerror or exc)) from None


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
    """Base class: ``open(streams)`` before the first frame, ``write(packet)`` per frame, ``close(ok)``."""

    views: Tuple[str, ...] = ()  # rendered views the sink needs (see VIEWS)
    needs_float_map = False  # the float map at frame size (NPY)
    stop_requested = False  # a window's q / Esc

    def open(self, streams: Sequence[StreamInfo]) -> None:
        pass

    def write(self, packet: Any) -> None:
        raise NotImplementedError

    def close(self, ok: bool = True) -> None:
        pass


def video_fourcc(path: str, fourcc: Optional[str] = None) -> str:
    extension = os.path.splitext(path)[1].lower()
    if fourcc:
        if len(fourcc) != 4:
            raise UserError("--fourcc takes four characters (mp4v, MJPG, avc1...), got {!r}".format(fourcc))
        return fourcc
    if extension not in VIDEO_CODECS:
        raise UserError("cannot write video {}: unsupported container '{}'; use {} (or name a codec with "
                        "--fourcc)".format(path, extension or "(no extension)", ", ".join(sorted(VIDEO_CODECS))))
    return VIDEO_CODECS[extension]


class VideoSink(Sink):
    """A video file per stream (overlay, side-by-side or the raw map), at the source's fps and size."""

    def __init__(self, path: str, view: str = "overlay", fourcc: Optional[str] = None, fps: Optional[float] = None,
                 hud: bool = False) -> None:
        if view not in VIEWS:
            raise UserError("--view must be one of {}, got {!r}".format(", ".join(VIEWS), view))
        self.path = os.fspath(path)
        self.view = view
        self.views = (view,)
        self.fourcc = video_fourcc(self.path, fourcc)
        self.fps = fps
        self.hud = hud
        self._writers: Dict[int, Any] = {}
        self._outputs: Dict[int, atomic_output] = {}
        self._sizes: Dict[int, Tuple[int, int]] = {}
        self.frames: Dict[int, int] = {}
        self.paths: Dict[int, str] = {}

    def open(self, streams: Sequence[StreamInfo]) -> None:
        cv2 = _cv2()
        for stream in streams:
            check_writable(stream_path(self.path, stream.index, len(streams)), "output video")
        for stream in streams:
            path = stream_path(self.path, stream.index, len(streams))
            h, w = stream.size
            size = (h, 2 * w) if self.view == "side-by-side" else (h, w)
            output = atomic_output(path)
            tmp = output.__enter__()
            writer = cv2.VideoWriter(tmp, cv2.VideoWriter_fourcc(*self.fourcc), float(self.fps or stream.fps),
                                     (size[1], size[0]))
            if not writer.isOpened():
                output.__exit__(UserError, None, None)
                self.close(ok=False)
                raise UserError("cannot write video {} with codec '{}': this OpenCV/FFmpeg has no encoder for it; "
                                "use .mp4 (mp4v) or .avi (MJPG), or another --fourcc".format(path, self.fourcc))
            self._writers[stream.index], self._outputs[stream.index] = writer, output
            self._sizes[stream.index], self.frames[stream.index], self.paths[stream.index] = size, 0, path

    def write(self, packet: Any) -> None:
        image = packet.views[self.view]
        height, width = self._sizes[packet.stream]
        if image.shape[:2] != (height, width):  # image folders may mix sizes; a video has one
            image = _cv2().resize(image, (width, height), interpolation=_cv2().INTER_AREA)
        if self.hud and packet.hud:
            image = draw_hud(image.copy(), packet.hud)
        self._writers[packet.stream].write(image)
        self.frames[packet.stream] += 1

    def close(self, ok: bool = True) -> None:
        for index, writer in list(self._writers.items()):
            writer.release()  # finalizes the container (an mp4 needs its index written)
            output = self._outputs[index]
            if ok and self.frames.get(index):
                output.__exit__(None, None, None)
            else:
                if ok:
                    log.warning("no frames for %s: not written", self.paths[index])
                output.__exit__(UserError, None, None)
        self._writers.clear()
        self._outputs.clear()


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

    def open(self, streams: Sequence[StreamInfo]) -> None:
        ok, why = display_available()
        if not ok:
            raise UserError("cannot open a window: {}; run with --no-display".format(why))
        for stream in streams:
            self._titles[stream.index] = self.title if len(streams) == 1 else "{} [{}]".format(self.title, stream.uri)

    def write(self, packet: Any) -> None:
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

    def close(self, ok: bool = True) -> None:
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
        self._prefix = False
        self.written = 0

    def open(self, streams: Sequence[StreamInfo]) -> None:
        if os.path.exists(self.folder) and not os.path.isdir(self.folder):
            raise UserError("maps folder {} is a file; give a folder".format(self.folder))
        check_writable(os.path.join(self.folder, "probe"), "maps folder")
        self._prefix = len(streams) > 1

    def name(self, packet: Any) -> str:
        base = packet.name or "frame_{:06d}".format(packet.index)
        return "s{}_{}".format(packet.stream, base) if self._prefix else base

    def write(self, packet: Any) -> None:
        cv2 = _cv2()
        stem = os.path.join(self.folder, self.name(packet))
        if "png" in self.formats:
            with atomic_output(stem + ".png") as tmp:
                if not cv2.imwrite(tmp, packet.map_u8):
                    raise UserError("cannot write {}.png".format(stem))
        if "npy" in self.formats:
            with atomic_output(stem + ".npy") as tmp:
                np.save(tmp, packet.map_float)
        self.written += 1


def frame_record(packet: Any, threshold: float) -> Dict[str, Any]:
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


class JsonLinesSink(Sink):
    """One JSON object per frame: stream, frame index, timestamp (s), wall_time, size [W, H], peak {x, y,
    value}, bbox [x0, y0, x1, y1] of the most salient region, mean, threshold, batch, latency_ms per stage."""

    def __init__(self, path: str, threshold: float = 0.5) -> None:
        self.path = os.fspath(path)
        self.threshold = threshold
        self._output: Optional[atomic_output] = None
        self._file: Any = None
        self.records = 0

    def open(self, streams: Sequence[StreamInfo]) -> None:
        check_writable(self.path, "JSON-lines file")
        self._output = atomic_output(self.path)
        self._file = open(self._output.__enter__(), "w", encoding="utf-8")

    def write(self, packet: Any) -> None:
        self._file.write(json.dumps(frame_record(packet, self.threshold), separators=(",", ":")) + "\n")
        self.records += 1

    def close(self, ok: bool = True) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
            assert self._output is not None
            self._output.__exit__(None if ok else UserError, None, None)


def needed_views(sinks: Sequence[Sink]) -> List[str]:
    views: List[str] = []
    for sink in sinks:
        views += [v for v in sink.views if v not in views]
    return views
