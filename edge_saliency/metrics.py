"""Saliency metrics, pure numpy, with both conventions where the field's two references differ.

Two conventions (DESIGN.md §3), chosen with ``convention=``:

``"mit"`` (the default) — the MIT saliency benchmark's MATLAB code (cvzoya/saliency), which EML-Net was
evaluated with: std with N−1, AUC-Judd negatives are the non-fixated pixels with optional jitter to break
ties, each fixated *pixel* counts once (fixations are a binary map), SIM min-max normalises both maps,
KLD uses eps = 2.2204e-16, IG min-max normalises.

``"pysaliency"`` — the MIT/Tübingen benchmark's Python code (pysaliency): std with N, AUC negatives are all
pixels with exact ties (a constant map scores exactly 0.5), every fixation counts (duplicates too), SIM and
IG sum-normalise without min-max, KLD adds 1e-20 to both maps and has no eps inside the log.

CC is Pearson correlation in both (the std convention cancels). AUC-Borji exists only in the MIT form
(SALICON's "AUC" is Borji-style). All random sampling (Borji, shuffled AUC, jitter) is seeded.

Inputs: ``saliency_map`` is a 2-D array of any size; it is resized (bilinear) to the size of the fixation
map / ground-truth density before scoring, as the MIT code does (MATLAB's imresize is bicubic; for smooth
saliency maps the difference is negligible). ``fixations`` is either a 2-D map (non-zero = fixated; an
integer map of counts keeps multiplicities for the pysaliency convention) or an N×2 array of (x, y)
0-based pixel coordinates together with ``shape=(height, width)`` of the image they belong to.
"""
from typing import Optional, Sequence, Tuple

import numpy as np

from .plugins.upsample_op import bilinear_resize

# numpy >= 2 renamed trapz (and 2.4 removed it); numpy 1.x, the one for Python 3.8, has only trapz
_trapezoid = np.trapezoid if hasattr(np, "trapezoid") else np.trapz  # type: ignore[attr-defined]

MIT = "mit"
PYSALIENCY = "pysaliency"
CONVENTIONS = (MIT, PYSALIENCY)
MATLAB_EPS = 2.2204e-16
PYSALIENCY_MINIMUM = 1e-20


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
    """The saliency map at the fixations' size, and the fixations' rows/cols (unique pixels for MIT)."""
    if shape is None and np.asarray(fixations).shape[-1] == 2 and np.asarray(fixations).ndim == 2:
        shape = np.asarray(saliency_map).shape[-2:]
    rows, cols, size = fixation_points(fixations, shape)
    if rows.size == 0:
        raise ValueError("there are no fixations inside the image")
    if convention == MIT:  # a binary fixation map: each fixated pixel once
        flat = np.unique(rows * size[1] + cols)
        rows, cols = flat // size[1], flat % size[1]
    return resize_map(saliency_map, size), rows, cols


def _minmax(array: np.ndarray) -> np.ndarray:
    span = array.max() - array.min()
    return (array - array.min()) / span if span > 0 else np.zeros_like(array)


def _sum_normalize(array: np.ndarray) -> np.ndarray:
    total = array.sum()
    return array / total if total > 0 else np.full_like(array, 1.0 / array.size)


# -- distribution-based metrics ------------------------------------------------------------------------


def cc(saliency_map: np.ndarray, other_map: np.ndarray) -> float:
    """Pearson linear correlation of two maps (the same in both conventions); 1 = identical up to an affine
    change. ``saliency_map`` is resized to ``other_map``'s size. A constant map scores 0."""
    other = _as_map(other_map, "other_map")
    pred = resize_map(saliency_map, other.shape)
    if pred.max() == pred.min() or other.max() == other.min():
        return 0.0
    a, b = pred - pred.mean(), other - other.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def kld(saliency_map: np.ndarray, density: np.ndarray, convention: str = MIT) -> float:
    """KL divergence of the predicted distribution P from the ground-truth density Q (0 = identical).

    mit: P, Q sum-normalised; Σ Q · log(eps + Q / (P + eps)), eps = 2.2204e-16.
    pysaliency: 1e-20 added to both maps (after shifting negative maps to 0), sum-normalised;
    Σ Q · (log Q − log P).
    """
    _check_convention(convention)
    q = _as_map(density, "density")
    p = resize_map(saliency_map, q.shape)
    if convention == MIT:
        p, q = _sum_normalize(p), _sum_normalize(q)
        return float((q * np.log(MATLAB_EPS + q / (p + MATLAB_EPS))).sum())
    p, q = (_sum_normalize(m - min(m.min(), 0) + PYSALIENCY_MINIMUM) for m in (p, q))
    return float((q * (np.log(q) - np.log(p))).sum())


