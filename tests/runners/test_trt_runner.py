"""The TensorRT runner's host-side logic with a fake engine and a fake CUDA that keeps device memory: the
sidecar check before deserializing, shape planning, buffer sizing, the order of CUDA calls, CUDA graphs,
threads and teardown. Also the two CUDA adapters against recording fakes of cuda-python and PyCUDA, and the
real cuda-python here (no GPU). The GPU tests at the end run where TensorRT and a GPU exist."""
import contextlib
import ctypes
import dataclasses
import threading
import types

import numpy as np
import pytest

from edge_saliency.engine.cache import ArtifactMismatchError, Target, file_sha256
from edge_saliency.errors import InputShapeError, UserError
from edge_saliency.files.sidecar import Sidecar, read_sidecar
from edge_saliency.runners.cuda import CudaApi, CudaError, CudaPythonApi, HostBuffer, PyCudaApi, load_cuda
from edge_saliency.runners.trt_runner import TensorRTRunner, plan_input_shape
from tests.engine.fake_tensorrt import VERSIONS, make_class

HERE = Target("tensorrt", "10.3.0.30", "NVIDIA Jetson AGX Orin", "8.7")


class FakeCuda(CudaApi):
    """Records every call; device memory is real bytes so that data flows through copies and execution."""

    name = "fake-cuda"

    def __init__(self, graphs=True):
        super().__init__(0)
        self.supports_graphs = graphs
        self.calls, self.memory, self.threads = [], {}, []
        self.capturing = None
        self._next = 0x10000

    def open(self):
        self.calls.append(("open",))

    def close(self):
        self.calls.append(("close",))

    @contextlib.contextmanager
    def current(self):
        self.threads.append(threading.get_ident())
        yield

    def host_empty(self, shape, dtype):
        self.calls.append(("host_empty", tuple(shape), np.dtype(dtype).name))
        array = np.zeros(shape, dtype)
        return HostBuffer(array, id(array))

    def host_free(self, buffer):
        self.calls.append(("host_free", tuple(buffer.array.shape)))

    def device_alloc(self, nbytes):
        pointer, self._next = self._next, self._next + 0x100000
        self.memory[pointer] = bytearray(nbytes)
        self.calls.append(("device_alloc", nbytes))
        return pointer

    def device_free(self, pointer):
        del self.memory[pointer]
        self.calls.append(("device_free", pointer))

    def stream_create(self):
        self.calls.append(("stream_create",))
        return "stream"

    def stream_handle(self, stream):
        return 0xABC

    def stream_destroy(self, stream):
        self.calls.append(("stream_destroy",))

    def copy_htod_async(self, pointer, host, stream):
        assert host.flags.c_contiguous and stream == "stream"
        self.memory[pointer][:host.nbytes] = host.tobytes()
        self.calls.append(("htod", pointer, host.nbytes))

    def copy_dtoh_async(self, host, pointer, stream):
        host[...] = np.frombuffer(bytes(self.memory[pointer][:host.nbytes]), host.dtype).reshape(host.shape)
        self.calls.append(("dtoh", pointer, host.nbytes))

    def synchronize(self, stream):
        self.calls.append(("sync",))

    def graph_begin(self, stream):
        self.capturing = []
        self.calls.append(("graph_begin",))

    def graph_end(self, stream):
        graph, self.capturing = self.capturing, None
        self.calls.append(("graph_end",))
        return graph

    def graph_launch(self, graph, stream):
        self.calls.append(("graph_launch",))
        for work in graph:
            work()

    def graph_destroy(self, graph):
        self.calls.append(("graph_destroy",))

    # events: each record takes the next tick of a fake GPU clock (1 ms apart)
    def event_create(self):
        self.calls.append(("event_create",))
        return {"time": None}

    def event_record(self, event, stream):
        assert stream == "stream"
        self._tick = getattr(self, "_tick", 0.0) + 1.0
        event["time"] = self._tick
        self.calls.append(("event_record",))

    def event_synchronize(self, event):
        self.calls.append(("event_synchronize",))

    def event_elapsed_ms(self, start, end):
        return end["time"] - start["time"]

    def event_destroy(self, event):
        self.calls.append(("event_destroy",))

    def names(self):
        return [c[0] for c in self.calls]


