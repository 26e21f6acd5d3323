"""The image / map / fixation transforms of training and evaluation, in one place (numpy + OpenCV).

The model input is the image stretched to the model's input size (no crop, no letterbox), RGB scaled to
[0, 1], resized the way the model's config says (:func:`edge_saliency.maths.preprocess.preprocess`, the one
pre-processing every path uses; each encoder normalises inside the graph). Maps are resized with OpenCV:
area averaging when shrinking, bilinear when enlarging.
"""
from typing import Sequence, Tuple

import numpy as np

from ..maths.preprocess import AREA, preprocess, resize

Size = Tuple[int, int]


def _size(size: Sequence[int]) -> Size:
    return int(size[0]), int(size[1])


def resize_image(image: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """Stretch an H×W(×C) map or image to ``size`` = (height, width) (area when shrinking, else bilinear);
    the dtype is kept."""
    return resize(image, _size(size), AREA)


def to_model_input(image_rgb: np.ndarray, size: Sequence[int], mode: str) -> np.ndarray:
    """H×W×3 uint8 RGB → 3×h×w float32 in [0, 1] at the model's input size, resized by ``mode`` (the
    model's ``config.preprocess``)."""
    return preprocess(image_rgb, size, mode)[0]


def scale_points(points: np.ndarray, src_shape: Sequence[int], dst_shape: Sequence[int]) -> np.ndarray:
    """Map 0-based integer pixel (x, y) from an image of ``src_shape`` to the pixel of ``dst_shape`` whose
    area holds the source pixel's centre (the same stretch as :func:`resize_image`)."""
    (sh, sw), (dh, dw) = _size(src_shape), _size(dst_shape)
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    x = np.floor((np.floor(points[:, 0]) + 0.5) * dw / sw)
    y = np.floor((np.floor(points[:, 1]) + 0.5) * dh / sh)
    return np.stack([np.clip(x, 0, dw - 1), np.clip(y, 0, dh - 1)], axis=1)


def points_to_map(points: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """A binary float32 fixation map of ``shape`` with 1 at every (x, y) point (integer pixel coordinates)."""
    h, w = _size(shape)
    fixation_map = np.zeros((h, w), dtype=np.float32)
    points = np.asarray(points).reshape(-1, 2).astype(np.int64)
    fixation_map[points[:, 1], points[:, 0]] = 1.0
    return fixation_map


def hflip(array: np.ndarray) -> np.ndarray:
    """Mirror an H×W(×C) image or map left-right (a contiguous copy)."""
    return np.ascontiguousarray(array[:, ::-1])


def hflip_points(points: np.ndarray, width: int) -> np.ndarray:
    """Mirror 0-based integer pixel (x, y) in an image ``width`` pixels wide: x → width − 1 − x."""
    flipped = np.array(points, dtype=np.float64).reshape(-1, 2)
    flipped[:, 0] = width - 1 - flipped[:, 0]
    return flipped
