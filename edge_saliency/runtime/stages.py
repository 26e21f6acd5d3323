"""The pipeline's per-frame stages, each a callable on :class:`~.packet.Packet`: :class:`Preprocessor` (frame →
model input), :class:`Inferencer` (a batch through the runner), :class:`Postprocessor` (the map, its statistics
and the views). :class:`~.pipeline.Pipeline` runs each on its own thread; ``edge-saliency bench`` and
benchmarks/pipeline_efficiency.py run them one at a time.
"""
import time
from typing import Sequence, Tuple

import numpy as np

from ..errors import UserError
from .frames import (
    TemporalSmoother,
    blur,
    map_view,
    minmax,
    overlay,
    prepare_frame,
    resize,
    saliency_stats,
    side_by_side,
    to_uint8,
)
from .options import PipelineOptions
from .packet import Packet
from .runners.base import Runner, saliency_maps


class Preprocessor:
    def __init__(self, size: Tuple[int, int], letterbox: bool, mode: str) -> None:
        self.size, self.letterbox, self.mode = size, letterbox, mode

    def __call__(self, packet: Packet) -> Packet:
        packet.x, packet.geometry = prepare_frame(packet.frame, self.size, self.mode, self.letterbox, bgr=True)
        return packet


class Inferencer:
    def __init__(self, runner: Runner) -> None:
        self.runner = runner

    def __call__(self, packets: Sequence[Packet]) -> Sequence[Packet]:
        x = packets[0].x if len(packets) == 1 else np.concatenate([p.x for p in packets], axis=0)
        started = time.perf_counter()
        maps = saliency_maps(self.runner.infer(x))
        elapsed = time.perf_counter() - started
        if maps.shape[0] != len(packets):
            raise UserError("{} returned {} maps for {} frames".format(self.runner.name, maps.shape[0], len(packets)))
        for packet, saliency in zip(packets, maps):
            packet.raw, packet.batch, packet.x = saliency, len(packets), None
            packet.timings["infer"] = elapsed
        return packets


class Postprocessor:
    """Crop the letterbox, blur, min-max, smooth, statistics, then the map at frame size and the views."""

    def __init__(self, options: PipelineOptions, views: Sequence[str], float_map: bool = False) -> None:
        self.options = options
        self.views = list(views)
        self.float_map = float_map
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
        packet.map_u8 = resize(to_uint8(saliency), size)
        if self.float_map:
            packet.map_float = resize(np.asarray(saliency, dtype=np.float32), size)
        for view in self.views:
            if view == "overlay":
                packet.views[view] = overlay(packet.frame, packet.map_u8, options.alpha, options.colormap)
            elif view == "side-by-side":
                packet.views[view] = side_by_side(packet.frame, packet.map_u8, options.colormap)
            else:
                packet.views[view] = map_view(packet.map_u8)
        packet.raw = None
        return packet