class FakeContext:
    """execute_async_v3 computes saliency = mean over channels from device memory, like a real engine.

    Used as the behaviour of a TensorRT version's IExecutionContext (names from its real bindings), so the runner
    can only call what that version has; state lives in underscore attributes."""

    def __init__(self, engine):
        self._engine, self._cuda = engine, engine._cuda
        self._shape = tuple(engine._io[0]["shape"])
        self._addresses = {}

    def set_input_shape(self, name, shape):
        low, _, high = self._engine._profile
        if not all(lo <= s <= hi for lo, s, hi in zip(low, shape, high)):
            return False
        self._cuda.calls.append(("set_input_shape", tuple(shape)))
        self._shape = tuple(shape)
        return True

    def get_tensor_shape(self, name):
        n, _, h, w = self._shape
        return self._shape if name == "image" else (n, 1, h, w)

    def set_tensor_address(self, name, pointer):
        self._addresses[name] = pointer
        return True

    def _run(self):
        dtype = np.float16 if self._engine._io[0]["dtype"] == "half" else np.float32
        n = int(np.prod(self._shape))
        x = np.frombuffer(bytes(self._cuda.memory[self._addresses["image"]][:n * np.dtype(dtype).itemsize]), dtype)
        y = x.reshape(self._shape).astype(np.float32).mean(axis=1, keepdims=True)
        self._cuda.memory[self._addresses["saliency"]][:y.nbytes] = y.tobytes()

    def execute_async_v3(self, stream_handle):
        assert stream_handle == 0xABC
        if self._cuda.capturing is not None:
            self._cuda.capturing.append(self._run)
            self._cuda.calls.append(("captured_execute",))
        else:
            self._run()
            self._cuda.calls.append(("execute", self._shape))
        return True


class FakeEngine:
    """The behaviour of a version's ICudaEngine (see FakeContext)."""

    def __init__(self, cuda, shape=(1, 3, 32, 48), dtype="float", profile=None):
        self._cuda = cuda
        n, _, h, w = shape
        self._io = [{"name": "image", "mode": "input", "shape": list(shape), "dtype": dtype},
                   {"name": "saliency", "mode": "output", "shape": [n, 1, h, w], "dtype": "float"}]
        self._profile = profile or (shape, shape, shape)

    def get_tensor_profile_shape(self, name, index):
        assert (name, index) == ("image", 0)
        return self._profile

    def create_execution_context(self):
        self._cuda.calls.append(("create_execution_context",))
        return self._context_class(self)


def engine_file(tmp_path, target=HERE, sidecar=True, precision="fp16"):
    path = tmp_path / "model.engine"
    path.write_bytes(b"SERIALIZED ENGINE")
    if sidecar:
        Sidecar(kind="engine", model=None, info={
            "target": dataclasses.asdict(target), "precision": precision, "plugins": [],
            "artifact_sha256": file_sha256(str(path)),
            "rebuild_command": "edge-saliency build-engine model.onnx --precision fp16"}).save(str(path))
    return str(path)


def engine_class(version):
    """FakeEngine / FakeContext with exactly the ICudaEngine / IExecutionContext names of ``version``."""
    context = make_class(version, "IExecutionContext", FakeContext)
    engine = make_class(version, "ICudaEngine", FakeEngine)
    engine._context_class = context
    return engine


def make_runner(path, cuda, engine_kwargs=None, version="10.16", **kwargs):
    deserialized = []
    engine = engine_class(version)

    def deserialize(data, plugins, allow_host_code):
        deserialized.append((data, plugins, allow_host_code))
        return engine(cuda, **(engine_kwargs or {}))

    runner = TensorRTRunner(path, cuda=cuda, deserialize=deserialize, describe_io=lambda e: e._io, target=HERE,
                            **kwargs)
    return runner, deserialized


