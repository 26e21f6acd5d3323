"""What a pipeline run measured: per-stage timing :class:`Samples` in fixed memory, and the end-of-run
:class:`Summary` (frames, drops, percentiles per stage, busy fractions) that ``run`` prints and the summary
sink writes as JSON."""
import dataclasses
from typing import Any, Dict, List

import numpy as np

STAGES = ("capture", "preprocess", "infer", "postprocess", "output")
SAMPLES = 20000  # timing samples kept per stage (the summary covers the last SAMPLES frames)


class Samples:
    """The last ``size`` timing samples of a stage in a preallocated ring (float64): memory is fixed from the start,
    where a deque of Python floats grows by about 32 bytes per frame until it is full."""

    def __init__(self, size: int = SAMPLES) -> None:
        self._values = np.full(size, np.nan)  # written now: resident from the start, not page by page
        self._next = 0
        self.count = 0

    def append(self, value: float) -> None:
        """Record one value (the oldest goes when the buffer is full)."""
        self._values[self._next] = value
        self._next = (self._next + 1) % len(self._values)
        self.count = min(self.count + 1, len(self._values))

    def values(self) -> np.ndarray:
        """The values recorded (at most the buffer's size)."""
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
        """Frames per second end to end."""
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0

    def to_dict(self) -> Dict[str, Any]:
        """The summary as JSON-ready data (``run --summary-json``)."""
        data = dataclasses.asdict(self)
        data["fps"] = round(self.fps, 3)
        return data

    def lines(self) -> List[str]:
        """The summary as the lines ``run`` prints: totals, then p50 / p90 / busy per stage."""
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
