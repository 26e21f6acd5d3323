"""The :class:`Packet`: one frame on its way through the pipeline's stages to the sinks.

It lives apart from the pipeline so that sinks (``outputs/sinks.py`` and the network outputs) can name the
type they receive without importing the pipeline that imports them.
"""
import dataclasses
from typing import Any, Dict, List, Optional

import numpy as np

from .frames import Geometry


@dataclasses.dataclass
class Packet:
    """One frame on its way through the stages.

    Sinks read ``stream``, ``index``, ``timestamp``, ``name``, ``frame``, ``wall_time``, ``timings`` (seconds per
    stage, ``total`` = capture to sinks), ``batch``, ``stats`` (peak, bbox, mean), ``map_u8`` (frame size),
    ``map_float`` (only when a sink asked for it), ``views`` (the rendered views the sinks asked for) and ``hud``.
    """

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