def test_an_engine_for_another_gpu_is_refused_before_deserializing(tmp_path):
    other = Target("tensorrt", "10.3.0.30", "NVIDIA GeForce RTX 4090", "8.9")
    cuda = FakeCuda()
    runner, deserialized = make_runner(engine_file(tmp_path, target=other), cuda)
    with pytest.raises(ArtifactMismatchError, match="RTX 4090.*rebuild it here: edge-saliency build-engine"):
        runner.activate()
    assert deserialized == [] and cuda.calls == []


def test_a_changed_engine_file_is_refused(tmp_path):
    path = engine_file(tmp_path)
    with open(path, "ab") as f:
        f.write(b"truncated?")
    runner, deserialized = make_runner(path, FakeCuda())
    with pytest.raises(ArtifactMismatchError, match="sha256"):
        runner.activate()
    assert deserialized == []


def test_plugins_are_registered_unless_the_engine_carries_them(tmp_path):
    """A version-compatible engine that serialized our plugin library is deserialized without loading it again
    (TensorRT registers the copy in the engine); other plugin libraries and --plugin ones are registered first."""
    path = engine_file(tmp_path)
    sidecar = read_sidecar(path)
    ours, other = "/build/libedge_saliency_trt_plugin.so", "/opt/libother_plugins.so"
    sidecar.info.update({"host_code": True, "plan": {"plugins_to_serialize": [ours]},
                         "plugins": [{"path": ours, "sha256": "a"}, {"path": other, "sha256": "b"}]})
    sidecar.save(path)
    runner, deserialized = make_runner(path, FakeCuda(), allow_host_code=True, plugins=["/extra/libx.so"])
    with runner:
        assert deserialized == [(b"SERIALIZED ENGINE", [other, "/extra/libx.so"], True)]


def test_an_onnx_runtime_artifact_is_not_an_engine(tmp_path):
    path = tmp_path / "m.ort.onnx"
    path.write_bytes(b"x")
    Sidecar(kind="onnxruntime", model=None, info={}).save(str(path))
    runner, _ = make_runner(str(path), FakeCuda())
    with pytest.raises(UserError, match="--backend onnxruntime"):
        runner.activate()


@pytest.mark.parametrize("version", VERSIONS)
def test_static_engine_buffers_calls_and_results(tmp_path, version):
    cuda = FakeCuda()
    runner, deserialized = make_runner(engine_file(tmp_path), cuda, version=version)
    with runner:
        assert deserialized == [(b"SERIALIZED ENGINE", [], False)]
        assert runner.precision == "fp16" and runner.max_batch == 1 and runner.static_batch
        assert [c for c in cuda.calls if c[0] in ("host_empty", "device_alloc")] == [
            ("host_empty", (1, 3, 32, 48), "float32"), ("device_alloc", 3 * 32 * 48 * 4),
            ("host_empty", (1, 1, 32, 48), "float32"), ("device_alloc", 32 * 48 * 4)]
        start = len(cuda.calls)
        x = np.random.default_rng(0).random((3, 3, 32, 48)).astype(np.float32)
        y = runner.infer(x)  # three frames on a batch-1 engine: three runs
        run_calls = cuda.names()[start:]
    np.testing.assert_allclose(y, x.mean(axis=1, keepdims=True), atol=1e-6)
    assert run_calls == ["htod", "execute", "dtoh", "sync"] * 3
    assert cuda.names()[-7:] == ["sync", "device_free", "host_free", "device_free", "host_free", "stream_destroy",
                                 "close"]
    assert cuda.memory == {}


def test_fp16_engine_input_is_converted_and_sized_in_half(tmp_path):
    cuda = FakeCuda()
    runner, _ = make_runner(engine_file(tmp_path), cuda, {"dtype": "half"})
    with runner:
        assert ("host_empty", (1, 3, 32, 48), "float16") in cuda.calls
        assert ("device_alloc", 3 * 32 * 48 * 2) in cuda.calls
        x = np.random.default_rng(1).random((1, 3, 32, 48)).astype(np.float32)
        np.testing.assert_allclose(runner.infer(x), x.astype(np.float16).astype(np.float32).mean(1, keepdims=True),
                                   atol=1e-3)


