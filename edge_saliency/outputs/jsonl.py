"""JSON lines: one record per frame (peak, most-salient region, mean, timings), committed with the run's other files."""
import json
import os
import sys
import time
from typing import Any, Optional, Sequence

from ..files.atomic import atomic_output, check_writable
from ..pipeline.packet import Packet
from .sink import SPACE_CHECK_S, FileSink, StreamInfo, check_growing, frame_record

STDOUT = "-"  # the JSON lines on standard output, for a pipe (jq, a message bus)


class JsonLinesSink(FileSink):
    """One JSON object per frame: stream, frame index, timestamp (s), wall_time, size [W, H], peak {x, y,
    value}, bbox [x0, y0, x1, y1] of the most salient region, mean, threshold, batch, latency_ms per stage.
    ``path`` ``-``: standard output, a line flushed per frame."""

    def __init__(self, path: str, threshold: float = 0.5) -> None:
        super().__init__()
        self.path = os.fspath(path)
        self.threshold = threshold
        self._output: Optional[atomic_output] = None
        self._file: Any = None
        self._checked = 0.0
        self.records = 0

    def describe(self) -> str:
        return self.path

    def open(self, streams: Sequence[StreamInfo]) -> None:
        """Check the file can be written and open its temporary file."""
        if self.path == STDOUT:
            self._file = sys.stdout
            return
        check_writable(self.path, "JSON-lines file")
        self._output = atomic_output(self.path, what="JSON-lines file")
        try:
            self._file = open(self._output.open(), "w", encoding="utf-8")
        except OSError as exc:
            raise self._output.error(exc) from None

    def write(self, packet: Packet) -> None:
        """Append the frame's JSON record."""
        line = json.dumps(frame_record(packet, self.threshold), separators=(",", ":")) + "\n"
        try:
            self._file.write(line)
        except OSError as exc:
            if self._output is None:  # standard output: its own error
                raise
            raise self._output.error(exc) from None
        self.records += 1
        if self._output is None:
            self._file.flush()  # standard output: each record reaches the reader as it is made
            return
        now = time.monotonic()
        if now - self._checked >= SPACE_CHECK_S:
            self._checked = now
            check_growing(self._output)

    def finish(self, ok: bool = True) -> None:
        if self._file is None:
            return
        if self.path == STDOUT:
            self._file.flush()
            self._file = None
            return
        output, self._output = self._output, None
        assert output is not None
        try:
            self._file.close()  # the last buffered lines: may fail too
        except OSError as exc:
            output.discard()
            if ok:
                raise output.error(exc) from None
        finally:
            self._file = None
        if ok:
            self._done.append(output)
        else:
            output.discard()
