"""The pipeline's per-frame stages, each a callable on :class:`~.packet.Packet`: :class:`Preprocessor` (frame →
model input), :class:`Inferencer` (a batch through the runner), :class:`Postprocessor` (the map, its statistics
and the views). :class:`~.pipeline.Pipeline` runs each on its own thread; ``edge-saliency bench`` and
benchmarks/pipeline_efficiency.py run them one at a time.
"""
import time
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from ..errors import UserError
from .buffers import FramePool
from .frames import (
    TemporalSmoother,
    blur,
    heatmap,
    map_view,
    minmax,
    overlay_small,
    prepare_frame,
    resize,
    saliency_stats,
    to_uint8,
)
from .options import PipelineOptions
from .packet import Packet
from .runners.base import Runner, saliency_maps


class Preprocessor:
    """The pre-processing stage: a frame to the model input with the model's own resize, and its geometry."""
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
            if view == "overlay":
                if self._heat is None or self._heat.shape != packet.frame.shape:
                    self._heat = np.empty_like(packet.frame)
                packet.views[view] = overlay_small(packet.frame, small, options.alpha, options.colormap,
                                                   out=self._pool.take(packet.frame.shape), work=self._heat)
            elif view == "side-by-side":
                packet.views[view] = np.concatenate([packet.frame, heatmap(small, size, options.colormap)], axis=1,
                                                    out=self._pool.take((size[0], 2 * size[1], 3)))
            else:
                packet.views[view] = map_view(packet.map_u8)
        packet.raw = None
        return packet
