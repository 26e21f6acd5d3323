"""Stage clocks: the time between consecutive marks of one inference, on the right clock.

A runner's ``infer_timed`` calls ``begin()`` before it copies the input, ``mark("copy_in")`` once the input
is where the model reads it, ``mark("infer")`` after the model ran and ``mark("copy_out")`` once the output is
back in host memory; ``result()`` then gives the seconds of each stage.

- :class:`PerfCounterClock`: ``time.perf_counter`` on the host (CPU backends, and ONNX Runtime on CUDA, whose
  stream is internal: ``session.run`` returns when the work is done).
- :class:`CudaEventClock`: CUDA events recorded on the runner's stream through :class:`~.cuda.CudaApi`
  (TensorRT); :class:`TorchCudaClock`: ``torch.cuda.Event`` on PyTorch's current stream. Events time the GPU's
  work between marks without the host's launch overhead; ``result()`` waits for the last event.

Events are created once per clock and re-recorded on every inference (``close()`` frees them). Python 3.8.
"""
import time
from typing import Any, Dict, List, Optional, Tuple

PERF_COUNTER = "perf_counter"
CUDA_EVENT = "cuda-event"


class StageClock:
    """``begin()``, ``mark(stage)`` per stage, ``result()`` → {stage: seconds since the previous mark}."""

    name = PERF_COUNTER

    def __init__(self) -> None:
        self._marks: List[Tuple[str, Any]] = []

    def _stamp(self, index: int) -> Any:
        raise NotImplementedError

    def _seconds(self, start: Any, end: Any) -> float:
        raise NotImplementedError

    def _wait(self, last: Any) -> None:
        pass

    def begin(self) -> None:
        self._marks = [("", self._stamp(0))]

    def mark(self, stage: str) -> None:
        if not self._marks:
            raise RuntimeError("StageClock.mark() before begin()")
        self._marks.append((stage, self._stamp(len(self._marks))))

    def result(self) -> Dict[str, float]:
        if len(self._marks) < 2:
            return {}
        self._wait(self._marks[-1][1])
        out = {}
        for (_, start), (stage, end) in zip(self._marks, self._marks[1:]):
            out[stage] = self._seconds(start, end)
        self._marks = []
        return out

    def close(self) -> None:
        pass


class PerfCounterClock(StageClock):
    name = PERF_COUNTER

    def _stamp(self, index: int) -> float:
        return time.perf_counter()

    def _seconds(self, start: float, end: float) -> float:
        return end - start


class CudaEventClock(StageClock):
    """CUDA events on ``stream`` through a :class:`~edge_saliency.runners.cuda.CudaApi` (cuda-python or PyCUDA)."""

    name = CUDA_EVENT

    def __init__(self, cuda: Any, stream: Any) -> None:
        super().__init__()
        self.cuda, self.stream = cuda, stream
        self._events: List[Any] = []

    def _stamp(self, index: int) -> Any:
        while len(self._events) <= index:
            self._events.append(self.cuda.event_create())
        event = self._events[index]
        self.cuda.event_record(event, self.stream)
        return event

    def _wait(self, last: Any) -> None:
        self.cuda.event_synchronize(last)

    def _seconds(self, start: Any, end: Any) -> float:
        return self.cuda.event_elapsed_ms(start, end) / 1000.0

    def close(self) -> None:
        events, self._events = self._events, []
        for event in events:
            self.cuda.event_destroy(event)


class TorchCudaClock(StageClock):
    """``torch.cuda.Event(enable_timing=True)`` on PyTorch's current stream of ``device``."""

    name = CUDA_EVENT

    def __init__(self, torch: Any, device: Optional[Any] = None) -> None:
        super().__init__()
        self.torch, self.device = torch, device
        self._events: List[Any] = []

    def _stamp(self, index: int) -> Any:
        while len(self._events) <= index:
            self._events.append(self.torch.cuda.Event(enable_timing=True))
        event = self._events[index]
        event.record(self.torch.cuda.current_stream(self.device))
        return event

    def _wait(self, last: Any) -> None:
        last.synchronize()

    def _seconds(self, start: Any, end: Any) -> float:
        return float(start.elapsed_time(end)) / 1000.0
