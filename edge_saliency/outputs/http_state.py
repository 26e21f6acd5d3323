"""What the http output's endpoints show, fed by the sink thread: the newest JPEG of each feed, the per-frame
records, latency histograms and counters."""
import collections
import ipaddress
import json
import threading
import time
from typing import Any, Deque, Dict, List, Tuple

from ..pipeline.packet import Packet
from .prometheus import Histogram
from .sink import RunInfo, frame_record

LATENCY_STAGES = ("capture", "preprocess", "infer", "postprocess", "total")


BUSY_STAGES = ("capture", "preprocess", "infer", "postprocess", "output")


FEEDS = {"/stream.mjpg": "overlay", "/map.mjpg": "map"}


RECORDS_KEPT = 256  # per-frame records an events client may lag behind before it skips to the newest


SEND_BUFFER = 256 * 1024  # bytes queued per client socket at most: memory is bounded, a stall shows quickly


BOUNDARY = "edgesaliencyframe"


STATUS_EVERY_S = 1.0


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Feed:
    """The newest JPEG of one stream and view; clients wait for a newer one. ``watchers`` says whether
    encoding it is worth the time."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.seq = 0
        self.jpeg = b""
        self.watchers = 0
        self.closed = False

    def publish(self, jpeg: bytes) -> None:
        with self.cond:
            self.seq += 1
            self.jpeg = jpeg
            self.cond.notify_all()

    def newer(self, seq: int, timeout: float) -> Tuple[int, bytes]:
        with self.cond:
            self.cond.wait_for(lambda: self.seq != seq or self.closed, timeout)
            return self.seq, self.jpeg

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()


class LiveState:
    """What the endpoints show, fed by the sink thread: per-frame records, latency histograms, counters."""

    def __init__(self, run: RunInfo, threshold: float) -> None:
        self.run = run
        self.threshold = threshold
        self.lock = threading.Condition()
        self.records: Deque[Tuple[int, str]] = collections.deque(maxlen=RECORDS_KEPT)
        self.record_seq = 0
        self.last: Dict[int, Dict[str, Any]] = {}
        self.latency = {stage: Histogram() for stage in LATENCY_STAGES}
        self.frames: Dict[int, int] = collections.defaultdict(int)
        self.started = time.monotonic()
        self.closed = False
        self._mark: Tuple[float, Dict[str, float]] = (time.monotonic(), {})
        self._rates: Dict[str, float] = {}
        self.counters: Dict[str, int] = collections.Counter()  # see count()

    def count(self, name: str) -> None:
        """One more of: encoded, replaced, clients_dropped, clients_refused, unauthorized, connections_refused."""
        with self.lock:
            self.counters[name] += 1

    def add(self, packet: Packet) -> None:
        record = frame_record(packet, self.threshold)
        line = json.dumps(record, separators=(",", ":"))
        with self.lock:
            self.record_seq += 1
            self.records.append((self.record_seq, line))
            self.last[packet.stream] = record
            self.frames[packet.stream] += 1
            for stage in LATENCY_STAGES:
                if stage in packet.timings:
                    self.latency[stage].observe(packet.timings[stage])
            self.lock.notify_all()

    def since(self, seq: int, timeout: float) -> Tuple[int, List[str]]:
        """Records after ``seq`` (waiting up to ``timeout`` for one); a client too far behind skips ahead."""
        with self.lock:
            self.lock.wait_for(lambda: self.record_seq != seq or self.closed, timeout)
            fresh = [line for number, line in self.records if number > seq]
            return self.record_seq, fresh

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self.lock.notify_all()

    def rates(self, status: Dict[str, Any]) -> Tuple[float, Dict[str, float]]:
        """(frames per second, fraction of the time each stage worked) over the last second or so, from the
        pipeline's cumulative counters."""
        now, busy_s = time.monotonic(), dict(status.get("busy_s", {}), frames=float(status.get("frames", 0)))
        with self.lock:
            then, before = self._mark
            if now - then >= STATUS_EVERY_S or not self._rates:
                span = max(now - then, 1e-6)
                self._rates = {s: max(v - before.get(s, 0.0), 0.0) / span for s, v in busy_s.items()}
                self._mark = (now, busy_s)
            return (round(self._rates.get("frames", 0.0), 2),
                    {s: round(self._rates[s], 3) for s in BUSY_STAGES if s in self._rates})
