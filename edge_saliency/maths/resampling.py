"""Bilinear resampling in numpy, as ``torch.nn.functional.interpolate(mode="bilinear")`` computes it.

The reference the ``BilinearUpsample_TRT`` node follows (:mod:`edge_saliency.plugins.upsample_op`), and the
resize the metrics use for maps of another size (:mod:`edge_saliency.maths.metrics`): low-level, numpy only.
"""
from typing import Optional, Sequence, Tuple

import numpy as np


def _source_index(
    in_size: int, out_size: int, align_corners: bool, scale: Optional[float]
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per output index: lower source index, upper source index and the upper weight (float32 math, as
    PyTorch's CPU kernel: area_pixel_compute_scale / area_pixel_compute_source_index)."""
    dst = np.arange(out_size, dtype=np.float32)
    if align_corners:
        ratio = np.float32(in_size - 1) / np.float32(out_size - 1) if out_size > 1 else np.float32(0)
        src = ratio * dst
    else:
        ratio = np.float32(1.0 / scale) if scale else np.float32(np.float32(in_size) / np.float32(out_size))
        # ratio * (dst + 0.5) - 0.5 with ONE rounding (a fused multiply-add, as nvcc compiles PyTorch's CUDA
        # kernel and our plugin): the float64 product of two float32 values is exact
        exact = np.float64(ratio) * (dst + np.float32(0.5)).astype(np.float64) - 0.5
        src = np.maximum(exact.astype(np.float32), np.float32(0))
    lo = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    hi = np.minimum(lo + 1, in_size - 1)
    weight = np.clip(src - lo.astype(np.float32), np.float32(0), np.float32(1)).astype(np.float32)
    return lo, hi, weight


def bilinear_resize(
    x: np.ndarray,
    size: Sequence[int],
    align_corners: bool = False,
    scales: Optional[Sequence[float]] = None,
) -> np.ndarray:
    """Reference bilinear resize of an N×C×H×W array to ``size`` = (H', W'); float16 is computed in float32.

    ``scales`` (scale_height, scale_width), when given, set the source-coordinate ratio to 1 / scale
    instead of H / H' (the dynamic-shape attribute form).
    """
    if x.ndim != 4:
        raise ValueError("bilinear_resize takes an N×C×H×W array, got shape {}".format(x.shape))
    dtype = x.dtype
    xf = x.astype(np.float32, copy=False)
    out_h, out_w = int(size[0]), int(size[1])
    sh, sw = (scales[0], scales[1]) if scales else (None, None)
    h0, h1, lh = _source_index(x.shape[2], out_h, align_corners, sh)
    w0, w1, lw = _source_index(x.shape[3], out_w, align_corners, sw)
    one = np.float32(1)
    # along W first, then H, in the order PyTorch's CPU kernel accumulates
    cols = xf[..., w0] * (one - lw) + xf[..., w1] * lw  # N×C×H×W'
    lh = lh[:, None]
    out = cols[:, :, h0, :] * (one - lh) + cols[:, :, h1, :] * lh
    return out.astype(dtype, copy=False)
