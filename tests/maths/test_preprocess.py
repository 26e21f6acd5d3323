"""The shared pre-processing: RGB, stretch to the model size by the model's mode, [0, 1] float32, NCHW."""
import sys

import cv2
import numpy as np
import pytest

from edge_saliency.config import PREPROCESS_MODES
from edge_saliency.errors import InputShapeError, MissingDependencyError, UserError
from edge_saliency.files.sidecar import Sidecar
from edge_saliency.maths.preprocess import (
    AREA,
    LINEAR,
    PILLOW,
    artifact_mode,
    check_available,
    mode_of,
    preprocess,
    preprocess_batch,
    read_image,
)
from edge_saliency.models.registry import get_preset
from edge_saliency.models.source import ModelSource
from edge_saliency.plugins.upsample_op import bilinear_resize


def _frame(h=60, w=80, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _photo(name):
    from skimage import data

    return getattr(data, name)()


@pytest.mark.parametrize("mode", PREPROCESS_MODES)
def test_same_size_is_an_exact_scale_and_transpose(mode):
    frame = _frame(64, 96)
    x = preprocess(frame, (64, 96), mode)
    assert x.shape == (1, 3, 64, 96) and x.dtype == np.float32 and x.flags.c_contiguous
    np.testing.assert_array_equal(x[0], frame.transpose(2, 0, 1).astype(np.float32) / np.float32(255))


@pytest.mark.parametrize("name, size", [
    ("hubble_deep_field", (480, 640)),  # 872×1000: shrinking, where Pillow averages
    ("chelsea", (480, 640)),  # 300×451: enlarging
    ("astronaut", (224, 320)),  # shrinking one axis more than the other
    ("coffee", (96, 1024)),  # shrinking one axis, enlarging the other
])
def test_pillow_mode_is_the_official_input_bit_for_bit(name, size):
    # the official eval_combined.py: transforms.Compose([transforms.Resize(size), transforms.ToTensor()]) on
    # Image.open(path).convert('RGB')
    from PIL import Image
    from torchvision import transforms

    image = _photo(name)
    official = transforms.Compose([transforms.Resize(size), transforms.ToTensor()])(Image.fromarray(image))
    np.testing.assert_array_equal(preprocess(image, size, PILLOW)[0], official.numpy())
    # an OpenCV BGR frame gives the same tensor
    np.testing.assert_array_equal(preprocess(image[:, :, ::-1], size, PILLOW, bgr=True)[0], official.numpy())


def test_opencv_modes():
    image = _photo("hubble_deep_field")
    rgb = image.astype(np.float32) / np.float32(255)
    for mode, flag in ((LINEAR, cv2.INTER_LINEAR), (AREA, cv2.INTER_AREA)):
        expected = cv2.resize(image, (320, 256), interpolation=flag).astype(np.float32) / np.float32(255)
        np.testing.assert_array_equal(preprocess(image, (256, 320), mode)[0], expected.transpose(2, 0, 1))
    # enlarging: area mode is bilinear too
    small = image[:100, :120]
    np.testing.assert_array_equal(preprocess(small, (256, 320), AREA), preprocess(small, (256, 320), LINEAR))
    # area averages when shrinking, like Pillow; linear samples and aliases
    official = preprocess(image, (256, 320), PILLOW)
    assert np.abs(preprocess(image, (256, 320), AREA) - official).max() < np.abs(
        preprocess(image, (256, 320), LINEAR) - official).max()
    assert rgb.shape == image.shape


def test_resize_is_a_bilinear_stretch():
    # smooth content (bilinear has no antialiasing: on noise, up- and down-sampling differ in detail only)
    yy, xx = np.mgrid[0:90, 0:140]
    frame = np.stack([yy * 2, xx, (yy + xx) % 256], axis=2).astype(np.uint8)
    x = preprocess(frame, (64, 96), LINEAR)  # stretched: aspect 140/90 -> 96/64, no padding
    expected = bilinear_resize(frame.transpose(2, 0, 1)[None].astype(np.float32) / 255, (64, 96))
    # OpenCV resizes uint8 with fixed-point weights and rounds to uint8: within 2/255 of the float reference
    np.testing.assert_allclose(x, expected, atol=2.0 / 255, rtol=0)


@pytest.mark.parametrize("mode", PREPROCESS_MODES)
def test_bgr_grey_alpha_and_float_frames(mode):
    frame = _frame()
    rgb = preprocess(frame, (32, 32), mode)
    np.testing.assert_array_equal(preprocess(frame[:, :, ::-1], (32, 32), mode, bgr=True), rgb)
    grey = preprocess(frame[:, :, 0], (32, 32), mode)
    np.testing.assert_array_equal(grey[0, 1], grey[0, 0])
    rgba = np.concatenate([frame, np.zeros_like(frame[:, :, :1])], axis=2)
    np.testing.assert_array_equal(preprocess(rgba, (32, 32), mode), rgb)
    as_float = preprocess(frame.astype(np.float32) / 255, (60, 80), mode)
    np.testing.assert_allclose(as_float, preprocess(frame, (60, 80), mode), atol=1e-6)
    # float frames are resized in float: within a grey level of the uint8 path
    np.testing.assert_allclose(preprocess(frame.astype(np.float32) / 255, (32, 32), mode), rgb, atol=1.01 / 255)
    assert preprocess_batch([frame, frame], (32, 64), mode).shape == (2, 3, 32, 64)


def test_bad_frames_and_modes_are_clear_errors(tmp_path):
    with pytest.raises(InputShapeError, match="H×W×3"):
        preprocess(np.zeros((4, 4, 2), np.uint8), (32, 32), LINEAR)
    with pytest.raises(InputShapeError, match="uint8 or float"):
        preprocess(np.zeros((4, 4, 3), np.int32), (32, 32), LINEAR)
    with pytest.raises(UserError, match="unknown pre-processing 'bicubic'; choose one of pillow-bilinear"):
        preprocess(_frame(), (32, 32), "bicubic")
    with pytest.raises(UserError, match="not found"):
        read_image(str(tmp_path / "missing.png"))
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(UserError, match="cannot read image"):
        read_image(str(bad))


def test_pillow_mode_without_pillow_names_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)  # import PIL now fails, as on a base install
    monkeypatch.setitem(sys.modules, "PIL.Image", None)
    with pytest.raises(MissingDependencyError, match=r"'PIL' for the pillow-bilinear pre-processing .*--preprocess "
                                                      r"opencv-area.*install it with: pip install Pillow$"):
        preprocess(_frame(), (32, 32), PILLOW)
    with pytest.raises(MissingDependencyError, match="pip install Pillow$"):
        check_available(PILLOW)  # what the runtime checks before it starts
    preprocess(_frame(), (32, 32), AREA)  # the OpenCV modes need no Pillow
    assert check_available(AREA) == AREA and check_available(LINEAR) == LINEAR


