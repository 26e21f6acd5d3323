"""The frame path: runners that pre-process uint8 frames with the frame kernels (runners/frame_input.py), the
Preprocessor that then computes the geometry only, and the Inferencer that hands the frames over.

No GPU here: the runners' frame path runs with the host twins (the same per-pixel code as the CUDA kernels) on host
memory — the PyTorch runner on the CPU, the TensorRT runner over a fake CUDA whose device memory is host memory —
so everything but the CUDA launches and copies themselves runs, on real frames (vtest.avi when opencv-doc is
installed, scikit-image's photos)."""
import ctypes
import logging

import numpy as np
import pytest

from edge_saliency.capture.sources import open_source
from edge_saliency.errors import InputShapeError, UserError
from edge_saliency.maths import preprocess as PRE
from edge_saliency.pipeline.frames import Geometry, prepare_frame
from edge_saliency.pipeline.options import PipelineOptions
from edge_saliency.pipeline.packet import Packet
from edge_saliency.pipeline.pipeline import Pipeline
from edge_saliency.pipeline.stages import Inferencer, Preprocessor
from edge_saliency.plugins import frame_kernels as F
from edge_saliency.runners import frame_input
from edge_saliency.runners.torch_runner import TorchRunner
from tests.plugins.test_frame_kernels import real_frames, reference_input
from tests.runners.test_trt_runner import FakeCuda, engine_file, make_runner
from tests.stream_fixtures import FakeRunner

SIZE = (64, 96)  # an EML-Net size (multiples of 32) for the PyTorch runner


@pytest.fixture(scope="module")
def frames():
    return real_frames()


def tiny_model(seed=0):
    """A 3×3 convolution (3 -> 1) and a sigmoid: a model whose output moves at most ``lipschitz`` per unit of
    input change (the sigmoid's slope is at most 1/4)."""
    import torch

    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 1, 3, padding=1), torch.nn.Sigmoid())
    model.lipschitz = float(model[0].weight.detach().abs().sum()) / 4
    return model


def torch_runner(kernels, **kwargs):
    return TorchRunner(tiny_model(), device="cpu", precision="fp32", frame_kernels=kernels, **kwargs)


# -- which frames go to the runner, and their geometry ---------------------------------------------------------


