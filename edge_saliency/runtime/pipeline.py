"""The streaming pipeline: capture → pre-process → infer → post-process → sinks.

Each stage is a thread joined to the next by a bounded queue, so the pipeline runs at the rate of its
slowest stage (OpenCV, ONNX Runtime, TensorRT and PyTorch release the GIL while they work). Sources that are
files or images keep every frame in order (a full queue blocks the capture: back-pressure); live sources
keep only the newest frame per stream (latest-frame policy: a stale frame is dropped and counted, never
queued). Sinks run on the calling thread (OpenCV windows need it).

Stop: :meth:`Pipeline.stop` ends capture and lets the frames in flight drain, so outputs are complete and
playable; :meth:`Pipeline.abort` drops them. Timing is recorded per stage and end to end.
"""
import dataclasses
import logging
import queue
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..atomic import OutputGroup
from ..config import check_input_size
from ..errors import UserError
from ..preprocess import DEFAULT_MODE, check_available, check_mode
from . import memory
from .frames import (
    OFFICIAL_SIGMA,
    Geometry,
    TemporalSmoother,
    blur,
    check_colormap,
    heatmap,
    map_view,
    minmax,
    overlay_small,
    prepare_frame,
    resize,
    saliency_stats,
    to_uint8,
)
from .runners.base import Runner, check_saliency_model, saliency_maps
from .sinks import Sink, StreamInfo, needed_views
from .sources import Source

log = logging.getLogger("edge_saliency.runtime")

STAGES = ("capture", "preprocess", "infer", "postprocess", "output")
POLICIES = ("auto", "latest", "all")
HUD_MODES = ("auto", "on", "off")
SAMPLES = 20000  # timing samples kept per stage (the summary covers the last SAMPLES frames)
_END = object()
_POLL = 0.05  # seconds between checks of the stop / abort flags while blocked


@dataclasses.dataclass
class PipelineOptions:
    size: Optional[Tuple[int, int]] = None  # model input (h, w) for models with a dynamic size
    letterbox: bool = False  # keep the aspect ratio (pad) instead of stretching like the official model
    preprocess: Optional[str] = None  # how frames are resized (edge_saliency.preprocess); None: the model's own
    blur_sigma: float = OFFICIAL_SIGMA  # px at 480×640; 0: off
    minmax: bool = True
    smooth: float = 1.0  # EMA weight of the new frame; 1: off
    threshold: float = 0.5  # most-salient-region threshold, fraction of the peak
    colormap: str = "jet"
    alpha: float = 0.5
    batch: Optional[int] = None  # frames per inference; None: the model's static batch, else 1
    queue_size: int = 2
    policy: str = "auto"  # auto: latest for live sources, all for files / images
    max_frames: Optional[int] = None  # per source
    hud: str = "auto"  # auto: on in windows only; on: also burnt into videos; off

    def validate(self) -> None:
        if self.policy not in POLICIES:
            raise UserError("--policy must be one of {}, got {!r}".format(", ".join(POLICIES), self.policy))
        if self.hud not in HUD_MODES:
            raise UserError("--hud must be one of {}, got {!r}".format(", ".join(HUD_MODES), self.hud))
        if self.queue_size < 1:
            raise UserError("--queue-size must be at least 1, got {}".format(self.queue_size))
        if self.batch is not None and self.batch < 1:
            raise UserError("--batch must be at least 1, got {}".format(self.batch))
        if self.max_frames is not None and self.max_frames < 1:
            raise UserError("--max-frames must be at least 1, got {}".format(self.max_frames))
        if not 0.0 < self.threshold <= 1.0:
            raise UserError("--threshold must be in (0, 1], got {}".format(self.threshold))
        if self.blur_sigma < 0:
            raise UserError("--blur must be >= 0 (0 turns it off), got {}".format(self.blur_sigma))
        if not 0.0 <= self.alpha <= 1.0:
            raise UserError("--alpha must be in [0, 1], got {}".format(self.alpha))
        if self.preprocess is not None:
            check_mode(self.preprocess)
        check_colormap(self.colormap)
        TemporalSmoother(self.smooth)


