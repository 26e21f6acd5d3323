"""Saliency metrics, pure numpy, in the two conventions of the field's two reference implementations.

``convention=`` (docs/metrics.md has the details, the degenerate-case table and the sources):

``"mit"`` (the default) — what the MIT saliency benchmark's MATLAB code (cvzoya/saliency, code_forMetrics),
which EML-Net was evaluated with, computes, degenerate inputs included: std with N−1; AUC-Judd negatives are
the non-fixated pixels, with optional jitter; each fixated *pixel* counts once (fixations are a binary map);
SIM and IG min-max normalise; KLD and IG use MATLAB's eps (2.220446049250313e-16); AUC-Borji / shuffled AUC
thresholds are MATLAB's colon range ``0:step:max``; a map of another size is resized with MATLAB's
``imresize`` (bicubic, antialiased). Where the MATLAB code divides 0 by 0 — a constant map's std or min-max,
no fixations, no negatives — the score is NaN, as there.

``"pysaliency"`` — the MIT/Tübingen benchmark's Python code (pysaliency 0.2.22), step by step in numpy:
std with N; AUC negatives are all pixels with exact ties (a constant map scores exactly 0.5); every fixation
counts (duplicates too); SIM, KLD and IG turn maps into densities by shifting negative maps to 0 and dividing
by the sum (KLD and IG after adding 1e-20); CC of a constant map is 0 (against a constant density NaN).
pysaliency needs maps at the fixations' size; here other sizes are resized bilinearly.

AUC-Borji exists only in the MIT form (SALICON's "AUC" is Borji-style). All random sampling (Borji,
shuffled AUC, jitter) is seeded; it cannot reproduce MATLAB's random stream, only its distribution.

Inputs: ``saliency_map`` is a 2-D array of any size, treated as doubles (the MIT benchmark scores
``im2double`` maps; every metric is invariant to that scaling). ``fixations`` is either a 2-D map
(non-zero = fixated; an integer map of counts keeps multiplicities for the pysaliency convention) or an
N×2 array of (x, y) 0-based pixel coordinates together with ``shape=(height, width)``; points outside the
image are dropped. Degenerate inputs return NaN as described above; malformed ones raise ``ValueError``.
"""
import math
from typing import Optional, Sequence, Tuple

import numpy as np

from .matlab_ops import EPS as MATLAB_EPS  # 2.220446049250313e-16
from .matlab_ops import imresize
from .resampling import bilinear_resize

# numpy >= 2 renamed trapz (and 2.4 removed it); numpy 1.x, the one for Python 3.8, has only trapz
_trapezoid = np.trapezoid if hasattr(np, "trapezoid") else np.trapz  # type: ignore[attr-defined]

MIT = "mit"
PYSALIENCY = "pysaliency"
CONVENTIONS = (MIT, PYSALIENCY)
PYSALIENCY_MINIMUM = 1e-20  # pysaliency's minimum_value for KL divergence and densities
NAN = float("nan")


# -- inputs --------------------------------------------------------------------------------------------


def _check_convention(convention: str) -> None:
    if convention not in CONVENTIONS:
        raise ValueError("convention must be one of {}, got {!r}".format(CONVENTIONS, convention))