def test_the_mode_comes_from_the_model_config_and_any_sidecar(tmp_path):
    official = get_preset("emlnet-resnet50-official")
    assert official.preprocess == PILLOW and mode_of(official) == PILLOW
    assert get_preset("emlnet-lite").preprocess == AREA and mode_of(None) == AREA
    for kind in ("weights", "onnx", "engine", "onnxruntime"):
        path = str(tmp_path / "model.{}".format(kind))
        Sidecar(kind=kind, model=official).save(path)
        assert artifact_mode(path) == PILLOW
    assert artifact_mode(str(tmp_path / "no-sidecar.onnx")) == AREA


def test_read_image_is_rgb(tmp_path):
    frame = _frame()
    path = str(tmp_path / "f.png")
    cv2.imwrite(path, frame[:, :, ::-1])  # OpenCV writes BGR
    np.testing.assert_array_equal(read_image(path), frame)


@pytest.mark.parametrize("preset, size", [("emlnet-resnet50-official", (480, 640)), ("emlnet-lite", (96, 128))])
def test_every_path_feeds_the_model_the_same_tensor(preset, size, tmp_path):
    """One image file → one input tensor: the runtime (`run`'s pipeline), predict / eval, export parity, INT8
    calibration and training all pre-process it with the model's own mode."""
    import torch

    from edge_saliency.capture.sources import open_source
    from edge_saliency.data.datasets import SampleFiles
    from edge_saliency.data.io import read_image_rgb
    from edge_saliency.data.transforms import to_model_input
    from edge_saliency.export import api, evaluate
    from edge_saliency.export.frames import load_frames
    from edge_saliency.pipeline.options import PipelineOptions
    from edge_saliency.pipeline.pipeline import Pipeline
    from edge_saliency.prediction.predict import open_model, predict_files
    from edge_saliency.runners import create_runner

    folder = tmp_path / "frames"
    folder.mkdir()
    path = str(folder / "hubble.jpg")
    cv2.imwrite(path, _photo("hubble_deep_field")[:, :, ::-1])  # 872×1000: shrinking, where modes differ
    mode = get_preset(preset).preprocess
    inputs = {}

    # the runtime: the pipeline of `edge-saliency run FILE --model PRESET` (torch runner; model output faked)
    runner = create_runner(preset, "torch", device="cpu").activate()
    assert runner.preprocess == mode

    def infer(x):
        inputs["runtime"] = x.copy()
        return np.full((x.shape[0], 1) + tuple(size), 0.5, np.float32)

    runner._infer = infer
    with open_source(path) as source:
        pipeline = Pipeline([source], runner, [], PipelineOptions(size=size))
        assert pipeline.preprocess == mode
        pipeline.run()
    runner.deactivate()

    # predict / eval: the images predict_files feeds the model's runner
    with open_model(preset, input_size=size, device="cpu") as opened:
        assert opened.preprocess == mode and opened.size == tuple(size)

        def forward(x):
            inputs["predict"] = x.numpy().copy()
            return torch.full((x.shape[0], 1) + tuple(size), 0.5)

        opened.runner.model.forward = forward
        list(predict_files(opened, [SampleFiles("hubble", path)], workers=0))

    # export: parity frames and INT8 calibration frames, with the mode export_model reads from the config
    export_mode = api.mode_of(ModelSource.parse(preset).config())
    inputs["export parity"] = evaluate.eval_inputs(size, export_mode, frames=load_frames(str(folder)))[0].x
    inputs["int8 calibration"] = api._calibration_inputs(str(folder), None, 1, size, export_mode)[0]
    # training: the sample transform of SaliencyDataset
    inputs["training"] = to_model_input(read_image_rgb(path), size, mode)[None]

    for name, x in inputs.items():
        np.testing.assert_array_equal(x, inputs["runtime"], err_msg=name)
    # and it is the mode's tensor, which differs from the other modes' on a shrinking image
    expected = preprocess(cv2.imread(path)[:, :, ::-1], size, mode)
    np.testing.assert_array_equal(inputs["runtime"], expected)
    for other in set(PREPROCESS_MODES) - {mode}:
        assert np.abs(preprocess(cv2.imread(path)[:, :, ::-1], size, other) - expected).max() > 10 / 255
