"""What every output shares: the :class:`Sink` interface, what a sink knows of the run and its streams, the
options of the outputs, and the per-frame views and records."""
import dataclasses
import errno
import os
import re
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .._lazy import require
from ..errors import UserError
from ..files.atomic import atomic_output, write_blocked
from ..files.output_group import OutputGroup
from ..pipeline.frames import draw_hud
from ..pipeline.packet import Packet
from .encoder import EncoderOptions

VIEWS = ("overlay", "side-by-side", "map")


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
    if output.stream:  # a device, FIFO or socket written in place: no file to grow
        return
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


def check_fps(fps: Optional[float], flag: str = "--fps") -> None:
    """UserError unless ``fps`` is None or a positive frame rate."""
    if fps is not None and not (0.0 < fps < 1e6):  # also refuses NaN
        raise UserError("{} must be a positive number of frames per second (e.g. 25), got {}".format(flag, fps))


def video_frame(packet: Packet, view: str, size: Tuple[int, int], hud: bool) -> np.ndarray:
    """The ``view`` of ``packet`` at ``size`` (H, W) — image folders may mix sizes; a video has one — with the
    HUD burnt in when ``hud``."""
    image = packet.views[view]
    if image.shape[:2] != tuple(size):
        image = _cv2().resize(image, (size[1], size[0]), interpolation=_cv2().INTER_AREA)
    if hud and packet.hud:
        image = draw_hud(image.copy(), packet.hud)
    return image


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


def needed_views(sinks: Sequence[Sink]) -> List[str]:
    """The views (overlay, map, side-by-side) the sinks need, in order, each once."""
    views: List[str] = []
    for sink in sinks:
        views += [v for v in sink.views if v not in views]
    return views


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