@dataclasses.dataclass
class Packet:
    """One frame on its way through the stages."""

    stream: int
    index: int
    timestamp: float
    name: Optional[str]
    frame: np.ndarray  # BGR uint8
    t_capture: float  # perf_counter when capture finished
    wall_time: float  # time.time() at capture
    timings: Dict[str, float] = dataclasses.field(default_factory=dict)
    x: Optional[np.ndarray] = None
    geometry: Optional[Geometry] = None
    raw: Optional[np.ndarray] = None  # model output map, model size
    batch: int = 1
    saliency: Optional[np.ndarray] = None  # final [0, 1] map over the frame's content, model resolution
    stats: Dict[str, Any] = dataclasses.field(default_factory=dict)
    map_u8: Optional[np.ndarray] = None  # frame size
    map_float: Optional[np.ndarray] = None  # frame size, only when a sink needs it
    views: Dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    hud: List[str] = dataclasses.field(default_factory=list)


class TrackedQueue(queue.Queue):
    """A bounded queue that remembers its high-water mark."""

    def __init__(self, maxsize: int) -> None:
        super().__init__(maxsize)
        self.high_water = 0

    def _put(self, item: Any) -> None:
        super()._put(item)
        self.high_water = max(self.high_water, self._qsize())


class LatestFrames:
    """The latest-frame policy: one slot per stream; a new frame replaces an unread one (a drop)."""

    def __init__(self, streams: int) -> None:
        self._cond = threading.Condition()
        self._slots: Dict[int, Any] = {}
        self._open = set(range(streams))
        self.dropped = 0
        self.high_water = 0

    def put(self, packet: Packet, abort: threading.Event) -> None:
        with self._cond:
            if packet.stream in self._slots:
                self.dropped += 1
            self._slots[packet.stream] = packet
            self.high_water = max(self.high_water, len(self._slots))
            self._cond.notify()

    def end(self, stream: int, abort: threading.Event) -> None:
        with self._cond:
            self._open.discard(stream)
            self._cond.notify()

    def get(self, abort: threading.Event) -> Any:
        with self._cond:
            while not self._slots:
                if not self._open or abort.is_set():
                    return _END
                self._cond.wait(_POLL)
            stream = min(self._slots, key=lambda s: self._slots[s].t_capture)
            return self._slots.pop(stream)


class AllFrames:
    """Every frame, in order per stream: a bounded queue whose full state blocks the capture threads."""

    def __init__(self, streams: int, size: int) -> None:
        self._queue = TrackedQueue(size)
        self._open = streams
        self.dropped = 0

    @property
    def high_water(self) -> int:
        return self._queue.high_water

    def put(self, packet: Packet, abort: threading.Event) -> None:
        _put(self._queue, packet, abort)

    def end(self, stream: int, abort: threading.Event) -> None:
        _finish(self._queue, abort)

    def get(self, abort: threading.Event) -> Any:
        while True:
            item = _get(self._queue, abort)
            if item is not _END:
                return item
            self._open -= 1
            if self._open <= 0 or abort.is_set():
                return _END


def _put(q: "queue.Queue[Any]", item: Any, abort: threading.Event) -> None:
    while not abort.is_set():
        try:
            q.put(item, timeout=_POLL)
            return
        except queue.Full:
            continue


def _finish(q: "queue.Queue[Any]", abort: threading.Event) -> None:
    """Put the end marker, even into a full queue whose reader stopped after an abort."""
    while True:
        try:
            q.put(_END, timeout=_POLL)
            return
        except queue.Full:
            if abort.is_set():
                try:
                    q.get_nowait()
                except queue.Empty:
                    pass


def _get(q: "queue.Queue[Any]", abort: threading.Event) -> Any:
    while True:
        try:
            return q.get(timeout=_POLL)
        except queue.Empty:
            if abort.is_set():
                return _END


# -- stages (also run one at a time by benchmarks/pipeline_efficiency.py) --------------------------------


