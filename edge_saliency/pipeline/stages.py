"""The pipeline's per-frame stages, each a callable on :class:`~.packet.Packet`: :class:`Preprocessor` (frame →
model input), :class:`Inferencer` (a batch through the runner), :class:`Postprocessor` (the map, its statistics
and the views). :class:`~.pipeline.Pipeline` runs each on its own thread; ``edge-saliency bench`` and
benchmarks/pipeline_efficiency.py run them one at a time.
"""
import time
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import numpy as np

from ..errors import UserError
from ..maths.postprocess import blur, heatmap, minmax, overlay_small, resize, to_uint8
from ..maths.preprocess import linear_resize
from ..runners.base import Runner, saliency_maps
from .buffers import FramePool
from .frames import Geometry, TemporalSmoother, map_view, prepare_frame, saliency_stats
from .options import PipelineOptions
from .packet import Packet


class Preprocessor:
    """The pre-processing stage: a frame to the model input with the model's own resize, and its geometry.

    ``frames`` (the runner's :meth:`~.runners.base.Runner.frame_input`): the runner pre-processes uint8 frames on
    the GPU; a frame the mode resizes with ``INTER_LINEAR`` (what the kernel computes) then gets its geometry only,
    ``packet.x`` stays None and the Inferencer hands the frame itself to the runner."""
    def __init__(self, size: Tuple[int, int], letterbox: bool, mode: str, frames: bool = False) -> None:
        self.size, self.letterbox, self.mode, self.frames = size, letterbox, mode, frames

    def __call__(self, packet: Packet) -> Packet:
        frame = packet.frame
        if self.frames and frame.ndim == 3 and frame.shape[2] == 3 and frame.dtype == np.uint8:
            geometry = Geometry.fit(frame.shape[:2], self.size, self.letterbox)
            if linear_resize(self.mode, frame.shape[:2], geometry.content[2:]):
                packet.x, packet.geometry = None, geometry
                return packet
        packet.x, packet.geometry = prepare_frame(frame, self.size, self.mode, self.letterbox, bgr=True)
        return packet


class Inferencer:
    """One batch through the runner: model inputs (``packet.x``) through ``infer``, frames the Preprocessor left to
    the runner (``packet.x`` None) through ``infer_frames`` (a batch mixing both: one call each). ``timed``: through
    the ``*_timed`` calls, their parts (copy-in, infer, copy-out on the runner's clock) kept in :attr:`parts`
    (``edge-saliency bench`` times the frame path with this same step)."""

    def __init__(self, runner: Runner, timed: bool = False) -> None:
        self.runner = runner
        self.timed = timed
        self.parts: Dict[str, Optional[float]] = {}

    def __call__(self, packets: Sequence[Packet]) -> Sequence[Packet]:
        started = time.perf_counter()
        maps: Dict[int, np.ndarray] = {}
        for group in ([p for p in packets if p.x is None], [p for p in packets if p.x is not None]):
            if group:
                out = saliency_maps(self._infer(group))
                if out.shape[0] != len(group):
                    raise UserError("{} returned {} maps for {} frames".format(self.runner.name, out.shape[0],
                                                                               len(group)))
                maps.update(zip((id(p) for p in group), out))
        elapsed = time.perf_counter() - started
        for packet in packets:
            packet.raw, packet.batch, packet.x = maps[id(packet)], len(packets), None
            packet.timings["infer"] = elapsed
        return packets

    def _infer(self, packets: Sequence[Packet]) -> np.ndarray:
        if packets[0].x is None:  # the runner pre-processes the frames (the same model size for every packet)
            frames = [p.frame for p in packets]
            geometries = [p.geometry for p in packets if p.geometry is not None]
            size, boxes = geometries[0].model_size, [g.content for g in geometries]
            if self.timed:
                out, self.parts = self.runner.infer_frames_timed(frames, size, boxes)
                return out
            return self.runner.infer_frames(frames, size, boxes)
        x = packets[0].x if len(packets) == 1 else np.concatenate([p.x for p in packets], axis=0)
        if self.timed:
            out, self.parts = self.runner.infer_timed(x)
            return out
        return self.runner.infer(x)


class Postprocessor:
    """Crop the letterbox, blur, min-max, smooth, statistics — all at the model's output resolution — then the
    views: coloured at that resolution by table lookup, resized once to the frame, blended in uint8
    (docs/performance.md). The uint8 map at frame size is made only when a view or sink needs it (``full_map``).
    ``overlay``: the runner's :meth:`~.runners.base.Runner.frame_overlay` (the overlay view made on the GPU from the
    [0, 1] map at the model's resolution), else the host blend."""

    def __init__(self, options: PipelineOptions, views: Sequence[str], float_map: bool = False,
                 full_map: bool = True, overlay: Optional[Callable[..., Any]] = None) -> None:
        self.options = options
        self.device_overlay = overlay
        self.views = list(views)
        self.float_map = float_map
        self.full_map = full_map or "map" in self.views
        self._heat: Optional[np.ndarray] = None  # the overlay's heat map buffer, reused frame after frame
        self._pool = FramePool()  # the views and maps handed to the sinks, reused once every sink let go of them
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
            packet.map_u8 = resize(small, size, out=self._pool.take(size))
        if self.float_map:
            packet.map_float = resize(np.asarray(saliency, dtype=np.float32), size)
        for view in self.views:
            if view == "overlay" and self.device_overlay is not None and packet.frame.ndim == 3:
                packet.views[view] = self.device_overlay(packet.frame, saliency, options.alpha, options.colormap,
                                                         out=self._pool.take(packet.frame.shape))
            elif view == "overlay":
                packet.views[view] = overlay_small(packet.frame, small, options.alpha, options.colormap,
                                                   out=self._pool.take(packet.frame.shape), work=self._work(packet))
            elif view == "side-by-side":
                heat = heatmap(small, size, options.colormap, out=self._work(packet))
                packet.views[view] = np.concatenate([packet.frame, heat], axis=1,
                                                    out=self._pool.take((size[0], 2 * size[1], 3)))
            else:
                packet.views[view] = map_view(packet.map_u8)
        packet.raw = None
        return packet

    def _work(self, packet: Packet) -> Optional[np.ndarray]:
        """The frame-size heat-map buffer, reused frame after frame (it never leaves this stage); None for a frame
        that is not H×W×3 (the heat map is made fresh)."""
        if packet.frame.ndim != 3 or packet.frame.shape[2] != 3:
            return None
        if self._heat is None or self._heat.shape != packet.frame.shape:
            self._heat = np.empty_like(packet.frame)
        return self._heat
