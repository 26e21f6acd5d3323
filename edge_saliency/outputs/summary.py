"""The run's summary as JSON (stage timings, counts), committed with the run's other files."""
import json
import os
from typing import Any, Sequence

from ..files.atomic import atomic_output, check_writable, write_temp
from ..pipeline.packet import Packet
from .sink import FileSink, StreamInfo


class SummarySink(FileSink):
    """The end-of-run summary as JSON (``--summary-json``), committed with the run's other files."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = os.fspath(path)

    def describe(self) -> str:
        return self.path

    def open(self, streams: Sequence[StreamInfo]) -> None:
        """Check the summary file can be written."""
        check_writable(self.path, "summary file")

    def write(self, packet: Packet) -> None:
        """Nothing per frame: the summary is written at the end."""
        pass

    def summarize(self, summary: Any) -> None:
        output = atomic_output(self.path, what="summary file")
        write_temp(output.open(), (json.dumps(summary.to_dict(), indent=2) + "\n").encode("utf-8"), output)
        self._done.append(output)