@pytest.mark.parametrize("version", VERSIONS)
def test_dynamic_engine_is_set_to_the_requested_size_and_batch_inside_its_profile(tmp_path, version):
    profile = ((1, 3, 32, 32), (1, 3, 64, 96), (4, 3, 128, 128))
    cuda = FakeCuda()
    runner, _ = make_runner(engine_file(tmp_path), cuda, {"shape": (-1, 3, -1, -1), "profile": profile},
                            input_size=(64, 96), batch=4, version=version)
    with runner:
        assert runner.run_shape == (4, 3, 64, 96) and runner.max_batch == 4 and not runner.static_batch
        assert runner.fixed_size == (64, 96)  # what the pipeline must feed
        assert ("set_input_shape", (4, 3, 64, 96)) in cuda.calls
        assert ("device_alloc", 4 * 3 * 64 * 96 * 4) in cuda.calls and ("device_alloc", 4 * 64 * 96 * 4) in cuda.calls
        x = np.random.default_rng(2).random((2, 3, 64, 96)).astype(np.float32)
        np.testing.assert_allclose(runner.infer(x), x.mean(axis=1, keepdims=True), atol=1e-6)
        assert ("set_input_shape", (2, 3, 64, 96)) in cuda.calls
        assert ("htod", runner.bindings["image"].device, 2 * 3 * 64 * 96 * 4) in cuda.calls  # only what is used


@pytest.mark.parametrize("engine_shape, profile, size, batch, message", [
    ((1, 3, 32, 48), None, (64, 96), None, "static input size of 32x48"),
    ((1, 3, 32, 48), None, None, 4, "static batch of 1"),
    ((-1, 3, -1, -1), ((1, 3, 32, 32), (1, 3, 64, 64), (2, 3, 128, 128)), (256, 256), 1, "heights between 32 and 128"),
    ((-1, 3, -1, -1), ((1, 3, 32, 32), (1, 3, 64, 64), (2, 3, 128, 128)), (64, 64), 8, "a batch between 1 and 2"),
])
def test_shapes_outside_what_the_engine_takes_are_refused(engine_shape, profile, size, batch, message):
    with pytest.raises(InputShapeError, match=message):
        plan_input_shape(engine_shape, profile, size, batch)


def test_dynamic_shapes_default_to_the_profile_optimum():
    profile = ((1, 3, 32, 32), (2, 3, 64, 96), (4, 3, 128, 128))
    assert plan_input_shape((-1, 3, -1, -1), profile) == (2, 3, 64, 96)
    assert plan_input_shape((1, 2, 5, 7), None) == (1, 2, 5, 7)  # selftest's tiny network: any channels


def test_timed_inference_records_events_around_each_copy_and_the_execution(tmp_path):
    cuda = FakeCuda()
    runner, _ = make_runner(engine_file(tmp_path), cuda, engine_kwargs={"dtype": "half"})
    x = np.random.default_rng(1).random((1, 3, 32, 48), dtype=np.float32)
    with runner:
        plain = runner.infer(x)
        cuda.calls.clear()
        out, times = runner.infer_timed(x)
        assert runner.stage_clock().name == "cuda-event"
        order = [n for n in cuda.names() if n in ("event_record", "htod", "execute", "dtoh", "sync",
                                                  "event_synchronize")]
        # begin, copy in, mark, execute, mark, copy out, mark; the result waits for the last event
        assert order == ["event_record", "htod", "event_record", "execute", "event_record", "dtoh", "event_record",
                         "sync", "event_synchronize"]
        assert times == {"copy_in": 0.001, "infer": 0.001, "copy_out": 0.001}  # 1 ms per fake tick
        np.testing.assert_array_equal(out, plain)
        cuda.calls.clear()
        runner.infer_timed(x)  # events are reused, not created again
        assert "event_create" not in cuda.names()
    assert cuda.names().count("event_destroy") == 4 and cuda.names().index("event_destroy") < \
        cuda.names().index("stream_destroy")


