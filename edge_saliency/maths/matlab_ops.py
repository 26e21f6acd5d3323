"""The MATLAB operations the MIT saliency benchmark's metric code relies on, where MATLAB's numbers differ
from numpy's obvious counterpart: ``eps``, round, the colon range ``a:d:b`` and ``imresize``.
Facts and sources: docs/metrics.md ("MATLAB operations").
"""
import math
from typing import Sequence, Tuple

import numpy as np

EPS = float(np.finfo(np.float64).eps)  # MATLAB's eps = 2^-52 = 2.220446049250313e-16


def matlab_round(x: float) -> int:
    """MATLAB's round: halves away from zero (Python's round goes to even)."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def colon(start: float, step: float, stop: float) -> np.ndarray:
    """MATLAB's ``start:step:stop`` for doubles (non-integer step), element for element.

    MATLAB does not compute ``start + k*step`` for every k. It counts the intervals
    n = round((stop - start) / step), less one when start + n*step passes stop by more than
    tol = 2·eps·max(|start|, |stop|); the last element is start + n*step, snapped to stop when it is within
    tol of it; the first half of the elements is start + k*step, the second half last − k*step, and the middle
    one of an odd count (start + last) / 2. So ``0:0.1:0.6`` has 7 elements, the last exactly 0.6 (not
    6*0.1 = 0.6000000000000001), the 4th (0 + 0.6)/2 = 0.3 and the 5th 0.6 − 0.2 = 0.39999999999999997.
    """
    start, step, stop = float(start), float(step), float(stop)
    if not all(math.isfinite(v) for v in (start, step, stop)):
        raise ValueError("colon needs finite numbers, got {}:{}:{}".format(start, step, stop))
    if step == 0 or (step > 0 and start > stop) or (step < 0 and start < stop):
        return np.zeros(0)
    tol = 2.0 * EPS * max(abs(start), abs(stop))
    sign = 1.0 if step > 0 else -1.0
    n = matlab_round((stop - start) / step)
    if sign * (start + n * step - stop) > tol:
        n -= 1
    last = start + n * step
    if sign * (last - stop) > -tol:
        last = stop
    k = np.arange(n // 2 + 1, dtype=np.float64)
    out = np.empty(n + 1)
    out[: n // 2 + 1] = start + k * step
    out[n - np.arange(n // 2 + 1)] = last - k * step
    if n % 2 == 0:
        out[n // 2] = (start + last) / 2
    return out


def _cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = −0.5 (MATLAB's 'bicubic')."""
    ax = np.abs(x)
    ax2, ax3 = ax * ax, ax * ax * ax
    return ((1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1)
            + (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2)))


def _contributions(n_in: int, n_out: int, scale: float) -> Tuple[np.ndarray, np.ndarray]:
    """Per output pixel, the weights and 0-based input indices of imresize's bicubic along one axis."""
    width = 4.0
    if scale < 1:  # shrinking: the kernel is stretched by 1/scale (antialiasing, imresize's default)
        width /= scale
    u = np.arange(1, n_out + 1, dtype=np.float64) / scale + 0.5 * (1 - 1 / scale)  # 1-based input coordinate
    left = np.floor(u - width / 2)
    indices = left[:, None] + np.arange(int(math.ceil(width)) + 2)
    distance = u[:, None] - indices
    weights = scale * _cubic(scale * distance) if scale < 1 else _cubic(distance)
    weights = weights / weights.sum(axis=1, keepdims=True)  # each output pixel's weights sum to 1
    # taps outside the image mirror back into it, the edge pixel repeated (..., 2, 1 | 1, 2, ..., n | n, n-1, ...)
    period = np.mod(indices.astype(np.int64) - 1, 2 * n_in)
    return weights, np.where(period < n_in, period, 2 * n_in - 1 - period)


def imresize(array: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """MATLAB's ``imresize(A, [M N])`` of a 2-D double array: bicubic, antialiased when shrinking.

    Along each axis with scale s = out / in, output pixel x (1-based) reads input coordinate
    u = x/s + (1 − 1/s)/2 with Keys' cubic kernel (stretched by 1/s when s < 1), the weights normalised to
    sum 1 and out-of-range taps mirrored into the image (edge pixel repeated); the axis with the smaller
    scale goes first.
    A constant map stays exactly constant (the normalised weights would only add rounding).
    """
    a = np.asarray(array, dtype=np.float64)
    out_shape = (int(shape[0]), int(shape[1]))
    if a.shape == out_shape:
        return a
    if a.size and a.max() == a.min():
        return np.full(out_shape, a.flat[0])
    scales = [out_shape[0] / a.shape[0], out_shape[1] / a.shape[1]]
    for axis in sorted((0, 1), key=lambda d: scales[d]):  # stable, like MATLAB's sort: rows first on a tie
        if a.shape[axis] == out_shape[axis]:
            continue  # scale 1: the weights are exactly (0, 1, 0, 0), imresize leaves the axis as it is
        weights, indices = _contributions(a.shape[axis], out_shape[axis], scales[axis])
        if axis == 0:
            a = (a[indices] * weights[:, :, None]).sum(axis=1)
        else:
            a = (a[:, indices] * weights[None]).sum(axis=2)
    return a
