"""Shared fixtures: a real EML-Net (emlnet-lite, random weights) as .safetensors and as ONNX at 64×96, a
one-convolution ONNX model for long runs, a clip made from scikit-image's photos, fake runners, and the frame
kernels' host library built here."""
import time

import numpy as np
import pytest

from edge_saliency.capture.source import Source, SourceFrame
from edge_saliency.runners.base import Runner

LITE_SIZE = (64, 96)


def tiny_conv_onnx(path, size=(32, 48), batch="N", channels=3):
    """image (N×C×H×W) -> Conv 3×3 (C->1) -> Sigmoid -> saliency; ``batch`` "N" is dynamic, an int static."""
    import onnx
    from onnx import TensorProto, helper

    weight = np.random.default_rng(0).standard_normal((1, channels, 3, 3)).astype(np.float32) * 0.3
    graph = helper.make_graph(
        [helper.make_node("Conv", ["image", "w"], ["c"], pads=[1, 1, 1, 1]),
         helper.make_node("Sigmoid", ["c"], ["saliency"])],
        "tiny",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [batch, channels, size[0], size[1]])],
        [helper.make_tensor_value_info("saliency", TensorProto.FLOAT, [batch, 1, size[0], size[1]])],
        initializer=[helper.make_tensor("w", TensorProto.FLOAT, weight.shape, weight.ravel())],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return str(path)


@pytest.fixture(scope="session")
def lite_files(tmp_path_factory):
    """(safetensors path, ONNX path with a dynamic batch) of the same emlnet-lite at 64×96."""
    import torch

    from edge_saliency import create_model, save_model

    folder = tmp_path_factory.mktemp("lite")
    torch.manual_seed(0)
    model = create_model("emlnet-lite", input_size=LITE_SIZE)
    weights = str(folder / "lite.safetensors")
    save_model(model, weights)
    onnx_path = str(folder / "lite.onnx")
    torch.onnx.export(model, torch.rand(1, 3, *LITE_SIZE), onnx_path, input_names=["image"],
                      output_names=["saliency"], opset_version=17, dynamo=False,
                      dynamic_axes={"image": {0: "N"}, "saliency": {0: "N"}})
    return weights, onnx_path


@pytest.fixture(scope="session")
def host_kernels(tmp_path_factory):
    """The host library (the kernels' host twins) built here, without CUDA or TensorRT (a few seconds)."""
    import shutil

    from edge_saliency.plugins.build import build_plugins

    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed: the native libraries cannot be built here")
    report = build_plugins(build_dir=str(tmp_path_factory.mktemp("host-build")), cuda=False, tensorrt=False,
                           tests=False)
    from edge_saliency.plugins.frame_kernels import FrameLibrary

    return FrameLibrary("host", path=report.built["host"])


@pytest.fixture(scope="session")
def clip(tmp_path_factory):
    """A 40-frame 96×128 clip at 15 fps of pans and zooms over scikit-image photos (real frames)."""
    from edge_saliency.outputs.sample_clip import write_sample_clip

    path = str(tmp_path_factory.mktemp("clip") / "clip.mp4")
    return write_sample_clip(path, frames=40, size=(96, 128), fps=15.0)


@pytest.fixture
def tiny_onnx(tmp_path):
    return lambda name="tiny.onnx", **kwargs: tiny_conv_onnx(tmp_path / name, **kwargs)


class FakeRunner(Runner):
    """A runner without a model: the map is the frame's mean colour per pixel; ``delay`` seconds per call."""

    backend = "fake"

    def __init__(self, delay=0.0, size=(32, 48), max_batch=None, static_batch=False):
        super().__init__("fake")
        self.delay = delay
        self.input_shape = (-1, 3, size[0], size[1])
        self.max_batch, self.static_batch = max_batch, static_batch
        self.calls = []

    def _activate(self):
        pass

    def _infer(self, x):
        self.calls.append(x.shape[0])
        if self.delay:
            time.sleep(self.delay)
        return x.mean(axis=1, keepdims=True)

    def _deactivate(self):
        pass


class ArraySource(Source):
    """Generated frames: a file-like source (every frame), or a live one producing a frame every ``period``."""

    def __init__(self, count, size=(48, 64), live=False, period=0.0, fps=20.0):
        super().__init__("test://{}".format("live" if live else "file"))
        self.kind = "camera" if live else "file"
        self.count, self.shape, self.period = count, size + (3,), period
        self.fps, self.frame_count, self.size = fps, count, size
        self._index = 0
        self._next = None

    def open(self):
        return self

    def read(self):
        if self._index >= self.count or self.stop_event.is_set():
            return None
        if self.period:
            now = time.perf_counter()
            self._next = (self._next or now) + self.period
            time.sleep(max(0.0, self._next - now))
        image = np.empty(self.shape, np.uint8)
        image[...] = (self._index * 7) % 256
        image[: self.shape[0] // 2, : self.shape[1] // 3] = 255  # a bright, salient corner
        frame = SourceFrame(image, self._index, self._index / self.fps)
        self._index += 1
        return frame