@pytest.mark.parametrize("version", VERSIONS)
def test_cuda_graph_capture_and_replay(tmp_path, version):
    cuda = FakeCuda(graphs=True)
    runner, _ = make_runner(engine_file(tmp_path), cuda, cuda_graph=True, version=version)
    with runner:
        names = cuda.names()
        begin = names.index("graph_begin")
        assert names[begin - 2:begin + 3] == ["execute", "sync", "graph_begin", "captured_execute", "graph_end"]
        assert "graph" in runner.describe().lower()
        start = len(cuda.calls)
        x = np.random.default_rng(4).random((2, 3, 32, 48)).astype(np.float32)
        y = runner.infer(x)
        assert cuda.names()[start:] == ["htod", "graph_launch", "dtoh", "sync"] * 2
    np.testing.assert_allclose(y, x.mean(axis=1, keepdims=True), atol=1e-6)
    assert "graph_destroy" in cuda.names()


def test_cuda_graph_with_a_dynamic_batch_makes_the_batch_static(tmp_path):
    profile = ((1, 3, 32, 48), (1, 3, 32, 48), (4, 3, 32, 48))
    cuda = FakeCuda(graphs=True)
    runner, _ = make_runner(engine_file(tmp_path), cuda, {"shape": (-1, 3, 32, 48), "profile": profile},
                            batch=4, cuda_graph=True)
    with runner:
        assert runner.static_batch and runner.max_batch == 4
        x = np.random.default_rng(5).random((3, 3, 32, 48)).astype(np.float32)
        np.testing.assert_allclose(runner.infer(x), x.mean(axis=1, keepdims=True), atol=1e-6)  # padded to 4
        assert cuda.names().count("set_input_shape") == 1


def test_without_graph_support_the_runner_warns_and_runs_plainly(tmp_path, caplog):
    cuda = FakeCuda(graphs=False)
    runner, _ = make_runner(engine_file(tmp_path), cuda, cuda_graph=True)
    with runner:
        assert runner.graph is None and "graph_begin" not in cuda.names()
        runner.infer(np.zeros((1, 3, 32, 48), np.float32))
    assert "CUDA graphs need cuda-python" in caplog.text


def test_inference_on_a_worker_thread_makes_the_context_current_there(tmp_path):
    cuda = FakeCuda()
    runner, _ = make_runner(engine_file(tmp_path), cuda)
    with runner:
        results = []
        worker = threading.Thread(target=lambda: results.append(runner.infer(np.ones((1, 3, 32, 48), np.float32))))
        worker.start()
        worker.join()
        assert worker.ident in cuda.threads and results[0].shape == (1, 1, 32, 48)


def test_an_engine_without_sidecar_runs_with_a_warning(tmp_path, caplog):
    runner, _ = make_runner(engine_file(tmp_path, sidecar=False), FakeCuda())
    with runner:
        assert runner.infer(np.zeros((1, 3, 32, 48), np.float32)).shape == (1, 1, 32, 48)
    assert "no sidecar" in caplog.text


def test_failed_activation_frees_what_was_allocated(tmp_path, monkeypatch):
    cuda = FakeCuda()

    def refuse(name, pointer):
        return name != "saliency"

    original = FakeEngine.create_execution_context

    def context_with_refusal(engine):
        context = original(engine)
        context.set_tensor_address = refuse
        return context

    monkeypatch.setattr(FakeEngine, "create_execution_context", context_with_refusal)
    runner, _ = make_runner(engine_file(tmp_path), cuda)
    with pytest.raises(CudaError, match="saliency"):
        runner.activate()
    assert cuda.memory == {} and cuda.names().count("host_free") == 2 and cuda.names()[-1] == "close"


# -- the cuda-python adapter against a recording fake of its runtime module --------------------------------