class Preprocessor:
    def __init__(self, size: Tuple[int, int], letterbox: bool, mode: str) -> None:
        self.size, self.letterbox, self.mode = size, letterbox, mode

    def __call__(self, packet: Packet) -> Packet:
        packet.x, packet.geometry = prepare_frame(packet.frame, self.size, self.mode, self.letterbox, bgr=True)
        return packet


class Inferencer:
    """One batch through the runner. ``timed``: through ``infer_timed``, its parts (copy-in, infer, copy-out on the
    runner's clock) kept in :attr:`parts` (``edge-saliency bench`` times the frame path with this same step)."""

    def __init__(self, runner: Runner, timed: bool = False) -> None:
        self.runner = runner
        self.timed = timed
        self.parts: Dict[str, Optional[float]] = {}

    def __call__(self, packets: Sequence[Packet]) -> Sequence[Packet]:
        x = packets[0].x if len(packets) == 1 else np.concatenate([p.x for p in packets], axis=0)
        started = time.perf_counter()
        if self.timed:
            out, self.parts = self.runner.infer_timed(x)
        else:
            out = self.runner.infer(x)
        maps = saliency_maps(out)
        elapsed = time.perf_counter() - started
        if maps.shape[0] != len(packets):
            raise UserError("{} returned {} maps for {} frames".format(self.runner.name, maps.shape[0], len(packets)))
        for packet, saliency in zip(packets, maps):
            packet.raw, packet.batch, packet.x = saliency, len(packets), None
            packet.timings["infer"] = elapsed
        return packets


class Postprocessor:
    """Crop the letterbox, blur, min-max, smooth, statistics — all at the model's output resolution — then the
    views: coloured at that resolution by table lookup, resized once to the frame, blended in uint8
    (docs/performance.md). The uint8 map at frame size is made only when a view or sink needs it (``full_map``)."""

    def __init__(self, options: PipelineOptions, views: Sequence[str], float_map: bool = False,
                 full_map: bool = True) -> None:
        self.options = options
        self.views = list(views)
        self.float_map = float_map
        self.full_map = full_map or "map" in self.views
        self._heat: Optional[np.ndarray] = None  # the overlay's heat map buffer, reused frame after frame
        self.smoother = TemporalSmoother(options.smooth)

    def __call__(self, packet: Packet) -> Packet:
        options = self.options
        assert packet.raw is not None and packet.geometry is not None
        saliency = packet.geometry.crop(packet.raw)
        if packet.raw.shape != packet.geometry.model_size:
            raise UserError("the model returned {}x{} maps for {}x{} inputs; edge-saliency needs maps of the input "
                            "size".format(*packet.raw.shape, *packet.geometry.model_size))
        if options.blur_sigma > 0:
            saliency = blur(saliency, options.blur_sigma)
        if options.minmax:
            saliency = minmax(saliency)
        saliency = self.smoother(packet.stream, saliency)
        packet.saliency = saliency
        packet.stats = saliency_stats(saliency, packet.geometry, options.threshold)
        size = packet.frame.shape[:2]
        small = to_uint8(saliency)
        if self.full_map:
            packet.map_u8 = resize(small, size)
        if self.float_map:
            packet.map_float = resize(np.asarray(saliency, dtype=np.float32), size)
        for view in self.views:
            if view == "overlay":
                if self._heat is None or self._heat.shape != packet.frame.shape:
                    self._heat = np.empty_like(packet.frame)
                packet.views[view] = overlay_small(packet.frame, small, options.alpha, options.colormap,
                                                   work=self._heat)
            elif view == "side-by-side":
                packet.views[view] = np.concatenate([packet.frame, heatmap(small, size, options.colormap)], axis=1)
            else:
                packet.views[view] = map_view(packet.map_u8)
        packet.raw = None
        return packet


# -- summary ---------------------------------------------------------------------------------------------