def _as_map(array: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(array, dtype=np.float64)
    if array.ndim == 3 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 2 or array.size == 0:
        raise ValueError("{} must be a non-empty 2-D map, got shape {}".format(name, array.shape))
    if not np.isfinite(array).all():
        raise ValueError("{} contains NaN or infinite values".format(name))
    return array


def resize_map(saliency_map: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Bilinear (half-pixel) resize of a 2-D map to ``shape``; a map of that size is returned as is."""
    saliency_map = _as_map(saliency_map, "saliency_map")
    if saliency_map.shape == tuple(shape):
        return saliency_map
    resized = bilinear_resize(saliency_map.astype(np.float32)[None, None], (int(shape[0]), int(shape[1])))
    return resized[0, 0].astype(np.float64)


def _resized(saliency_map: np.ndarray, shape: Sequence[int], convention: str, name: str = "saliency_map"
             ) -> np.ndarray:
    """The map at ``shape``: MATLAB's imresize for the MIT convention, bilinear otherwise."""
    if convention == MIT:
        return imresize(_as_map(saliency_map, name), shape)
    return resize_map(_as_map(saliency_map, name), shape)


def fixation_points(
    fixations: np.ndarray, shape: Optional[Sequence[int]] = None
) -> Tuple[np.ndarray, np.ndarray, Tuple[int, int]]:
    """(rows, cols, shape) of every fixation, with multiplicity.

    A 2-D map gives each non-zero pixel ``round(value)`` times when it holds integer counts, else once.
    An N×2 (x, y) array needs ``shape``; points outside the image are dropped.
    """
    fixations = np.asarray(fixations)
    if fixations.ndim == 2 and fixations.shape[1] == 2 and shape is not None:
        h, w = int(shape[0]), int(shape[1])
        xs = np.floor(fixations[:, 0]).astype(np.int64)
        ys = np.floor(fixations[:, 1]).astype(np.int64)
        keep = (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
        return ys[keep], xs[keep], (h, w)
    if fixations.ndim != 2:
        raise ValueError(
            "fixations must be a 2-D fixation map, or an N×2 (x, y) array with shape=(height, width); "
            "got shape {}".format(fixations.shape)
        )
    rows, cols = np.nonzero(fixations)
    values = fixations[rows, cols]
    if np.issubdtype(fixations.dtype, np.integer) or np.all(values == np.round(values)):
        counts = np.maximum(np.round(values).astype(np.int64), 1)
        rows, cols = np.repeat(rows, counts), np.repeat(cols, counts)
    return rows, cols, (fixations.shape[0], fixations.shape[1])


def _fixations_for(
    saliency_map: np.ndarray, fixations: np.ndarray, shape: Optional[Sequence[int]], convention: str
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The saliency map at the fixations' size, and the fixations' rows/cols (unique pixels for MIT; none
    when no fixation lies inside the image)."""
    if shape is None and np.asarray(fixations).shape[-1] == 2 and np.asarray(fixations).ndim == 2:
        shape = np.asarray(saliency_map).shape[-2:]
    rows, cols, size = fixation_points(fixations, shape)
    if convention == MIT:  # a binary fixation map: each fixated pixel once
        flat = np.unique(rows * size[1] + cols)
        rows, cols = flat // size[1], flat % size[1]
    return _resized(saliency_map, size, convention), rows, cols


def _is_constant(array: np.ndarray) -> bool:
    # exact test: a float std of equal values need not be 0 (the mean of N copies of c is rounded)
    return bool(array.max() == array.min())


def _minmax_or_none(array: np.ndarray) -> Optional[np.ndarray]:
    """(x − min) / (max − min); None where MATLAB gets 0/0 = NaN everywhere (a constant map)."""
    if _is_constant(array):
        return None
    return (array - array.min()) / (array.max() - array.min())


def _zscore(array: np.ndarray) -> np.ndarray:
    """MATLAB's (x − mean(x)) / std(x) (std with N−1) of a non-constant map."""
    return (array - array.mean()) / array.std(ddof=1)


def _pysaliency_density(array: np.ndarray, minimum: float) -> np.ndarray:
    """pysaliency's conversion of a saliency map into a density: shift a negative map to 0, add
    ``minimum``, divide by the sum (a map summing to 0 becomes uniform)."""
    if array.min() < 0:
        array = array - array.min()
    array = array + minimum
    total = array.sum()
    return array / total if total else np.full_like(array, 1.0 / array.size)


# -- distribution-based metrics ------------------------------------------------------------------------


def cc(saliency_map: np.ndarray, other_map: np.ndarray, convention: str = MIT) -> float:
    """Pearson linear correlation of two maps; 1 = identical up to an affine change. ``saliency_map`` is
    resized to ``other_map``'s size.

    mit (CC.m): both maps z-scored (std N−1), then corr2; NaN if either map is constant.
    pysaliency: both centred and divided by their std unless it is 0, then numpy's corrcoef; a constant
    saliency map against a non-constant one scores 0.0, a constant ``other_map`` gives NaN.
    """
    _check_convention(convention)
    other = _as_map(other_map, "other_map")
    pred = _resized(saliency_map, other.shape, convention)
    if convention == MIT:
        if _is_constant(pred) or _is_constant(other):
            return NAN
        a, b = _zscore(pred), _zscore(other)
        a, b = a - a.mean(), b - b.mean()  # corr2 centres again
        return float((a * b).sum() / math.sqrt((a * a).sum() * (b * b).sum()))

    def normalise(x: np.ndarray) -> Tuple[np.ndarray, bool]:
        x = x - x.mean()
        std = x.std()
        return (x / std if std else x), bool(std == 0)

    (a, a_constant), (b, b_constant) = normalise(pred), normalise(other)
    if a_constant and not b_constant:
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):  # a zero map: NaN, as numpy's corrcoef gives
        return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def kld(saliency_map: np.ndarray, density: np.ndarray, convention: str = MIT) -> float:
    """KL divergence of the predicted distribution P from the ground-truth density Q (0 = identical).

    mit (KLdiv.m): each map divided by its sum unless it is all zeros (an all-zero map stays zero);
    Σ Q · log(eps + Q / (P + eps)) with MATLAB's eps. The maps must be non-negative (for a negative map
    MATLAB returns a complex number); where imresize's bicubic overshoot makes an enlarged map dip below 0,
    MATLAB's result is complex too, and this is its real part.
    pysaliency: 1e-20 added to both maps (after shifting negative maps to 0), sum-normalised;
    Σ Q · (log Q − log P).
    """
    _check_convention(convention)
    q = _as_map(density, "density")
    p = _resized(saliency_map, q.shape, convention)
    if convention == MIT:
        for name, m in (("saliency_map", saliency_map), ("density", q)):
            if np.min(m) < 0:
                raise ValueError("{} has negative values ({:g}); the MIT KLD treats maps as distributions "
                                 "(shift or clip them to >= 0, or use convention='pysaliency')".format(name, np.min(m)))
        p = p / p.sum() if p.any() else p
        q = q / q.sum() if q.any() else q
        with np.errstate(divide="ignore", invalid="ignore"):
            # |.|: where a bicubic-enlarged map dips below 0, MATLAB's log is complex; this is its real part
            return float((q * np.log(np.abs(MATLAB_EPS + q / (p + MATLAB_EPS)))).sum())
    log_p = np.log(_pysaliency_density(p, PYSALIENCY_MINIMUM))
    log_q = np.log(_pysaliency_density(q, PYSALIENCY_MINIMUM))
    return float((np.exp(log_q) * (log_q - log_p)).sum())


def sim(saliency_map: np.ndarray, density: np.ndarray, convention: str = MIT) -> float:
    """Similarity (histogram intersection) Σ min(P, Q) of the sum-normalised maps; 1 = identical.

    mit (similarity.m): a map that is not all zeros is min-max normalised, then divided by its sum (an
    all-zero map stays zero); NaN if either map is a non-zero constant (its min-max is 0/0).
    pysaliency: densities without min-max (negative maps shifted to 0; an all-zero map becomes uniform).
    """
    _check_convention(convention)
    q = _as_map(density, "density")
    p = _resized(saliency_map, q.shape, convention)
    if convention == MIT:
        normalised = []
        for m in (p, q):
            if m.any():
                scaled = _minmax_or_none(m)
                if scaled is None:
                    return NAN
                m = scaled / scaled.sum()
            normalised.append(m)
        p, q = normalised
    else:
        p, q = _pysaliency_density(p, 0.0), _pysaliency_density(q, 0.0)
    return float(np.minimum(p, q).sum())


# -- fixation-based metrics ----------------------------------------------------------------------------


def nss(
    saliency_map: np.ndarray, fixations: np.ndarray, convention: str = MIT, shape: Optional[Sequence[int]] = None
) -> float:
    """Normalized scanpath saliency: mean of the z-scored map at the fixations.

    mit (NSS.m): std with N−1, each fixated pixel once; NaN for a constant map (0/0) or no fixations.
    pysaliency: std with N, every fixation counts; the map is divided by its std only when that is
    non-zero, so a constant map scores 0 (when numpy's mean of it is exact); NaN without fixations.
    """
    _check_convention(convention)
    smap, rows, cols = _fixations_for(saliency_map, fixations, shape, convention)
    if rows.size == 0:
        return NAN
    if convention == MIT:
        return NAN if _is_constant(smap) else float(_zscore(smap)[rows, cols].mean())
    values = smap[rows, cols] - smap.mean()
    std = smap.std()
    return float((values / std if std else values).mean())


def information_gain(
    saliency_map: np.ndarray,
    fixations: np.ndarray,
    baseline_map: np.ndarray,
    convention: str = MIT,
    shape: Optional[Sequence[int]] = None,
) -> float:
    """Information gain over a baseline map (e.g. a centre bias), in bits per fixation.

    mit (InfoGain.m): both maps min-max normalised, then divided by their sums; mean over the fixated pixels
    of log2(eps + P) − log2(eps + B) with MATLAB's eps. NaN if either map is constant (a uniform baseline
    included) or without fixations.
    pysaliency: both maps as pysaliency densities with 1e-20 added (its SaliencyMapNormalizingModel, as
    for KLD); mean over every fixation of (log P − log B) / log 2; NaN without fixations.
    """
    _check_convention(convention)
    smap, rows, cols = _fixations_for(saliency_map, fixations, shape, convention)
    base = _resized(baseline_map, smap.shape, convention, "baseline_map")
    if rows.size == 0:
        return NAN
    if convention == MIT:
        p, b = _minmax_or_none(smap), _minmax_or_none(base)
        if p is None or b is None:
            return NAN
        p, b = p / p.sum(), b / b.sum()
        return float((np.log2(MATLAB_EPS + p[rows, cols]) - np.log2(MATLAB_EPS + b[rows, cols])).mean())
    log_p = np.log(_pysaliency_density(smap, PYSALIENCY_MINIMUM))
    log_b = np.log(_pysaliency_density(base, PYSALIENCY_MINIMUM))
    return float(((log_p[rows, cols] - log_b[rows, cols]) / np.log(2)).mean())


# the metric set most reports use, by name
ALL_METRICS = ("auc_judd", "auc_borji", "auc_shuffled", "nss", "cc", "kld", "sim", "information_gain")