class FakeCudart(types.SimpleNamespace):
    """cuda.bindings.runtime as documented: every call returns (cudaError_t, *values)."""

    def __init__(self, fail=()):
        kinds = types.SimpleNamespace(cudaMemcpyHostToDevice=1, cudaMemcpyDeviceToHost=2)
        modes = types.SimpleNamespace(cudaStreamCaptureModeGlobal=0)
        super().__init__(calls=[], fail=set(fail), buffers=[], cudaMemcpyKind=kinds, cudaStreamCaptureMode=modes)

    def _ret(self, name, *values):
        self.calls.append(name)
        return (2 if name in self.fail else 0,) + values

    def cudaGetErrorString(self, err):
        return (0, b"out of memory")

    def cudaSetDevice(self, device):
        return self._ret("cudaSetDevice")

    def cudaFree(self, pointer):
        return self._ret("cudaFree")

    def cudaMallocHost(self, nbytes):
        buffer = ctypes.create_string_buffer(nbytes)
        self.buffers.append(buffer)
        return self._ret("cudaMallocHost", ctypes.addressof(buffer))

    def cudaFreeHost(self, pointer):
        return self._ret("cudaFreeHost")

    def cudaMalloc(self, nbytes):
        return self._ret("cudaMalloc", 0xD000)

    def cudaStreamCreate(self):
        return self._ret("cudaStreamCreate", 77)

    def cudaMemcpyAsync(self, dst, src, count, kind, stream):
        self.calls.append(("cudaMemcpyAsync", dst, src, count, kind, stream))
        return (0,)

    def cudaStreamSynchronize(self, stream):
        return self._ret("cudaStreamSynchronize")

    def cudaStreamBeginCapture(self, stream, mode):
        return self._ret("cudaStreamBeginCapture")

    def cudaStreamEndCapture(self, stream):
        return self._ret("cudaStreamEndCapture", "graph")

    def cudaGraphInstantiateWithFlags(self, graph, flags):
        return self._ret("cudaGraphInstantiateWithFlags", "exec")

    def cudaGraphLaunch(self, graph_exec, stream):
        self.calls.append(("cudaGraphLaunch", graph_exec, stream))
        return (0,)

    def cudaGraphExecDestroy(self, graph_exec):
        return self._ret("cudaGraphExecDestroy")

    def cudaGraphDestroy(self, graph):
        return self._ret("cudaGraphDestroy")

    def cudaStreamDestroy(self, stream):
        return self._ret("cudaStreamDestroy")

    def cudaEventCreate(self):
        return self._ret("cudaEventCreate", 500 + len(self.calls))

    def cudaEventRecord(self, event, stream):
        self.calls.append(("cudaEventRecord", event, stream))
        return (0,)

    def cudaEventSynchronize(self, event):
        return self._ret("cudaEventSynchronize")

    def cudaEventElapsedTime(self, start, end):
        self.calls.append(("cudaEventElapsedTime", start, end))
        return (0, 2.5)

    def cudaEventDestroy(self, event):
        return self._ret("cudaEventDestroy")

    def cudaMemGetInfo(self):
        return self._ret("cudaMemGetInfo", 3 << 30, 8 << 30)


def test_cuda_python_adapter_calls_the_documented_signatures():
    rt = FakeCudart()
    api = CudaPythonApi(0, cudart=rt)
    api.open()
    assert rt.calls[:2] == ["cudaSetDevice", "cudaFree"]
    host = api.host_empty((2, 3), np.float32)
    host.array[...] = np.arange(6).reshape(2, 3)
    raw = ctypes.string_at(host.handle, 24)
    np.testing.assert_array_equal(np.frombuffer(raw, np.float32), np.arange(6))  # the array IS the pinned memory
    device = api.device_alloc(24)
    stream = api.stream_create()
    api.copy_htod_async(device, host.array, stream)
    api.copy_dtoh_async(host.array, device, stream)
    assert ("cudaMemcpyAsync", 0xD000, host.handle, 24, 1, 77) in rt.calls
    assert ("cudaMemcpyAsync", host.handle, 0xD000, 24, 2, 77) in rt.calls
    api.graph_begin(stream)
    graph = api.graph_end(stream)
    api.graph_launch(graph, stream)
    api.graph_destroy(graph)
    assert ("cudaGraphLaunch", "exec", 77) in rt.calls
    assert rt.calls[-2:] == ["cudaGraphExecDestroy", "cudaGraphDestroy"]
    assert api.stream_handle(stream) == 77