def sim(saliency_map: np.ndarray, density: np.ndarray, convention: str = MIT) -> float:
    """Similarity (histogram intersection) Σ min(P, Q) of the sum-normalised maps; 1 = identical.

    mit: both maps are min-max normalised first. pysaliency: no min-max.
    """
    _check_convention(convention)
    q = _as_map(density, "density")
    p = resize_map(saliency_map, q.shape)
    if convention == MIT:
        p, q = _minmax(p), _minmax(q)
    return float(np.minimum(_sum_normalize(p), _sum_normalize(q)).sum())


# -- fixation-based metrics ----------------------------------------------------------------------------


def nss(
    saliency_map: np.ndarray, fixations: np.ndarray, convention: str = MIT, shape: Optional[Sequence[int]] = None
) -> float:
    """Normalized scanpath saliency: mean of the z-scored map at the fixations.

    mit: std with N−1, each fixated pixel once. pysaliency: std with N, every fixation counts.
    A constant map scores 0.
    """
    _check_convention(convention)
    smap, rows, cols = _fixations_for(saliency_map, fixations, shape, convention)
    if smap.max() == smap.min():  # exact test: a float std of equal values need not be 0
        return 0.0
    std = smap.std(ddof=1 if convention == MIT else 0)
    return float(((smap[rows, cols] - smap.mean()) / std).mean())


def _auc_exact(positives: np.ndarray, negatives: np.ndarray) -> float:
    """Area under the ROC of positives vs negatives with exact ties: P(pos > neg) + ½ P(pos = neg)."""
    negatives = np.sort(negatives)
    below = np.searchsorted(negatives, positives, side="left")
    equal = np.searchsorted(negatives, positives, side="right") - below
    return float(((below + 0.5 * equal) / negatives.size).mean())


def auc_judd(
    saliency_map: np.ndarray,
    fixations: np.ndarray,
    convention: str = MIT,
    jitter: bool = True,
    seed: int = 0,
    shape: Optional[Sequence[int]] = None,
) -> float:
    """AUC-Judd: thresholds at the saliency values of the fixations.

    mit: the map is min-max normalised (with ``jitter``, after adding uniform noise in [0, 1e-7) to break
    ties, seeded); negatives are the non-fixated pixels; the true-positive rate at the i-th highest fixation
    value is i / #fixations (MATLAB's rank-based curve). pysaliency: exact ROC with ties (constant map = 0.5),
    negatives are all pixels, every fixation counts; ``jitter`` is ignored.
    """
    _check_convention(convention)
    smap, rows, cols = _fixations_for(saliency_map, fixations, shape, convention)
    if convention == PYSALIENCY:
        return _auc_exact(smap[rows, cols], smap.ravel())
    if jitter:
        smap = smap + np.random.default_rng(seed).random(smap.shape) / 1e7
    smap = _minmax(smap)
    values = smap.ravel()
    at_fixations = np.sort(smap[rows, cols])[::-1]
    n_fix, n_pix = at_fixations.size, values.size
    if n_pix == n_fix:
        raise ValueError("every pixel is fixated: AUC-Judd has no negatives")
    above = values.size - np.searchsorted(np.sort(values), at_fixations, side="left")  # #pixels >= thresh
    ranks = np.arange(1, n_fix + 1)
    tp = np.concatenate([[0.0], ranks / n_fix, [1.0]])
    fp = np.concatenate([[0.0], (above - ranks) / (n_pix - n_fix), [1.0]])
    return float(_trapezoid(tp, fp))


