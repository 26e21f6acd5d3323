"""The area-under-curve metrics of a saliency map against fixations: AUC-Judd, AUC-Borji and shuffled AUC, in the MIT
benchmark's and pysaliency's conventions."""
from typing import Optional, Sequence

import numpy as np

from .matlab_ops import colon
from .metrics import (
    MIT,
    NAN,
    PYSALIENCY,
    _check_convention,
    _fixations_for,
    _minmax_or_none,
    _trapezoid,
    fixation_points,
)


def _auc_exact(positives: np.ndarray, negatives: np.ndarray) -> float:
    """Area under the ROC of positives vs negatives with exact ties: P(pos > neg) + ½ P(pos = neg)
    (pysaliency's per-fixation ROC, averaged); NaN without positives or negatives."""
    if positives.size == 0 or negatives.size == 0:
        return NAN
    negatives = np.sort(negatives)
    below = np.searchsorted(negatives, positives, side="left")
    equal = np.searchsorted(negatives, positives, side="right") - below
    return float(((1.0 * below + 0.5 * equal) / negatives.size).mean())


def auc_judd(
    saliency_map: np.ndarray,
    fixations: np.ndarray,
    convention: str = MIT,
    jitter: bool = True,
    seed: int = 0,
    shape: Optional[Sequence[int]] = None,
) -> float:
    """AUC-Judd: thresholds at the saliency values of the fixations.

    mit (AUC_Judd.m): with ``jitter``, uniform noise in [0, 1e-7) (seeded) is added to break ties; the map
    is min-max normalised; negatives are the non-fixated pixels; the true-positive rate at the i-th highest
    fixation value is i / #fixated pixels. NaN without fixations, for a constant map without jitter
    (0/0 in the min-max) and when every pixel is fixated (no negatives).
    pysaliency: exact ROC with ties (constant map = 0.5), negatives are all pixels, every fixation counts;
    ``jitter`` is ignored; NaN without fixations.
    """
    _check_convention(convention)
    smap, rows, cols = _fixations_for(saliency_map, fixations, shape, convention)
    if convention == PYSALIENCY:
        return _auc_exact(smap[rows, cols], smap.ravel())
    if rows.size == 0:
        return NAN
    if jitter:
        smap = smap + np.random.default_rng(seed).random(smap.shape) / 1e7
    normalised = _minmax_or_none(smap)
    if normalised is None:
        return NAN
    values = np.sort(normalised.ravel())
    at_fixations = np.sort(normalised[rows, cols])[::-1]
    n_fix, n_pix = at_fixations.size, values.size
    if n_pix == n_fix:  # fp = 0 / 0
        return NAN
    above = n_pix - np.searchsorted(values, at_fixations, side="left")  # #pixels >= thresh
    ranks = np.arange(1, n_fix + 1)
    tp = np.concatenate([[0.0], ranks / n_fix, [1.0]])
    fp = np.concatenate([[0.0], (above - ranks) / (n_pix - n_fix), [1.0]])
    return float(_trapezoid(tp, fp))


def _auc_thresholded(positives: np.ndarray, negatives: np.ndarray, step: float) -> float:
    """MIT's thresholded ROC (Borji / shuffled): thresholds ``fliplr(0:step:max)``, MATLAB's colon range up
    to the largest positive or negative value."""
    thresholds = colon(0.0, step, max(positives.max(), negatives.max()))[::-1]
    tp = np.concatenate([[0.0], [(positives >= t).sum() / positives.size for t in thresholds], [1.0]])
    fp = np.concatenate([[0.0], [(negatives >= t).sum() / negatives.size for t in thresholds], [1.0]])
    return float(_trapezoid(tp, fp))


def _check_step(step: float, n_splits: int) -> None:
    if not step > 0:
        raise ValueError("step must be > 0, got {}".format(step))
    if n_splits < 1:
        raise ValueError("n_splits must be at least 1, got {}".format(n_splits))


def auc_borji(
    saliency_map: np.ndarray,
    fixations: np.ndarray,
    n_splits: int = 100,
    step: float = 0.1,
    seed: int = 0,
    shape: Optional[Sequence[int]] = None,
) -> float:
    """AUC-Borji (AUC_Borji.m, the MIT form in both conventions): the min-max normalised map at the
    fixated pixels vs at as many uniformly random pixels (with replacement), thresholds ``0:step:max``,
    averaged over ``n_splits`` seeded draws. NaN with fewer than 2 fixated pixels or a constant map."""
    _check_step(step, n_splits)
    smap, rows, cols = _fixations_for(saliency_map, fixations, shape, MIT)
    if rows.size <= 1:
        return NAN
    normalised = _minmax_or_none(smap)
    if normalised is None:
        return NAN
    positives = normalised[rows, cols]
    values = normalised.ravel()
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
    fixations, resized), or an (x, y) point array.
    mit (AUC_shuffled.m): min-max normalised map; each split samples min(#fixated pixels, #other fixated
    pixels) other pixels without replacement; thresholds ``0:step:max``; mean over ``n_splits``. NaN without
    fixations or other fixations, or for a constant map.
    pysaliency: exact ROC against all other fixations, every fixation counts; NaN without either (pysaliency
    itself divides by zero there).
    """
    _check_convention(convention)
    _check_step(step, n_splits)
    smap, rows, cols = _fixations_for(saliency_map, fixations, shape, convention)
    o_rows, o_cols, o_size = fixation_points(other_fixations, smap.shape if shape is None else shape)
    if o_size != smap.shape:
        raise ValueError("other_fixations must have the fixation map's size {}, got {}".format(smap.shape, o_size))
    if convention == PYSALIENCY:
        return _auc_exact(smap[rows, cols], smap[o_rows, o_cols])
    if rows.size == 0 or o_rows.size == 0:
        return NAN
    normalised = _minmax_or_none(smap)
    if normalised is None:
        return NAN
    others = normalised.ravel()[np.unique(o_rows * smap.shape[1] + o_cols)]
    positives = normalised[rows, cols]
    n_other = min(positives.size, others.size)
    rng = np.random.default_rng(seed)
    return float(np.mean([
        _auc_thresholded(positives, others[rng.permutation(others.size)[:n_other]], step) for _ in range(n_splits)
    ]))
