"""Pieces of a cell's measurement that need a GPU, with fakes: device memory from cudaMemGetInfo; and the
peak RSS reader against the kernel's own number."""
import types

import pytest

from edge_saliency.bench import cell
from edge_saliency.bench.cell import DeviceMemory


class FakeCudaMemory:
    def __init__(self, frees):
        self.frees = list(frees)
        self.opened = False

    def open(self):
        self.opened = True

    def mem_get_info(self):
        return self.frees.pop(0), 8 << 30


def test_device_memory_is_free_before_loading_minus_the_lowest_free_seen(monkeypatch):
    fake = FakeCudaMemory([6000 << 20, 4000 << 20, 4500 << 20])
    monkeypatch.setattr("edge_saliency.runners.cuda.load_cuda", lambda api="auto", device=0: fake)
    memory = DeviceMemory("tensorrt", "cuda")
    memory.start()
    memory.sample()
    memory.sample()
    assert fake.opened and memory.mib() == pytest.approx(2000.0) and "cudaMemGetInfo" in memory.note


def test_device_memory_without_a_gpu_or_cuda_python_says_so(monkeypatch):
    assert DeviceMemory("onnxruntime", "cpu").mib() is None
    assert DeviceMemory("onnxruntime", "cpu").note == "no GPU used"

    def missing(api="auto", device=0):
        raise ImportError("the TensorRT backend needs cuda-python or PyCUDA")

    monkeypatch.setattr("edge_saliency.runners.cuda.load_cuda", missing)
    memory = DeviceMemory("onnxruntime", "cuda")
    memory.start()
    memory.sample()
    assert memory.mib() is None and memory.note.startswith("not measured: the TensorRT backend needs")


def test_torch_device_memory_is_its_peak_reserved(monkeypatch):
    calls = []
    cuda = types.SimpleNamespace(init=lambda: calls.append("init"),
                                 reset_peak_memory_stats=lambda: calls.append("reset"),
                                 max_memory_reserved=lambda: 300 << 20)
    monkeypatch.setitem(__import__("sys").modules, "torch", types.SimpleNamespace(cuda=cuda))
    memory = DeviceMemory("torch", "cuda")
    memory.start()
    assert calls == ["init", "reset"] and memory.mib() == 300.0


def test_peak_rss_is_the_kernels_high_water_mark():
    import resource

    # /proc/self/status VmHWM and getrusage's ru_maxrss (KiB on Linux) read the same counter
    reference = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    assert cell.peak_rss_mib() == pytest.approx(reference, abs=2.0)
