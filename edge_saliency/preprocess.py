"""The one pre-processing every model input goes through: export parity checks, INT8 calibration, the
accuracy report and the runtime all call :func:`preprocess`, so calibration statistics are those of the
frames the deployed model sees.

A frame (H×W×3 RGB or BGR, uint8 or float in [0, 1]; also H×W grey or H×W×4 with alpha) becomes a
1×3×h×w float32 array in [0, 1], RGB, NCHW: the frame is *stretched* to the model input size (h, w) with
bilinear interpolation (``cv2.INTER_LINEAR``, no aspect-ratio padding, as the official EML-Net code
does), converted to float and divided by 255. Each encoder's mean/std normalization is inside the model
graph, so there is nothing else to do here.

numpy + OpenCV only (both part of the base install); runs on Python 3.8.
"""
import os
from typing import Iterable, Sequence, Tuple

import numpy as np

from ._lazy import require
from .errors import InputShapeError, UserError

INTERPOLATION = "INTER_LINEAR"  # the cv2 flag name, recorded in sidecars
PAD_VALUE = 0.5  # letterbox padding in [0, 1] (mid-grey)


def _cv2():  # type: ignore[no-untyped-def]
    return require("cv2", purpose="image pre-processing")


def to_rgb(frame: np.ndarray, bgr: bool = False) -> np.ndarray:
    """An H×W×3 RGB view/copy of ``frame`` (grey is repeated; an alpha channel is dropped)."""
    if frame.ndim == 2:
        return np.repeat(frame[:, :, None], 3, axis=2)
    if frame.ndim != 3 or frame.shape[2] not in (3, 4):
        raise InputShapeError(
            "a frame must be H×W (grey), H×W×3 or H×W×4, got shape {}".format(tuple(frame.shape))
        )
    frame = frame[:, :, :3]
    return frame[:, :, ::-1] if bgr else frame


def content_box(frame_size: Sequence[int], size: Sequence[int], letterbox: bool = False) -> Tuple[int, int, int, int]:
    """(top, left, height, width) of the frame's pixels inside a model input of ``size`` = (h, w): the whole
    input when stretched, a centred box with the frame's aspect ratio when letterboxed."""
    fh, fw = int(frame_size[0]), int(frame_size[1])
    h, w = int(size[0]), int(size[1])
    if min(fh, fw, h, w) < 1:
        raise InputShapeError("frame size {} and model input size {} must be positive".format((fh, fw), (h, w)))
    if not letterbox:
        return 0, 0, h, w
    scale = min(h / fh, w / fw)
    ch = min(h, max(1, int(round(fh * scale))))
    cw = min(w, max(1, int(round(fw * scale))))
    return (h - ch) // 2, (w - cw) // 2, ch, cw


def preprocess(frame: np.ndarray, size: Sequence[int], bgr: bool = False, letterbox: bool = False) -> np.ndarray:
    """``frame`` → 1×3×h×w float32 RGB in [0, 1] for a model whose input is ``size`` = (h, w).

    ``bgr``: the frame comes from OpenCV (``cv2.imread`` / ``VideoCapture``) in BGR order.
    uint8 frames are divided by 255; float frames must already be in [0, 1].
    ``letterbox`` (runtime option): keep the aspect ratio and pad with :data:`PAD_VALUE` instead of stretching.
    """
    frame = np.asarray(frame)
    if frame.size == 0:
        raise InputShapeError("empty frame of shape {}".format(tuple(frame.shape)))
    rgb = to_rgb(frame, bgr=False)  # channel order is handled in the copy below
    if rgb.dtype == np.uint8:
        divisor = np.float32(255)
    elif rgb.dtype in (np.float32, np.float64, np.float16):
        divisor = np.float32(1)
        rgb = rgb.astype(np.float32, copy=False)
    else:
        raise InputShapeError("frames must be uint8 or float in [0, 1], got dtype {}".format(rgb.dtype))
    top, left, ch, cw = content_box(rgb.shape[:2], size, letterbox)
    if rgb.shape[:2] != (ch, cw):
        cv2 = _cv2()
        rgb = cv2.resize(np.ascontiguousarray(rgb), (cw, ch), interpolation=getattr(cv2, INTERPOLATION))
    x = np.empty((1, 3, int(size[0]), int(size[1])), dtype=np.float32)
    if (ch, cw) != x.shape[2:]:
        x.fill(PAD_VALUE)
    # one pass per channel: HWC -> CHW, colour order, scaling, straight into the output
    for c, source in enumerate((2, 1, 0) if bgr else (0, 1, 2)):
        np.divide(rgb[:, :, source], divisor, out=x[0, c, top:top + ch, left:left + cw], dtype=np.float32,
                  casting="unsafe")
    return x


def preprocess_batch(frames: Iterable[np.ndarray], size: Sequence[int], bgr: bool = False) -> np.ndarray:
    """Several frames → N×3×h×w float32 (each as :func:`preprocess`)."""
    arrays = [preprocess(f, size, bgr) for f in frames]
    if not arrays:
        raise UserError("no frames to pre-process")
    return np.concatenate(arrays, axis=0)


def read_image(path: str) -> np.ndarray:
    """An image file as H×W×3 RGB uint8 (any format OpenCV reads); a clear error if it cannot be read."""
    cv2 = _cv2()
    if not os.path.isfile(path):
        raise UserError("image not found: {}".format(path))
    image = cv2.imread(os.fspath(path), cv2.IMREAD_COLOR)
    if image is None:
        raise UserError("cannot read image {} (not an image format OpenCV reads?)".format(path))
    return np.ascontiguousarray(image[:, :, ::-1])
