"""The queues between the pipeline's stages: a bounded queue that records its high-water mark, and the two
feeds from the capture threads to pre-processing — every frame in order (files, images) or only the newest
frame per stream (live sources). Every blocking call wakes every ``_POLL`` seconds to check the abort flag.
"""
import queue
import threading
from typing import Any, Dict, Union

from .packet import Packet

_END = object()
_POLL = 0.05  # seconds between checks of the stop / abort flags while blocked


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
        """Keep ``packet`` as its stream's newest frame, replacing (and counting as dropped) an unread one."""
        with self._cond:
            if packet.stream in self._slots:
                self.dropped += 1
            self._slots[packet.stream] = packet
            self.high_water = max(self.high_water, len(self._slots))
            self._cond.notify()

    def end(self, stream: int, abort: threading.Event) -> None:
        """Mark the end of one stream."""
        with self._cond:
            self._open.discard(stream)
            self._cond.notify()

    def get(self, abort: threading.Event) -> Any:
        """The pending packet captured first (streams hold one each), or the end marker when all ended (or on abort)."""
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
        """The most packets the queue held at once."""
        return self._queue.high_water

    def put(self, packet: Packet, abort: threading.Event) -> None:
        """Queue a packet, waiting for room (files keep every frame)."""
        _put(self._queue, packet, abort)

    def end(self, stream: int, abort: threading.Event) -> None:
        """Mark the end of one stream."""
        _finish(self._queue, abort)

    def get(self, abort: threading.Event) -> Any:
        """The next packet in order, or the end marker once every stream has ended (or on abort)."""
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


Feed = Union[LatestFrames, AllFrames]  # what the capture threads put frames into
