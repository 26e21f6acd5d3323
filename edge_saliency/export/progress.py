"""Progress display for the slow steps of an export (tracing, simplifying, parity runs, calibration).

On a terminal: a live line on stderr with the step, a count or a spinner, and the elapsed time. Elsewhere
(logs, CI, tests): one log line when a step starts and one with its duration when it ends. Pure Python.
"""
import itertools
import logging
import sys
import threading
import time
from typing import Any, Optional

log = logging.getLogger("edge_saliency")


def _live() -> bool:
    stream = sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)()) and log.isEnabledFor(logging.INFO)


class Step:
    """``with Step("simplifying"):`` — shows a spinner while the block runs; ``.seconds`` afterwards.

    Use ``step.update(done, total)`` inside a loop for a count instead of a spinner.
    """

    def __init__(self, label: str) -> None:
        self.label = label
        self.seconds = 0.0
        self._start = 0.0
        self._count = ""
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._live = _live()

    def __enter__(self) -> "Step":
        self._start = time.perf_counter()
        if self._live:
            self._thread = threading.Thread(target=self._spin, daemon=True)
            self._thread.start()
        else:
            log.info("%s ...", self.label)
        return self

    def update(self, done: int, total: Optional[int] = None) -> None:
        self._count = "{}/{}".format(done, total) if total else str(done)

    def _line(self, mark: str) -> str:
        return "\r{} {} {} {:.1f} s\033[K".format(mark, self.label, self._count, time.perf_counter() - self._start)

    def _spin(self) -> None:
        for mark in itertools.cycle("|/-\\"):
            if self._stop.wait(0.2):
                return
            sys.stderr.write(self._line(mark))
            sys.stderr.flush()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.seconds = time.perf_counter() - self._start
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
        if exc_type is None:
            log.info("%s: done in %.1f s", self.label, self.seconds)

