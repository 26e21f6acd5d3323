"""Frame-size image buffers reused from frame to frame (:class:`FramePool`).

A 1920×1080 BGR image is 6 MB. Allocated fresh for every frame (what OpenCV does for each decoded frame and each
output it creates), every one of its ~1500 pages faults the first time it is written, and the kernel zeroes each:
on the machines measured that cost 10–20 ms per 1080p image, more than the work done on it (docs/performance.md).
A pool hands out buffers that nobody holds any more, so in a steady stream no new memory is touched.

numpy only; Python 3.8.
"""
import sys
import threading
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np


def _first_idle(kept: List[np.ndarray], idle: int) -> Optional[np.ndarray]:
    """The first of ``kept`` that has at most ``idle`` references (counted inside this loop)."""
    for buffer in kept:
        if sys.getrefcount(buffer) <= idle:
            return buffer
    return None


def _idle_refs() -> int:
    """The count :func:`_first_idle` sees for an array held by its list alone (the list, the loop variable and
    getrefcount's argument: 3 on CPython 3.8-3.13; measured, as newer interpreters may borrow references)."""
    lone = [np.empty(1)]
    return next(n for n in range(1, 16) if _first_idle(lone, n) is not None)


_IDLE_REFS = _idle_refs()


class FramePool:
    """``take(shape)`` → a uint8 array of that shape that no one else references (reused, else new).

    A buffer goes back to the pool by itself when the last reference outside the pool is gone (the packet
    that carried it was written by every sink and dropped): a sink that keeps an image (the HTTP server's
    latest frame) keeps it out of the pool. ``limit`` buffers per shape at most are kept; past that (a
    consumer holding many frames), :meth:`take` allocates without keeping.
    """

    def __init__(self, limit: int = 16, dtype: type = np.uint8) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1, got {}".format(limit))
        self.limit = int(limit)
        self.dtype = np.dtype(dtype)
        self._buffers: Dict[Tuple[int, ...], List[np.ndarray]] = {}
        self._lock = threading.Lock()  # take() may be called from several capture threads
        self.allocated = 0  # buffers made so far (kept or not): a steady stream stops this growing

    def take(self, shape: Sequence[int]) -> np.ndarray:
        """An array of ``shape`` (contents undefined) that nothing outside the pool references."""
        key = tuple(int(s) for s in shape)
        with self._lock:
            kept = self._buffers.setdefault(key, [])
            buffer = _first_idle(kept, _IDLE_REFS)
            if buffer is not None:
                return buffer
            buffer = np.empty(key, dtype=self.dtype)
            self.allocated += 1
            if len(kept) < self.limit:
                kept.append(buffer)
            return buffer

    def clear(self) -> None:
        """Forget every kept buffer (those still in use stay valid for their holders)."""
        with self._lock:
            self._buffers.clear()