def test_cuda_python_events_and_memory_follow_the_documented_signatures():
    rt = FakeCudart()
    api = CudaPythonApi(0, cudart=rt)
    start, end = api.event_create(), api.event_create()
    api.event_record(start, 77)
    api.event_record(end, 77)
    api.event_synchronize(end)
    assert api.event_elapsed_ms(start, end) == 2.5
    assert ("cudaEventRecord", start, 77) in rt.calls and ("cudaEventElapsedTime", start, end) in rt.calls
    api.event_destroy(start)
    assert api.mem_get_info() == (3 << 30, 8 << 30)
    with pytest.raises(CudaError, match="cudaEventSynchronize failed"):
        CudaPythonApi(0, cudart=FakeCudart(fail={"cudaEventSynchronize"})).event_synchronize(start)


def test_cuda_python_errors_are_one_clear_line():
    api = CudaPythonApi(0, cudart=FakeCudart(fail={"cudaMalloc"}))
    with pytest.raises(CudaError, match="CUDA cudaMalloc failed: out of memory"):
        api.device_alloc(1 << 40)


def test_worker_threads_select_the_device_once_each():
    rt = FakeCudart()
    api = CudaPythonApi(1, cudart=rt)
    api.open()

    def work():
        with api.current():
            with api.current():
                pass

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert rt.calls.count("cudaSetDevice") == 2  # open (main thread) + once in the worker


def test_real_cuda_python_without_a_gpu_fails_with_one_line():
    pytest.importorskip("cuda.bindings.runtime")
    from edge_saliency.system import gpu_info

    if gpu_info() is not None:
        pytest.skip("this machine has a GPU")
    api = load_cuda("auto")
    assert isinstance(api, CudaPythonApi)
    with pytest.raises(CudaError, match="cudaSetDevice failed"):
        api.open()


# -- the PyCUDA adapter against a fake pycuda.driver --------------------------------------------------------


def fake_pycuda():
    calls = []

    class Context:
        def push(self):
            calls.append("push")

        def pop(self):
            calls.append("pop")

        def detach(self):
            calls.append("detach")

    class Device:
        def __init__(self, index):
            calls.append(("Device", index))

        def retain_primary_context(self):
            calls.append("retain_primary_context")
            return Context()

    class Stream:
        handle = 1234

        def synchronize(self):
            calls.append("synchronize")

    class Allocation:
        def __int__(self):
            return 0xBEEF

        def free(self):
            calls.append("free")

    def pagelocked_empty(shape, dtype):
        calls.append(("pagelocked_empty", shape))
        return np.zeros(shape, dtype)

    driver = types.SimpleNamespace(
        init=lambda: calls.append("init"), Device=Device, Stream=Stream, pagelocked_empty=pagelocked_empty,
        mem_alloc=lambda n: calls.append(("mem_alloc", n)) or Allocation(),
        memcpy_htod_async=lambda dst, src, stream: calls.append(("memcpy_htod_async", int(dst), src.nbytes)),
        memcpy_dtoh_async=lambda dst, src, stream: calls.append(("memcpy_dtoh_async", dst.nbytes, int(src))))
    return driver, calls


def test_pycuda_adapter_uses_the_primary_context_pushed_per_thread():
    driver, calls = fake_pycuda()
    api = PyCudaApi(2, driver=driver)
    api.open()
    assert calls == ["init", ("Device", 2), "retain_primary_context"]
    with api.current():
        with api.current():  # nested: no second push
            device = api.device_alloc(48)
            stream = api.stream_create()
            host = api.host_empty((4, 3), np.float32)
            api.copy_htod_async(device, host.array, stream)
            api.copy_dtoh_async(host.array, device, stream)
            api.synchronize(stream)
    assert calls.count("push") == 1 and calls.count("pop") == 1
    assert ("memcpy_htod_async", 0xBEEF, 48) in calls and ("memcpy_dtoh_async", 48, 0xBEEF) in calls
    assert api.stream_handle(stream) == 1234 and api.device_ptr(device) == 0xBEEF
    api.device_free(device)
    api.close()
    assert calls[-2:] == ["free", "detach"]
    assert not api.supports_graphs


