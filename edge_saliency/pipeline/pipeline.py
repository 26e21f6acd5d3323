"""The streaming pipeline: capture → pre-process → infer → post-process → sinks.

Each stage is a thread joined to the next by a bounded queue, so the pipeline runs at the rate of its
slowest stage (OpenCV, ONNX Runtime, TensorRT and PyTorch release the GIL while they work). Sources that are
files or images keep every frame in order (a full queue blocks the capture: back-pressure); live sources
keep only the newest frame per stream (latest-frame policy: a stale frame is dropped and counted, never
queued). Sinks run on the calling thread (OpenCV windows need it).

Stop: :meth:`Pipeline.stop` ends capture and lets the frames in flight drain, so outputs are complete and
playable; :meth:`Pipeline.abort` drops them. Timing is recorded per stage and end to end.
"""
import logging
import queue
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ..capture.source import Source
from ..config import check_input_size
from ..errors import UserError
from ..files.output_group import OutputGroup
from ..maths.preprocess import DEFAULT_MODE, check_available
from ..outputs.sink import RunInfo, Sink, StreamInfo, needed_views
from ..runners.base import Runner, check_saliency_model
from . import memory
from .feeds import _END, _POLL, AllFrames, Feed, LatestFrames, TrackedQueue, _finish, _get, _put
from .options import PipelineOptions
from .packet import Packet
from .stages import Inferencer, Postprocessor, Preprocessor
from .summary import STAGES, Samples, Summary, _percentiles

log = logging.getLogger("edge_saliency.pipeline")



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
        self.frames_to_runner = runner.frame_input(self.preprocess)  # the GPU pre-processing kernels
        if self.frames_to_runner:
            log.info("pre-processing (%s) on the GPU: %s uploads uint8 frames", self.preprocess, runner.backend)
        live = any(s.live for s in self.sources)
        policy = self.options.policy
        self.latest = policy == "latest" or (policy == "auto" and live)
        self.stop_reason = ""
        self._stop = threading.Event()
        self._abort = threading.Event()
        self._count_lock = threading.Lock()  # the capture threads share the counters
        self._feed: Optional[Feed] = None  # capture -> pre-processing, made when run() starts
        self._queues: Dict[str, Any] = {}  # each stage's output queue (its high-water mark goes in the summary)
        self._errors: List[BaseException] = []
        self._times: Dict[str, Samples] = {s: Samples() for s in STAGES}
        self._latency = Samples()
        self._busy: Dict[str, float] = dict.fromkeys(STAGES, 0.0)  # seconds each stage worked (capture: summed)
        self.captured = 0
        self.frames = 0
        self.batches = 0
        self._fps_ema = 0.0
        self._last_done = 0.0
        self._started = time.perf_counter()  # reset when run() starts

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
        """True once a stop was requested (Ctrl-C, a window closed, a stage failed)."""
        return self._stop.is_set()

    @property
    def dropped(self) -> int:
        """Frames dropped so far because a newer frame of a live source replaced them."""
        return self._feed.dropped if self._feed is not None else 0

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
        """The index, URI, frame size (H, W) and frame rate of every source, as the sinks get them."""
        infos = []
        for index, source in enumerate(self.sources):
            size = source.size or (480, 640)
            infos.append(StreamInfo(index, source.uri, size, float(source.fps or (25.0 if not source.live else 30.0))))
        return infos

    def run_info(self) -> RunInfo:
        """What sinks may show of this run (the live page, /status.json, /metrics)."""
        return RunInfo(model=self.runner.name, backend=self.runner.describe(), precision=self.runner.precision,
                       input_size=self.size, preprocess=self.preprocess, sources=tuple(s.uri for s in self.sources),
                       status=self.live_status, colormap=self.options.colormap, alpha=self.options.alpha)

    def live_status(self) -> Dict[str, Any]:
        """The counters so far, read while the pipeline runs (any thread): frames through the sinks, captured,
        dropped, skipped, the FPS (moving average), busy seconds per stage (cumulative) and seconds since start."""
        return {"frames": self.frames, "captured": self.captured, "dropped": self.dropped,
                "skipped": sum(s.skipped for s in self.sources), "fps": round(self._fps_ema, 3),
                "busy_s": dict(self._busy), "uptime_s": time.perf_counter() - self._started}

    def run(self, on_frame: Optional[Callable[[Packet], None]] = None) -> Summary:
        """Run to the end of the sources (or a stop); the sinks' files are committed together when every sink
        closed cleanly, else none of them is (previous files stay as they were)."""
        views = needed_views(self.sinks)
        float_map = any(s.needs_float_map for s in self.sinks)
        opened: List[Sink] = []
        ok = False
        started = time.perf_counter()
        summary: Optional[Summary] = None
        self._started = started
        run_info = self.run_info()
        try:
            for sink in self.sinks:
                sink.attach(run_info)
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
        if ok and summary.frames == 0 and group.outputs:
            # an output that received no frame never replaces a file (a Ctrl-C during start-up, an empty source)
            log.warning("no frame was finished: nothing written (%s unchanged)",
                        ", ".join(o.path for o in group.outputs))
            ok = False
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
        feed: Feed = LatestFrames(streams) if self.latest else AllFrames(streams, size)
        self._feed = feed
        to_infer = TrackedQueue(max(size, self.batch))
        to_post, to_sinks = TrackedQueue(max(size, self.batch)), TrackedQueue(size)
        self._queues = {"capture": feed, "preprocess": to_infer, "infer": to_post, "postprocess": to_sinks}
        pre = Preprocessor(self.size, self.options.letterbox, self.preprocess, self.frames_to_runner)
        overlay = self.runner.frame_overlay() if "overlay" in views else None
        if overlay is not None:
            log.info("overlay view on the GPU: %s blends the colour map into the frame", self.runner.backend)
        post = Postprocessor(self.options, views, float_map, any(getattr(s, "needs_map_u8", True) for s in self.sinks),
                             overlay)
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
        """The run's :class:`Summary` after ``wall`` seconds."""
        return Summary(
            frames=self.frames,
            captured=self.captured,
            dropped=self.dropped,
            skipped=sum(s.skipped for s in self.sources),
            wall_s=round(max(wall, 0.0), 4),
            stages={name: _percentiles(samples) for name, samples in self._times.items() if samples},
            latency=_percentiles(self._latency),
            batches=self.batches,
            queue_high_water={name: q.high_water for name, q in self._queues.items()},
            busy={name: round(seconds / wall, 4) for name, seconds in self._busy.items()} if wall > 0 else {},
            reconnects=sum(s.reconnects for s in self.sources),
            interrupted=self.stop_reason not in ("", "done"),
            backend=self.runner.describe(),
        )