def test_linear_resize_says_which_frames_opencv_resizes_with_inter_linear(frames):
    """The predicate against what preprocess.resize does: where it says INTER_LINEAR, resize equals cv2's
    INTER_LINEAR; opencv-area shrinking both axes is INTER_AREA (another result); pillow never."""
    import cv2

    frame = frames[-1]
    fh, fw = frame.shape[:2]
    cases = {(fh // 3, fw // 3): False, (fh * 2, fw // 2): True, (fh + 16, fw + 32): True, (fh, fw): True}
    for size, linear in cases.items():
        assert PRE.linear_resize(PRE.AREA, (fh, fw), size) is linear
        assert PRE.linear_resize(PRE.LINEAR, (fh, fw), size) is True
        assert PRE.linear_resize(PRE.PILLOW, (fh, fw), size) is False
        ours = PRE.resize(frame, size, PRE.AREA)
        opencv = cv2.resize(frame, size[::-1], interpolation=cv2.INTER_LINEAR)
        assert np.array_equal(ours, opencv) is linear or size == (fh, fw)


@pytest.mark.parametrize("mode, size, letterbox, on_runner", [
    ("opencv-linear", (256, 320), False, True),
    ("opencv-linear", (256, 320), True, True),
    ("opencv-area", (256, 320), True, False),  # shrinking: INTER_AREA, which the kernel does not compute
    ("opencv-area", (1024, 1024), True, True),  # enlarging: INTER_LINEAR
    ("pillow-bilinear", (1024, 1024), False, False),
])
def test_the_preprocessor_leaves_matching_frames_to_the_runner_with_the_same_geometry(frames, mode, size, letterbox,
                                                                                      on_runner):
    for frame in frames:
        x, geometry = prepare_frame(frame, size, mode, letterbox, bgr=True)
        packet = Preprocessor(size, letterbox, mode, frames=True)(Packet(0, 0, 0.0, None, frame, 0.0, 0.0))
        assert packet.geometry == geometry == Geometry.fit(frame.shape[:2], size, letterbox)
        if on_runner:
            assert packet.x is None
        else:
            np.testing.assert_array_equal(packet.x, x)
        off = Preprocessor(size, letterbox, mode)(Packet(0, 0, 0.0, None, frame, 0.0, 0.0))
        np.testing.assert_array_equal(off.x, x)  # default: the host path, as before


def test_grey_frames_stay_on_the_host_path():
    grey = np.full((48, 64), 128, np.uint8)
    packet = Preprocessor(SIZE, False, "opencv-linear", frames=True)(Packet(0, 0, 0.0, None, grey, 0.0, 0.0))
    assert packet.x is not None and packet.x.shape == (1, 3) + SIZE


# -- the PyTorch runner's frame path with the host twins --------------------------------------------------------


def test_torch_frame_path_gives_the_model_input_and_maps_of_the_host_path(host_kernels, frames):
    """Model input: within 1e-5 of INTER_LINEAR's definition in float64 (letterboxed, pad 0.5 around), within 1/255
    of the host pipeline's prepare_frame (OpenCV resizes uint8 in fixed point and rounds); maps through the tiny
    model within lipschitz · 1/255 of the host path's, and equal (1e-6) to the model on the twin's input."""
    with torch_runner(host_kernels) as runner:
        assert runner.frame_input("opencv-linear") and runner.frame_input("opencv-area")
        assert not runner.frame_input("pillow-bilinear")
        boxes = [PRE.content_box(f.shape[:2], SIZE, letterbox=True) for f in frames]
        out = runner.infer_frames(frames, SIZE, boxes)  # three frames of different sizes in one batch
        x = runner._frame_buffers["input"].numpy()
        host = runner.infer(np.concatenate([prepare_frame(f, SIZE, "opencv-linear", True)[0] for f in frames]))
        twin = runner.infer(np.concatenate([F.preprocess(f, SIZE, box=b, library=host_kernels)
                                            for f, b in zip(frames, boxes)]))
        lipschitz = runner.model.lipschitz
    assert out.shape == (len(frames), 1) + SIZE and out.dtype == np.float32
    for i, (frame, (top, left, h, w)) in enumerate(zip(frames, boxes)):
        inside = x[i, :, top:top + h, left:left + w]
        assert np.abs(inside - reference_input(frame, (h, w))[0]).max() <= 1e-5
        padded = np.ones(SIZE, bool)
        padded[top:top + h, left:left + w] = False
        assert np.all(x[i][:, padded] == PRE.PAD_VALUE)
        host_x = prepare_frame(frame, SIZE, "opencv-linear", True)[0][0]
        assert np.abs(x[i] - host_x).max() <= 1 / 255 + 1e-6
    np.testing.assert_allclose(out, twin, atol=1e-6)
    assert 0 < np.abs(out - host).max() <= lipschitz / 255 + 1e-6


def test_torch_frame_path_buffers_are_kept_and_grown(host_kernels, frames):
    with torch_runner(host_kernels) as runner:
        runner.infer_frames(frames[:1], SIZE)
        staging, model_input = runner._frame_buffers["staging"], runner._frame_buffers["input"]
        runner.infer_frames(frames[:1], SIZE)
        assert runner._frame_buffers["staging"] is staging and runner._frame_buffers["input"] is model_input
        runner.infer_frames(frames, SIZE)  # more bytes, a larger batch: made once more
        assert runner._frame_buffers["staging"].numel() == sum(f.nbytes for f in frames)
        grown = runner._frame_buffers["input"]
        assert grown.shape[0] == len(frames)
        out, parts = runner.infer_frames_timed(frames[:2], SIZE)  # a smaller batch: a slice of the same buffers
        assert runner._frame_buffers["input"] is grown and out.shape[0] == 2
        assert set(parts) == {"copy_in", "infer", "copy_out"} and all(v >= 0 for v in parts.values())


def test_torch_frame_path_is_off_by_default_on_the_cpu_and_checks_its_arguments(host_kernels, frames):
    with TorchRunner(tiny_model(), device="cpu", precision="fp32") as runner:
        assert not runner.frame_input("opencv-linear")
        with pytest.raises(UserError, match="does not pre-process frames itself"):
            runner.infer_frames(frames[:1], SIZE)
    with torch_runner(host_kernels) as runner:
        with pytest.raises(InputShapeError, match="H×W×3 uint8"):
            runner.infer_frames([frames[0].astype(np.float32)], SIZE)
        with pytest.raises(InputShapeError, match="does not lie inside"):
            runner.infer_frames(frames[:1], SIZE, [(0, 0, SIZE[0] + 1, SIZE[1])])
        with pytest.raises(InputShapeError, match="1 boxes for 2 frames"):
            runner.infer_frames(frames[:2], SIZE, [(0, 0) + SIZE])
        with pytest.raises(UserError, match="multiple of 32|multiples of 32"):
            runner.infer_frames(frames[:1], (60, 96))


# -- the pipeline hands the runner its frames -------------------------------------------------------------------


def run_pipeline(runner, clip, **options):
    seen, maps = [], []
    infer_frames = runner.infer_frames
    runner.infer_frames = lambda f, size, boxes: seen.append((f, tuple(size), boxes)) or infer_frames(f, size, boxes)
    with open_source(clip) as source:
        Pipeline([source], runner, [], PipelineOptions(max_frames=6, **options)).run(
            on_frame=lambda p: maps.append((p.geometry, p.saliency, p.stats)))
    return seen, maps


@pytest.mark.parametrize("mode, size, letterbox, on_runner", [
    ("opencv-linear", (64, 96), True, True),
    ("opencv-area", (128, 160), False, True),  # the 96×128 clip is enlarged: INTER_LINEAR
    ("opencv-area", (64, 96), False, False),  # shrunk: INTER_AREA on the host
])
def test_the_pipeline_feeds_uint8_frames_and_boxes_and_gets_the_host_paths_maps(host_kernels, clip, mode, size,
                                                                              letterbox, on_runner):
    options = dict(size=size, letterbox=letterbox, preprocess=mode, batch=2)
    with torch_runner(host_kernels) as runner:
        seen, maps = run_pipeline(runner, clip, **options)
    with torch_runner("off") as runner:
        assert run_pipeline(runner, clip, **options)[0] == []
        _, host_maps = run_pipeline(runner, clip, **options)
    assert len(maps) == len(host_maps) == 6
    if not on_runner:
        assert seen == []
        return
    assert sum(len(f) for f, _, _ in seen) == 6 and all(len(f) <= 2 for f, _, _ in seen)
    for batch, got_size, boxes in seen:
        assert got_size == size
        for frame, box in zip(batch, boxes):
            assert frame.dtype == np.uint8 and frame.shape == (96, 128, 3)
            assert box == PRE.content_box((96, 128), size, letterbox)
    for (geometry, saliency, stats), (host_geometry, host_saliency, _) in zip(maps, host_maps):
        assert geometry == host_geometry and stats["bbox"] is not None
        # the final [0, 1] maps (blurred, min-max scaled) within one grey level (measured: 0.0018)
        assert np.abs(saliency - host_saliency).max() <= 1 / 255


def test_bench_times_the_frame_path_the_pipeline_takes(host_kernels, clip):
    """edge-saliency bench's stage timing hands the runner its frames as a run does (inference's parts included)."""
    from edge_saliency.bench.frame_path import time_stages

    with torch_runner(host_kernels) as runner:
        seen = []
        timed = runner.infer_frames_timed
        runner.infer_frames_timed = lambda frames, size, boxes: seen.append(frames) or timed(frames, size, boxes)
        times = time_stages(clip, runner, 4, PipelineOptions(size=(64, 96), preprocess="opencv-linear"))
    assert [f.dtype for frames in seen for f in frames] == [np.uint8] * 4
    assert len(times["preprocess"]) == 4 and len(times["inference"]) == 4 and times["infer"] is not None


def test_a_batch_mixing_frames_and_tensors_keeps_its_order(host_kernels, frames):
    """Frames of several sizes in one batch (opencv-area: one enlarged, one shrunk) take one call each."""
    small = np.ascontiguousarray(frames[0][:40, :60])
    with torch_runner(host_kernels) as runner:
        pre = Preprocessor(SIZE, False, "opencv-area", frames=True)
        packets = [pre(Packet(0, i, 0.0, None, f, 0.0, 0.0)) for i, f in enumerate((frames[0], small, frames[1]))]
        assert [p.x is None for p in packets] == [False, True, False]
        Inferencer(runner)(packets)
        expected = [runner.infer(prepare_frame(frames[0], SIZE, "opencv-area")[0]),
                    runner.infer_frames([small], SIZE), runner.infer(prepare_frame(frames[1], SIZE, "opencv-area")[0])]
    for packet, want in zip(packets, expected):
        np.testing.assert_allclose(packet.raw, want[0, 0], atol=1e-6)
        assert packet.batch == 3 and packet.x is None


def test_runners_without_frame_kernels_keep_the_host_path(clip):
    runner = FakeRunner(size=(32, 48)).activate()
    assert not runner.frame_input("opencv-linear")
    with open_source(clip) as source:
        pipeline = Pipeline([source], runner, [], PipelineOptions(max_frames=2, preprocess="opencv-linear"))
        assert not pipeline.frames_to_runner
        assert pipeline.run().frames == 2
    runner.deactivate()


# -- the library is absent: the host path, said once ------------------------------------------------------------


def test_without_the_library_the_runners_say_so_once_and_keep_the_host_path(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("EDGE_SALIENCY_PLUGIN", str(tmp_path))  # an empty folder: nothing built there
    monkeypatch.setattr("edge_saliency.plugins.library.default_build_dir", lambda: str(tmp_path))
    monkeypatch.setattr(frame_input, "_opened", {})
    with caplog.at_level(logging.INFO, logger="edge_saliency"):
        assert frame_input.open_frame_kernels("cuda") is None
        assert frame_input.open_frame_kernels("cuda") is None
    said = [r for r in caplog.records if "frame kernels are not available" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.INFO and "build-plugin" in said[0].getMessage()
    cuda = HostMemoryCuda()
    runner, _ = make_runner(engine_file(tmp_path), cuda)  # frame_kernels="auto"
    with runner:
        assert not runner.frame_input("opencv-linear")
        with pytest.raises(UserError, match="does not pre-process frames itself"):
            runner.infer_frames([np.zeros((32, 48, 3), np.uint8)], (32, 48))


# -- the TensorRT runner's frame path against the fake TensorRT / CUDA of test_trt_runner -----------------------


class HostMemoryCuda(FakeCuda):
    """FakeCuda whose device buffers are host memory at real addresses, so that the host twins can write the input
    binding the fake engine reads (the CUDA kernels would write device memory at the same offsets)."""

    def __init__(self, graphs=True):
        super().__init__(graphs)
        self._views = {}

    def device_alloc(self, nbytes):
        buffer = bytearray(nbytes)
        view = (ctypes.c_char * max(nbytes, 1)).from_buffer(buffer) if nbytes else None
        pointer = ctypes.addressof(view)
        self.memory[pointer], self._views[pointer] = buffer, view
        self.calls.append(("device_alloc", nbytes))
        return pointer

    def device_free(self, pointer):
        del self._views[pointer]
        super().device_free(pointer)


def resized_frames(frames, count):
    return [np.ascontiguousarray(frames[i % len(frames)][:120 + 8 * i, :160 + 8 * i]) for i in range(count)]


@pytest.mark.parametrize("dtype", ["float", "half"])
def test_trt_frame_path_uploads_uint8_and_runs_the_kernel_into_the_binding(tmp_path, host_kernels, frames, dtype):
    cuda = HostMemoryCuda()
    runner, _ = make_runner(engine_file(tmp_path), cuda, {"dtype": dtype}, frame_kernels=host_kernels)
    batch = resized_frames(frames, 3)
    boxes = [PRE.content_box(f.shape[:2], (32, 48), letterbox=True) for f in batch]
    with runner:
        assert runner.frame_input("opencv-linear") and not runner.frame_input("pillow-bilinear")
        start = len(cuda.calls)
        y = runner.infer_frames(batch, (32, 48), boxes)  # three frames, a batch-1 engine: three runs
        run_calls = cuda.calls[start:]
        binding = runner.bindings["image"]
        assert not binding.host.array.any()  # the float input never went through the host
        input_device = binding.device
    numpy_dtype = np.float16 if dtype == "half" else np.float32
    expected = [F.preprocess(f, (32, 48), numpy_dtype, box=b, library=host_kernels).astype(np.float32).mean(
        axis=1, keepdims=True) for f, b in zip(batch, boxes)]
    np.testing.assert_array_equal(y, np.concatenate(expected))
    run = ["htod", "execute", "dtoh", "sync"]
    grow = ["device_free", "host_free", "host_empty", "device_alloc"]  # each frame is larger than the one before
    assert [c[0] for c in run_calls] == grow[2:] + run + grow + run + grow + run
    uploads = [c for c in run_calls if c[0] == "htod"]
    assert [c[2] for c in uploads] == [f.nbytes for f in batch]  # uint8 frames, not 3×32×48 floats
    assert all(c[1] != input_device for c in uploads)


def test_trt_frame_path_batches_grows_once_and_frees_everything(tmp_path, host_kernels, frames):
    profile = ((1, 3, 32, 48), (1, 3, 32, 48), (4, 3, 32, 48))
    cuda = HostMemoryCuda()
    runner, _ = make_runner(engine_file(tmp_path), cuda, {"shape": (-1, 3, 32, 48), "profile": profile}, batch=4,
                            frame_kernels=host_kernels)
    batch = resized_frames(frames, 4)
    with runner:
        start = len(cuda.calls)
        y = runner.infer_frames(batch[:2], (32, 48))
        first = cuda.calls[start:]
        assert [c[0] for c in first] == ["host_empty", "device_alloc", "htod", "set_input_shape", "execute", "dtoh",
                                         "sync"]
        assert first[0] == ("host_empty", (batch[0].nbytes + batch[1].nbytes,), "uint8")
        expected = [F.preprocess(f, (32, 48), library=host_kernels).mean(axis=1, keepdims=True) for f in batch]
        np.testing.assert_array_equal(y, np.concatenate(expected[:2]))  # each frame in its own batch slot
        start = len(cuda.calls)
        runner.infer_frames(batch[:1], (32, 48))  # smaller: the same buffers
        assert "device_alloc" not in [c[0] for c in cuda.calls[start:]]
        start = len(cuda.calls)
        y = runner.infer_frames(batch, (32, 48))  # larger: the old buffers freed, new ones made, once
        grown = [c[0] for c in cuda.calls[start:]]
        assert grown[:4] == ["device_free", "host_free", "host_empty", "device_alloc"] and grown.count("htod") == 1
        np.testing.assert_array_equal(y, np.concatenate(expected))
        with pytest.raises(InputShapeError, match="takes 32x48 inputs, not 64x96"):
            runner.infer_frames(batch[:1], (64, 96))
    assert cuda.memory == {} and cuda.names().count("host_free") == 3 + 1  # two bindings, the staging twice


def test_trt_frame_path_timed_and_with_a_cuda_graph(tmp_path, host_kernels, frames):
    cuda = HostMemoryCuda(graphs=True)
    runner, _ = make_runner(engine_file(tmp_path), cuda, cuda_graph=True, frame_kernels=host_kernels)
    batch = resized_frames(frames, 1)
    with runner:
        plain = runner.infer_frames(batch, (32, 48))
        cuda.calls.clear()
        out, times = runner.infer_frames_timed(batch, (32, 48))
        order = [n for n in cuda.names() if n in ("event_record", "htod", "graph_launch", "dtoh", "sync",
                                                  "event_synchronize")]
    assert order == ["event_record", "htod", "event_record", "graph_launch", "event_record", "dtoh", "event_record",
                     "sync", "event_synchronize"]
    assert times == {"copy_in": 0.001, "infer": 0.001, "copy_out": 0.001}
    np.testing.assert_array_equal(out, plain)
    np.testing.assert_array_equal(out, F.preprocess(batch[0], (32, 48), library=host_kernels).mean(1, keepdims=True))


def test_trt_frame_path_off_on_request_or_for_an_input_it_cannot_write(tmp_path, host_kernels):
    runner, _ = make_runner(engine_file(tmp_path), HostMemoryCuda(), frame_kernels="off")
    with runner:
        assert not runner.frame_input("opencv-linear")
    assert not frame_input.takes_frames(host_kernels, "opencv-linear", np.int8)
    assert frame_input.takes_frames(host_kernels, "opencv-area", np.float16)
    with pytest.raises(UserError, match="frame_kernels is 'auto', 'off' or a FrameLibrary"):
        frame_input.resolve_kernels("cuda", "cuda")