class Samples:
    """The last ``size`` timing samples of a stage in a preallocated ring (float64): memory is fixed from the start,
    where a deque of Python floats grows by about 32 bytes per frame until it is full."""

    def __init__(self, size: int = SAMPLES) -> None:
        self._values = np.full(size, np.nan)  # written now: resident from the start, not page by page
        self._next = 0
        self.count = 0

    def append(self, value: float) -> None:
        self._values[self._next] = value
        self._next = (self._next + 1) % len(self._values)
        self.count = min(self.count + 1, len(self._values))

    def values(self) -> np.ndarray:
        return self._values[:self.count] if self.count < len(self._values) else self._values

    def __len__(self) -> int:
        return self.count


def _percentiles(samples: Any) -> Dict[str, float]:
    if isinstance(samples, Samples):
        samples = samples.values()
    if not len(samples):
        return {"p50_ms": 0.0, "p90_ms": 0.0, "mean_ms": 0.0}
    values = np.asarray(samples, dtype=np.float64) * 1000.0
    return {"p50_ms": round(float(np.percentile(values, 50)), 3), "p90_ms": round(float(np.percentile(values, 90)), 3),
            "mean_ms": round(float(values.mean()), 3)}


@dataclasses.dataclass
class Summary:
    frames: int  # through the sinks
    captured: int
    dropped: int  # stale frames of live sources replaced by newer ones
    skipped: int  # unreadable images / undecodable frames
    wall_s: float
    stages: Dict[str, Dict[str, float]]
    latency: Dict[str, float]  # capture to sinks
    batches: int
    queue_high_water: Dict[str, int]
    busy: Dict[str, float] = dataclasses.field(default_factory=dict)  # fraction of the wall time each stage worked
    reconnects: int = 0
    interrupted: bool = False
    backend: str = ""

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0

    def to_dict(self) -> Dict[str, Any]:
        data = dataclasses.asdict(self)
        data["fps"] = round(self.fps, 3)
        return data

    def lines(self) -> List[str]:
        head = "{} frames in {:.1f} s: {:.1f} FPS end to end; captured {}, dropped {}, skipped {}".format(
            self.frames, self.wall_s, self.fps, self.captured, self.dropped, self.skipped)
        if self.batches and self.frames:
            head += ", mean batch {:.1f}".format(self.frames / self.batches)
        if self.reconnects:
            head += ", reconnects {}".format(self.reconnects)
        if self.interrupted:
            head += " (stopped early)"
        rows = [head, "  {:<12} {:>9} {:>9} {:>6}".format("stage", "p50 ms", "p90 ms", "busy")]
        for name in STAGES:
            stats = self.stages.get(name)
            if stats:
                rows.append("  {:<12} {:>9.2f} {:>9.2f} {:>5.0f}%".format(name, stats["p50_ms"], stats["p90_ms"],
                                                                         100.0 * self.busy.get(name, 0.0)))
        rows.append("  {:<12} {:>9.2f} {:>9.2f}".format("end to end", self.latency["p50_ms"], self.latency["p90_ms"]))
        return rows


# -- the pipeline ------------------------------------------------------------------------------------------