def _auc_thresholded(positives: np.ndarray, negatives: np.ndarray, step: float) -> float:
    """MIT's thresholded ROC (Borji / shuffled): thresholds 0, step, ... up to the max value, descending."""
    thresholds = np.arange(0.0, max(positives.max(), negatives.max()) + 1e-12, step)[::-1]
    tp = np.concatenate([[0.0], [(positives >= t).mean() for t in thresholds], [1.0]])
    fp = np.concatenate([[0.0], [(negatives >= t).mean() for t in thresholds], [1.0]])
    return float(_trapezoid(tp, fp))


def auc_borji(
    saliency_map: np.ndarray,
    fixations: np.ndarray,
    n_splits: int = 100,
    step: float = 0.1,
    seed: int = 0,
    shape: Optional[Sequence[int]] = None,
) -> float:
    """AUC-Borji (MIT form): the min-max normalised map at the fixations vs at as many uniformly random
    pixels (with replacement), thresholds every ``step``, averaged over ``n_splits`` seeded draws."""
    smap, rows, cols = _fixations_for(saliency_map, fixations, shape, MIT)
    smap = _minmax(smap)
    positives = smap[rows, cols]
    values = smap.ravel()
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, values.size, size=(n_splits, positives.size))
    return float(np.mean([_auc_thresholded(positives, values[d], step) for d in draws]))


def auc_shuffled(
    saliency_map: np.ndarray,
    fixations: np.ndarray,
    other_fixations: np.ndarray,
    convention: str = MIT,
    n_splits: int = 100,
    step: float = 0.1,
    seed: int = 0,
    shape: Optional[Sequence[int]] = None,
) -> float:
    """Shuffled AUC: negatives are the map's values at other images' fixations (centre bias cancels).

    ``other_fixations`` is a fixation map of the same size as ``fixations`` (e.g. the union of other images'
    fixations, resized), or an (x, y) point array. mit: min-max normalised map, each split samples
    min(#fixations, #other) other fixated pixels without replacement, thresholds every ``step``, mean over
    ``n_splits``. pysaliency: exact ROC against all other fixations, every fixation counts.
    """
    _check_convention(convention)
    smap, rows, cols = _fixations_for(saliency_map, fixations, shape, convention)
    o_rows, o_cols, o_size = fixation_points(other_fixations, smap.shape if shape is None else shape)
    if o_size != smap.shape:
        raise ValueError("other_fixations must have the fixation map's size {}, got {}".format(smap.shape, o_size))
    if o_rows.size == 0:
        raise ValueError("other_fixations holds no fixations")
    if convention == PYSALIENCY:
        return _auc_exact(smap[rows, cols], smap[o_rows, o_cols])
    smap = _minmax(smap)
    flat = np.unique(o_rows * smap.shape[1] + o_cols)
    others = smap.ravel()[flat]
    positives = smap[rows, cols]
    n_other = min(positives.size, others.size)
    rng = np.random.default_rng(seed)
    return float(np.mean([
        _auc_thresholded(positives, others[rng.permutation(others.size)[:n_other]], step) for _ in range(n_splits)
    ]))


def information_gain(
    saliency_map: np.ndarray,
    fixations: np.ndarray,
    baseline_map: np.ndarray,
    convention: str = MIT,
    shape: Optional[Sequence[int]] = None,
) -> float:
    """Information gain over a baseline map (e.g. a centre bias), in bits per fixation:
    mean over fixations of log2(eps + P) − log2(eps + B), with P, B the maps as distributions.

    mit: both maps min-max normalised then sum-normalised, eps = 2.2204e-16, each fixated pixel once.
    pysaliency: sum-normalised without min-max, eps = 1e-20, every fixation counts.
    """
    _check_convention(convention)
    smap, rows, cols = _fixations_for(saliency_map, fixations, shape, convention)
    base = resize_map(baseline_map, smap.shape)
    if convention == MIT:
        p, b, eps = _sum_normalize(_minmax(smap)), _sum_normalize(_minmax(base)), MATLAB_EPS
    else:
        p, b, eps = _sum_normalize(smap), _sum_normalize(base), PYSALIENCY_MINIMUM
    return float((np.log2(eps + p[rows, cols]) - np.log2(eps + b[rows, cols])).mean())


# the metric set most reports use, by name
ALL_METRICS = ("auc_judd", "auc_borji", "auc_shuffled", "nss", "cc", "kld", "sim", "information_gain")