def test_pycuda_events_time_end_since_start():
    driver, calls = fake_pycuda()

    class Event:
        def __init__(self):
            self.at = None

        def record(self, stream=None):
            self.at = len(calls)
            calls.append(("record", stream))

        def synchronize(self):
            calls.append("event_synchronize")

        def time_since(self, other):  # PyCUDA: end.time_since(start) is the ms from start to end
            return float(self.at - other.at)

    driver.Event = Event
    driver.mem_get_info = lambda: (100, 400)
    api = PyCudaApi(0, driver=driver)
    start, end = api.event_create(), api.event_create()
    api.event_record(start, "s")
    calls.append("work")
    api.event_record(end, "s")
    api.event_synchronize(end)
    assert api.event_elapsed_ms(start, end) == 2.0 and api.mem_get_info() == (100, 400)


def test_load_cuda_rejects_unknown_names():
    with pytest.raises(UserError, match="--cuda-api"):
        load_cuda("cupy")


# -- on a machine with TensorRT and a GPU -------------------------------------------------------------------


@pytest.mark.gpu
@pytest.mark.tensorrt
@pytest.mark.parametrize("cuda_graph", [False, True])
def test_real_engine_matches_onnxruntime(tmp_path, cuda_graph):
    from edge_saliency.engine.build import build_engine
    from edge_saliency.engine.options import BuildOptions
    from edge_saliency.runners import compare_runners, create_runner
    from tests.stream_fixtures import tiny_conv_onnx

    onnx_path = tiny_conv_onnx(tmp_path / "tiny.onnx", size=(64, 96), batch=1)
    engine = build_engine(onnx_path, BuildOptions(precision="fp32"), backend="tensorrt",
                          output_dir=str(tmp_path / "engines")).path
    x = np.random.default_rng(0).random((3, 3, 64, 96)).astype(np.float32)
    results = compare_runners([create_runner(onnx_path, device="cpu"),
                               create_runner(engine, cuda_graph=cuda_graph)], [x])
    assert all(r.ok for r in results), [str(r) for r in results]


@pytest.mark.gpu
@pytest.mark.tensorrt
def test_real_engine_on_a_worker_thread_with_pycuda(tmp_path):
    pytest.importorskip("pycuda.driver")
    from edge_saliency.engine.build import build_engine
    from edge_saliency.engine.options import BuildOptions
    from edge_saliency.runners import create_runner
    from tests.stream_fixtures import tiny_conv_onnx

    onnx_path = tiny_conv_onnx(tmp_path / "tiny.onnx", size=(64, 96), batch=1)
    engine = build_engine(onnx_path, BuildOptions(precision="fp32"), backend="tensorrt",
                          output_dir=str(tmp_path / "engines")).path
    with create_runner(engine, cuda_api="pycuda") as runner:
        out = []
        worker = threading.Thread(target=lambda: out.append(runner.infer(np.ones((1, 3, 64, 96), np.float32))))
        worker.start()
        worker.join()
        assert out and out[0].shape == (1, 1, 64, 96)


def test_an_engine_dynamic_only_in_size_gets_its_shape_set(tmp_path):
    profile = ((1, 3, 32, 32), (1, 3, 64, 64), (1, 3, 128, 128))
    cuda = FakeCuda()
    runner, _ = make_runner(engine_file(tmp_path), cuda, {"shape": (1, 3, -1, -1), "profile": profile},
                            input_size=(96, 128))
    with runner:
        assert ("set_input_shape", (1, 3, 96, 128)) in cuda.calls and runner.fixed_size == (96, 128)
        x = np.random.default_rng(6).random((2, 3, 96, 128)).astype(np.float32)
        np.testing.assert_allclose(runner.infer(x), x.mean(axis=1, keepdims=True), atol=1e-6)
