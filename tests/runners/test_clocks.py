"""Timed inference (``Runner.infer_timed``): the same outputs as ``infer``, with copy-in / infer / copy-out on
the runner's clock; the clocks themselves."""
import types

import numpy as np
import pytest

from edge_saliency.errors import InputShapeError
from edge_saliency.runners import create_runner
from edge_saliency.runners.clocks import PerfCounterClock, TorchCudaClock
from tests.stream_fixtures import LITE_SIZE, FakeRunner


def real_frames(n):
    from skimage import data

    from edge_saliency.maths.preprocess import preprocess

    photos = [data.astronaut(), data.coffee(), data.chelsea()]
    return np.concatenate([preprocess(photos[i % 3], LITE_SIZE, "opencv-area") for i in range(n)], axis=0)


@pytest.mark.parametrize("backend", ["onnxruntime", "torch"])
def test_timed_inference_gives_the_same_maps_and_every_part(lite_files, backend):
    weights, onnx_path = lite_files
    x = real_frames(2)
    with create_runner(onnx_path if backend == "onnxruntime" else weights, backend, device="cpu",
                       threads=1) as runner:
        plain = runner.infer(x)
        out, times = runner.infer_timed(x)
        assert runner.stage_clock().name == "perf_counter"
    np.testing.assert_allclose(out, plain, atol=1e-6)
    assert out.dtype == np.float32 and out.shape == (2, 1) + LITE_SIZE
    assert set(times) == {"copy_in", "infer", "copy_out"}
    assert all(v is not None and v >= 0 for v in times.values())
    assert times["infer"] > times["copy_in"]  # the model dominates a host-side copy or cast


def test_backends_without_separate_copies_report_the_whole_call_as_infer():
    runner = FakeRunner(delay=0.01, size=(32, 48))
    with runner:
        out, times = runner.infer_timed(np.ones((1, 3, 32, 48), np.float32))
    assert times["copy_in"] is None and times["copy_out"] is None and times["infer"] >= 0.01
    np.testing.assert_allclose(out, 1.0)


def test_a_timed_batch_must_fit_in_one_call_and_static_batches_are_padded():
    with FakeRunner(max_batch=2, static_batch=True) as runner:
        out, _ = runner.infer_timed(np.zeros((1, 3, 32, 48), np.float32))
        assert out.shape == (1, 1, 32, 48) and runner.calls == [2]
        with pytest.raises(InputShapeError, match="at most 2"):
            runner.infer_timed(np.zeros((3, 3, 32, 48), np.float32))


def test_perf_counter_clock_times_between_marks(monkeypatch):
    ticks = iter([10.0, 10.5, 12.0, 12.25])
    monkeypatch.setattr("edge_saliency.runners.clocks.time.perf_counter", lambda: next(ticks))
    clock = PerfCounterClock()
    clock.begin()
    for stage in ("copy_in", "infer", "copy_out"):
        clock.mark(stage)
    assert clock.result() == {"copy_in": 0.5, "infer": 1.5, "copy_out": 0.25}
    with pytest.raises(RuntimeError):
        PerfCounterClock().mark("infer")


def test_torch_cuda_clock_uses_events_on_the_current_stream():
    log = []

    class Event:
        def __init__(self, enable_timing=False):
            assert enable_timing
            self.at = None

        def record(self, stream):
            log.append(("record", stream))
            self.at = len(log)

        def synchronize(self):
            log.append("synchronize")

        def elapsed_time(self, end):  # torch: start.elapsed_time(end), milliseconds
            return float(end.at - self.at) * 4.0

    cuda = types.SimpleNamespace(Event=Event, current_stream=lambda device: "stream-of-{}".format(device))
    clock = TorchCudaClock(types.SimpleNamespace(cuda=cuda), "cuda:0")
    clock.begin()
    clock.mark("copy_in")
    clock.mark("infer")
    assert clock.result() == {"copy_in": 0.004, "infer": 0.004}
    assert log[-1] == "synchronize" and log[0] == ("record", "stream-of-cuda:0")
