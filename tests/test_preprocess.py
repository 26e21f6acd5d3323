"""The shared pre-processing: RGB, stretch to the model size, [0, 1] float32, NCHW."""
import cv2
import numpy as np
import pytest

from edge_saliency.errors import InputShapeError, UserError
from edge_saliency.plugins.upsample_op import bilinear_resize
from edge_saliency.preprocess import preprocess, preprocess_batch, read_image


def _frame(h=60, w=80, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_same_size_is_an_exact_scale_and_transpose():
    frame = _frame(64, 96)
    x = preprocess(frame, (64, 96))
    assert x.shape == (1, 3, 64, 96) and x.dtype == np.float32 and x.flags.c_contiguous
    np.testing.assert_array_equal(x[0], frame.transpose(2, 0, 1).astype(np.float32) / np.float32(255))


def test_resize_is_a_bilinear_stretch():
    # smooth content (bilinear has no antialiasing: on noise, up- and down-sampling differ in detail only)
    yy, xx = np.mgrid[0:90, 0:140]
    frame = np.stack([yy * 2, xx, (yy + xx) % 256], axis=2).astype(np.uint8)
    x = preprocess(frame, (64, 96))  # stretched: aspect 140/90 -> 96/64, no padding
    expected = bilinear_resize(frame.transpose(2, 0, 1)[None].astype(np.float32) / 255, (64, 96))
    # OpenCV resizes uint8 with fixed-point weights and rounds to uint8: within 2/255 of the float reference
    np.testing.assert_allclose(x, expected, atol=2.0 / 255, rtol=0)


def test_bgr_grey_alpha_and_float_frames():
    frame = _frame()
    rgb = preprocess(frame, (32, 32))
    np.testing.assert_array_equal(preprocess(frame[:, :, ::-1], (32, 32), bgr=True), rgb)
    grey = preprocess(frame[:, :, 0], (32, 32))
    np.testing.assert_array_equal(grey[0, 1], grey[0, 0])
    rgba = np.concatenate([frame, np.zeros_like(frame[:, :, :1])], axis=2)
    np.testing.assert_array_equal(preprocess(rgba, (32, 32)), rgb)
    as_float = preprocess(frame.astype(np.float32) / 255, (60, 80))
    np.testing.assert_allclose(as_float, preprocess(frame, (60, 80)), atol=1e-6)
    assert preprocess_batch([frame, frame], (32, 64)).shape == (2, 3, 32, 64)


def test_bad_frames_are_clear_errors(tmp_path):
    with pytest.raises(InputShapeError, match="H×W×3"):
        preprocess(np.zeros((4, 4, 2), np.uint8), (32, 32))
    with pytest.raises(InputShapeError, match="uint8 or float"):
        preprocess(np.zeros((4, 4, 3), np.int32), (32, 32))
    with pytest.raises(UserError, match="not found"):
        read_image(str(tmp_path / "missing.png"))
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(UserError, match="cannot read image"):
        read_image(str(bad))


def test_read_image_is_rgb(tmp_path):
    frame = _frame()
    path = str(tmp_path / "f.png")
    cv2.imwrite(path, frame[:, :, ::-1])  # OpenCV writes BGR
    np.testing.assert_array_equal(read_image(path), frame)