class Pipeline:
    """``Pipeline(sources, runner, sinks, options).run()`` → :class:`Summary`.

    ``sources`` are open; ``runner`` is active (activate it first so that model errors come before any
    thread starts); sinks are opened and closed here.
    """

    def __init__(self, sources: Sequence[Source], runner: Runner, sinks: Sequence[Sink],
                 options: Optional[PipelineOptions] = None) -> None:
        self.sources = list(sources)
        self.runner = runner
        self.sinks = list(sinks)
        self.options = options or PipelineOptions()
        self.options.validate()
        if not self.sources:
            raise UserError("no source to read")
        if not runner.is_active:
            raise UserError("activate the runner before building the pipeline")
        check_saliency_model(runner)
        self.size = self._model_size()
        self.batch = self._batch()
        config = runner.model_config
        memory.check_memory(self.size, self.batch, runner.name,
                            memory.model_bytes_per_pixel(config) if config is not None and runner.on_host else 0.0,
                            made_for=self.runner.preferred_size)
        # the model's own pre-processing (its sidecar), unless the options ask for another (e.g. faster) one
        self.preprocess = check_available(self.options.preprocess or runner.preprocess or DEFAULT_MODE)
        live = any(s.live for s in self.sources)
        policy = self.options.policy
        self.latest = policy == "latest" or (policy == "auto" and live)
        self.stop_reason = ""
        self._stop = threading.Event()
        self._abort = threading.Event()
        self._errors: List[BaseException] = []
        self._times: Dict[str, Samples] = {s: Samples() for s in STAGES}
        self._latency = Samples()
        self._busy: Dict[str, float] = dict.fromkeys(STAGES, 0.0)  # seconds each stage worked (capture: summed)
        self.captured = 0
        self.frames = 0
        self.batches = 0
        self._fps_ema = 0.0
        self._last_done = 0.0

    def _model_size(self) -> Tuple[int, int]:
        fixed = self.runner.fixed_size
        wanted = self.options.size
        if fixed is not None:
            if wanted is not None and tuple(wanted) != fixed:
                raise UserError("{} has a fixed input size {}x{}; --size {}x{} differs: drop --size or export the "
                                "model at that size".format(self.runner.name, fixed[0], fixed[1], *wanted))
            return fixed
        size = wanted or self.runner.preferred_size
        if size is None:
            raise UserError("{} takes any input size: give one with --size HxW (e.g. 256x320)".format(self.runner.name))
        if wanted is not None and self.runner.model_config is not None:  # EML-Net: the encoders' stride
            check_input_size(wanted, 32, hint=" (--size {}x{}: {} is an EML-Net model, whose input sides are "
                                             "multiples of 32)".format(wanted[0], wanted[1], self.runner.name))
        made = self.runner.preferred_size
        if wanted is not None and made and wanted[0] * wanted[1] > 16 * made[0] * made[1]:
            log.warning("input %dx%d has %.0fx the pixels of %s's own size %dx%d: expect about that much more time "
                        "and memory per frame", wanted[0], wanted[1], wanted[0] * wanted[1] / (made[0] * made[1]),
                        self.runner.name, made[0], made[1])
        return int(size[0]), int(size[1])

    def _batch(self) -> int:
        runner, wanted = self.runner, self.options.batch
        if wanted is None:
            return runner.max_batch if runner.static_batch and runner.max_batch else 1
        if runner.max_batch is not None and wanted > runner.max_batch:
            raise UserError("{} takes batches of at most {}; --batch {} needs a model exported with a dynamic or "
                            "larger batch".format(runner.name, runner.max_batch, wanted))
        return wanted

    # -- control --------------------------------------------------------------------------------------
    def stop(self, reason: str = "stopped") -> None:
        """End capture now; frames already captured still reach the sinks."""
        if not self._stop.is_set():
            self.stop_reason = reason
            self._stop.set()
            for source in self.sources:
                source.stop_event.set()

    def abort(self) -> None:
        """Stop every stage now; frames in flight are dropped (outputs are still closed properly)."""
        self.stop(self.stop_reason or "aborted")
        self._abort.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def dropped(self) -> int:
        feed = getattr(self, "_feed", None)
        return feed.dropped if feed is not None else 0

    def _fail(self, exc: BaseException) -> None:
        self._errors.append(exc)
        self.abort()

    # -- threads --------------------------------------------------------------------------------------
    def _capture(self, stream: int, source: Source, feed: Any) -> None:
        limit = self.options.max_frames
        count = 0
        try:
            while not self._stop.is_set() and (limit is None or count < limit):
                started = time.perf_counter()
                frame = source.read()
                done = time.perf_counter()
                if frame is None:
                    break
                packet = Packet(stream, frame.index, frame.timestamp, frame.name, frame.image, done, time.time())
                packet.timings["capture"] = done - started
                count += 1
                with self._count_lock:
                    self.captured += 1
                    self._busy["capture"] += done - started
                feed.put(packet, self._abort)
        except BaseException as exc:  # noqa: B902 (report anything, including KeyboardInterrupt in a thread)
            self._fail(exc)
        finally:
            feed.end(stream, self._abort)

    def _stage(self, name: str, function: Callable[[Packet], Packet], get: Callable[[], Any],
               out: TrackedQueue) -> None:
        try:
            while True:
                packet = get()
                if packet is _END:
                    break
                started = time.perf_counter()
                function(packet)
                packet.timings[name] = time.perf_counter() - started
                self._busy[name] += packet.timings[name]
                _put(out, packet, self._abort)
        except BaseException as exc:  # noqa: B902
            self._fail(exc)
        finally:
            _finish(out, self._abort)

    def _infer(self, inbox: TrackedQueue, out: TrackedQueue) -> None:
        inferencer = Inferencer(self.runner)
        ended = False
        try:
            while not ended:
                first = _get(inbox, self._abort)
                if first is _END:
                    break
                batch = [first]
                while len(batch) < self.batch:
                    try:  # files: wait for a full batch; live: take what is there now (fresh frames only)
                        item = inbox.get(timeout=_POLL) if not self.latest else inbox.get_nowait()
                    except queue.Empty:
                        if self.latest or self._abort.is_set():
                            break
                        continue
                    if item is _END:
                        ended = True
                        break
                    batch.append(item)
                inferencer(batch)
                self._busy["infer"] += batch[0].timings["infer"]
                self.batches += 1
                for packet in batch:
                    _put(out, packet, self._abort)
        except BaseException as exc:  # noqa: B902
            self._fail(exc)
        finally:
            _finish(out, self._abort)

    # -- main loop ------------------------------------------------------------------------------------
    def stream_infos(self) -> List[StreamInfo]:
        infos = []
        for index, source in enumerate(self.sources):
            size = source.size or (480, 640)
            infos.append(StreamInfo(index, source.uri, size, float(source.fps or (25.0 if not source.live else 30.0))))
        return infos

    def run(self, on_frame: Optional[Callable[[Packet], None]] = None) -> Summary:
        """Run to the end of the sources (or a stop); the sinks' files are committed together when every sink
        closed cleanly, else none of them is (previous files stay as they were)."""
        views = needed_views(self.sinks)
        float_map = any(s.needs_float_map for s in self.sinks)
        opened: List[Sink] = []
        ok = False
        started = time.perf_counter()
        summary: Optional[Summary] = None
        try:
            for sink in self.sinks:
                sink.open(self.stream_infos())
                opened.append(sink)
            started = time.perf_counter()
            self._run_threads(views, float_map, on_frame)
            ok = not self._errors
        except KeyboardInterrupt:
            self.abort()
            ok = True  # what was written is valid; finish the files
            raise
        except BaseException as exc:
            self._errors.append(exc)
        finally:
            self._abort.set()
            for sink in opened:
                try:
                    sink.finish(ok=ok)
                except Exception as exc:  # close the others anyway
                    self._errors.append(exc)
                    ok = False
            wall = (self._last_done or time.perf_counter()) - started
            summary = self.summary(wall)
            self._commit(opened, summary, ok)
        if self._errors:
            raise memory.explain(self._errors[0], self.size, self.batch, self.runner.name, self.runner.preferred_size)
        return summary

    def _commit(self, sinks: Sequence[Sink], summary: "Summary", ok: bool) -> None:
        """All the sinks' finished files renamed together, or (after any failure) all removed."""
        try:
            if ok:
                for sink in sinks:
                    sink.summarize(summary)
        except Exception as exc:
            self._errors.append(exc)
            ok = False
        group = OutputGroup([output for sink in sinks for output in sink.finished()])
        if not ok:
            group.discard()
            return
        try:
            group.commit()  # on failure it has put back the previous files and removed every temp file
        except Exception as exc:
            self._errors.append(exc)

    def _run_threads(self, views: Sequence[str], float_map: bool, on_frame: Optional[Callable[[Packet], None]]) -> None:
        size = self.options.queue_size
        streams = len(self.sources)
        feed: Any = LatestFrames(streams) if self.latest else AllFrames(streams, size)
        self._feed = feed
        self._count_lock = threading.Lock()
        to_infer = TrackedQueue(max(size, self.batch))
        to_post, to_sinks = TrackedQueue(max(size, self.batch)), TrackedQueue(size)
        self._queues = {"capture": feed, "preprocess": to_infer, "infer": to_post, "postprocess": to_sinks}
        pre = Preprocessor(self.size, self.options.letterbox, self.preprocess)
        post = Postprocessor(self.options, views, float_map, any(getattr(s, "needs_map_u8", True) for s in self.sinks))
        threads = [threading.Thread(target=self._capture, args=(i, s, feed), name="capture-{}".format(i), daemon=True)
                   for i, s in enumerate(self.sources)]
        threads += [
            threading.Thread(target=self._stage, args=("preprocess", pre, lambda: feed.get(self._abort), to_infer),
                             name="preprocess", daemon=True),
            threading.Thread(target=self._infer, args=(to_infer, to_post), name="infer", daemon=True),
            threading.Thread(target=self._stage, args=("postprocess", post, lambda: _get(to_post, self._abort),
                                                       to_sinks), name="postprocess", daemon=True),
        ]
        for thread in threads:
            thread.start()
        try:
            self._sink_loop(to_sinks, on_frame)
        except BaseException:
            self.abort()  # a sink failed (disk full...): the other stages stop now instead of filling the queues
            raise
        finally:
            self.abort() if self._errors else self.stop(self.stop_reason or "done")
            for thread in threads:
                thread.join(timeout=10.0)
                if thread.is_alive():
                    log.warning("pipeline thread %s did not finish", thread.name)

    def _sink_loop(self, inbox: TrackedQueue, on_frame: Optional[Callable[[Packet], None]]) -> None:
        hud = self.options.hud != "off"
        while True:
            packet = _get(inbox, self._abort)
            if packet is _END:
                return
            if hud:
                packet.hud = self._hud_lines(packet)
            started = time.perf_counter()
            packet.timings["total"] = started - packet.t_capture + packet.timings.get("capture", 0.0)
            for sink in self.sinks:
                sink.write(packet)
            done = time.perf_counter()
            packet.timings["output"] = done - started
            self._busy["output"] += done - started
            self._record(packet, done)
            if on_frame is not None:
                on_frame(packet)
            if any(sink.stop_requested for sink in self.sinks):
                self.stop("window closed")

    def _hud_lines(self, packet: Packet) -> List[str]:
        infer = packet.timings.get("infer", 0.0) * 1000.0
        total = (time.perf_counter() - packet.t_capture) * 1000.0
        return ["{:.1f} FPS  latency {:.0f} ms".format(self._fps_ema, total),
                "{} {:.1f} ms{}".format(self.runner.backend, infer,
                                        "  batch {}".format(packet.batch) if packet.batch > 1 else "")]

    def _record(self, packet: Packet, done: float) -> None:
        for name in STAGES:
            if name in packet.timings:
                self._times[name].append(packet.timings[name])
        self._latency.append(done - packet.t_capture + packet.timings.get("capture", 0.0))
        if self._last_done:
            rate = 1.0 / max(done - self._last_done, 1e-6)
            self._fps_ema = rate if not self._fps_ema else 0.9 * self._fps_ema + 0.1 * rate
        self._last_done = done
        self.frames += 1

    def summary(self, wall: float) -> Summary:
        queues = getattr(self, "_queues", {})
        return Summary(
            frames=self.frames,
            captured=self.captured,
            dropped=self.dropped,
            skipped=sum(s.skipped for s in self.sources),
            wall_s=round(max(wall, 0.0), 4),
            stages={name: _percentiles(samples) for name, samples in self._times.items() if samples},
            latency=_percentiles(self._latency),
            batches=self.batches,
            queue_high_water={name: q.high_water for name, q in queues.items()},
            busy={name: round(seconds / wall, 4) for name, seconds in self._busy.items()} if wall > 0 else {},
            reconnects=sum(s.reconnects for s in self.sources),
            interrupted=self.stop_reason not in ("", "done"),
            backend=self.runner.describe(),
        )
