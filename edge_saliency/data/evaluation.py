"""Scoring saliency maps on a dataset split with every metric of :mod:`edge_saliency.maths.metrics`, and the
JSON + markdown report of ``edge-saliency eval``. numpy + OpenCV only: saved maps are scored without torch.

Per image, the map is compared with the ground truth at the image's own size (the metrics resize the map
to it). What each metric needs:

- CC, KLD, SIM: the continuous ground-truth map;
- AUC-Judd, AUC-Borji, NSS: the fixations;
- shuffled AUC: the fixations, and as negatives the fixations of ``sauc_others`` other images of the split
  (drawn with a seed per image, stretched to this image's size);
- IG: the fixations and a baseline map — ``dataset``: the mean ground-truth map of the other images of the
  split (a centre bias, leave-one-out), ``center``: a centred Gaussian with σ = ¼ of the height and width,
  ``uniform``: a constant map (pysaliency convention only: the MIT InfoGain.m min-max normalises it to 0/0).

A metric whose ground truth an image lacks (no continuous map, no fixation file; for the pysaliency
convention also an empty fixation list, which pysaliency skips) is left out for that image. A score the
reference code leaves undefined (NaN: a constant map, no fixation inside the image, ...; the table in
docs/metrics.md) is *degenerate*: the mean is then NaN, as both benchmarks average (MATLAB's ``mean`` in
the MIT benchmark, numpy's in pysaliency), and the report names the degenerate images and gives the mean
of the others beside it. The JSON writes NaN as ``null``.
"""
import math
import os
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import UserError
from ..maths import auc as A
from ..maths import metrics as M
from .datasets import SampleFiles, read_annotations
from .io import IMAGE_EXTENSIONS, image_shape, read_grey
from .transforms import resize_image, scale_points

LABELS = {
    "auc_judd": "AUC-Judd", "auc_borji": "AUC-Borji", "auc_shuffled": "sAUC", "nss": "NSS", "cc": "CC",
    "kld": "KLD", "sim": "SIM", "information_gain": "IG (bits)",
}
HIGHER_IS_BETTER = {m: m != "kld" for m in M.ALL_METRICS}
NEEDS_DENSITY = ("cc", "kld", "sim")
IG_BASELINES = ("dataset", "center", "uniform")
BASELINE_SIZE = (120, 160)  # the dataset baseline is averaged at this size, then stretched to each image


def describe_conventions(convention: str) -> Dict[str, str]:
    """What each metric computes under ``convention`` (written into every report)."""
    mit = convention == M.MIT
    return {
        "auc_judd": ("MIT: min-max map with 1e-7 jitter (seeded) to break ties, negatives = non-fixated pixels, "
                     "each fixated pixel once" if mit else
                     "pysaliency: exact ties (a constant map = 0.5), negatives = all pixels, every fixation counts"),
        "auc_borji": "MIT form in both conventions: 100 seeded splits of as many uniform random pixels as "
                     "fixations, thresholds 0:0.1:max (MATLAB's colon range)",
        "auc_shuffled": ("MIT: negatives sampled from other images' fixated pixels, 100 seeded splits, thresholds "
                         "0:0.1:max (MATLAB's colon range)" if mit else
                         "pysaliency: exact ROC against all other images' fixations"),
        "nss": "mean z-score at the fixations, std with " + ("N-1, each fixated pixel once" if mit else
                                                              "N, every fixation counts"),
        "cc": "Pearson correlation with the ground-truth map; " + ("MIT: NaN for a constant map" if mit else
                                                                    "pysaliency: a constant map scores 0"),
        "kld": ("MIT: sum-normalised, sum Q log(eps + Q/(P + eps)), MATLAB's eps = 2.220446049250313e-16" if mit
                else "pysaliency: 1e-20 added, sum-normalised, sum Q (log Q - log P)"),
        "sim": "sum min(P, Q) of the sum-normalised maps" + (", each min-max normalised first" if mit else
                                                               ", no min-max"),
        "information_gain": ("log2 gain over the baseline per fixation; " + (
            "MIT: min-max then sum-normalised, MATLAB's eps" if mit else
            "pysaliency: densities with 1e-20 added")),
    }


def describe_averaging(convention: str) -> str:
    """How the benchmark of ``convention`` averages per-image scores, NaN included (written into reports)."""
    if convention == M.MIT:
        return ("mean over images as the MIT benchmark's MATLAB mean: NaN when any image's score is NaN (a "
                "degenerate image); 'mean excluding degenerate' is the mean of the other images")
    return ("mean over images as numpy's mean in pysaliency: NaN when any image's score is NaN (pysaliency's AUC "
            "refuses such images); images without fixations are skipped by the fixation metrics, as pysaliency "
            "does; 'mean excluding degenerate' is the mean of the other images")


def check_metrics(names: Sequence[str]) -> List[str]:
    """The given metric names in the report's order; UserError for an unknown one."""
    unknown = [n for n in names if n not in M.ALL_METRICS]
    if unknown:
        raise UserError("unknown metric(s) {}; choose from {}".format(", ".join(unknown), ", ".join(M.ALL_METRICS)))
    return [m for m in M.ALL_METRICS if m in names]


def center_baseline(shape: Sequence[int]) -> np.ndarray:
    """A centred Gaussian map of ``shape`` (sigma a quarter of each side): the ``center`` IG baseline."""
    h, w = int(shape[0]), int(shape[1])
    yy, xx = np.mgrid[0:h, 0:w]
    return np.exp(-0.5 * (((yy - (h - 1) / 2) / (h / 4)) ** 2 + ((xx - (w - 1) / 2) / (w / 4)) ** 2))


class DatasetContext:
    """What scoring one image needs from the others of the split: their fixations (shuffled AUC) and the
    mean ground-truth map (the IG baseline). Built by one pass over the annotations."""

    def __init__(self, files: Sequence[SampleFiles], need_others: bool, need_baseline: bool) -> None:
        self.names = [f.name for f in files]
        self.points: Dict[str, Tuple[np.ndarray, Tuple[int, int]]] = {}
        self.baseline_sum = np.zeros(BASELINE_SIZE, np.float64)
        self.baseline_parts: Dict[str, np.ndarray] = {}
        self.baseline_count = 0
        if not (need_others or need_baseline):
            return
        for f in files:
            shape = image_shape(f.image)
            density, fixations = read_annotations(f, shape)
            if need_others and fixations is not None and len(fixations):
                self.points[f.name] = (fixations, shape)
            if need_baseline and density is not None:
                part = resize_image(density.astype(np.float32), BASELINE_SIZE).astype(np.float64)
                part /= max(part.sum(), 1e-12)
                self.baseline_sum += part
                self.baseline_count += 1
                self.baseline_parts[f.name] = part

    def others(self, name: str, shape: Sequence[int], count: int, seed: int) -> Optional[np.ndarray]:
        """Fixations of up to ``count`` other images, stretched to ``shape``, as (x, y) points."""
        candidates = [n for n in self.names if n != name and n in self.points]
        if not candidates:
            return None
        rng = np.random.default_rng([seed, self.names.index(name)])
        chosen = rng.choice(len(candidates), size=min(count, len(candidates)), replace=False)
        return np.concatenate([scale_points(self.points[candidates[i]][0], self.points[candidates[i]][1], shape)
                               for i in sorted(chosen)])

    def baseline(self, name: str, shape: Sequence[int], kind: str) -> Optional[np.ndarray]:
        """The information-gain baseline map of one image: ``uniform``, ``center``, or the mean map of the other
        images (None when there is none)."""
        if kind == "uniform":
            return np.ones(tuple(int(s) for s in shape))
        if kind == "center":
            return center_baseline(shape)
        own = self.baseline_parts.get(name)
        count = self.baseline_count - (1 if own is not None else 0)
        if count < 1:
            return None  # no other image has a map
        mean = (self.baseline_sum - (own if own is not None else 0.0)) / count
        return resize_image(mean.astype(np.float32), shape).astype(np.float64)


def score_image(
    saliency: np.ndarray,
    density: Optional[np.ndarray],
    fixations: Optional[np.ndarray],
    shape: Sequence[int],
    metrics: Sequence[str],
    convention: str = M.MIT,
    others: Optional[np.ndarray] = None,
    baseline: Optional[np.ndarray] = None,
    seed: int = 0,
) -> Dict[str, float]:
    """The metrics that this image's ground truth allows, at the image's size ``shape``."""
    scores: Dict[str, float] = {}
    saliency = np.asarray(saliency, dtype=np.float64)
    if density is not None:
        for name, fn in (("cc", lambda: M.cc(saliency, density, convention)),
                         ("kld", lambda: M.kld(saliency, density, convention)),
                         ("sim", lambda: M.sim(saliency, density, convention))):
            if name in metrics:
                scores[name] = fn()
    # no fixations: the MIT code scores NaN (degenerate), pysaliency skips the image
    if fixations is None or (convention == M.PYSALIENCY and not len(fixations)):
        return scores
    shape = tuple(int(s) for s in shape)
    fixation_metrics: List[Tuple[str, Callable[[], float]]] = [
        ("auc_judd", lambda: A.auc_judd(saliency, fixations, convention, seed=seed, shape=shape)),
        ("auc_borji", lambda: A.auc_borji(saliency, fixations, seed=seed, shape=shape)),
        ("nss", lambda: M.nss(saliency, fixations, convention, shape=shape)),
    ]
    if others is not None and len(others):
        fixation_metrics.append(("auc_shuffled", lambda: A.auc_shuffled(
            saliency, fixations, others, convention, seed=seed, shape=shape)))
    if baseline is not None:
        fixation_metrics.append(("information_gain", lambda: M.information_gain(
            saliency, fixations, baseline, convention, shape=shape)))
    for name, fn in fixation_metrics:
        if name in metrics:
            scores[name] = fn()
    return scores


def evaluate(
    predictions: Iterable[Dict[str, Any]],
    files: Sequence[SampleFiles],
    metrics: Sequence[str] = M.ALL_METRICS,
    convention: str = M.MIT,
    ig_baseline: str = "dataset",
    sauc_others: int = 10,
    seed: int = 0,
    per_image: bool = False,
    progress: Optional[Callable[[int], None]] = None,
) -> Dict[str, Any]:
    """Score ``predictions`` — dicts with ``name``, ``saliency`` (a 2-D map), ``shape`` and the image's
    ``density`` / ``fixations`` (``None`` when absent) — and summarise. ``files`` is the whole split."""
    if convention not in M.CONVENTIONS:
        raise UserError("--convention must be one of {}, got {!r}".format(", ".join(M.CONVENTIONS), convention))
    metrics = check_metrics(metrics)
    if ig_baseline not in IG_BASELINES:
        raise UserError("--ig-baseline must be one of {}, got {!r}".format(", ".join(IG_BASELINES), ig_baseline))
    if ig_baseline == "uniform" and convention == M.MIT and "information_gain" in metrics:
        raise UserError("--ig-baseline uniform is a constant map, which the MIT InfoGain min-max normalises to "
                        "0/0 (NaN for every image); use --ig-baseline dataset or center, or --convention pysaliency")
    context = DatasetContext(files, "auc_shuffled" in metrics,
                             "information_gain" in metrics and ig_baseline == "dataset")
    scores: Dict[str, Dict[str, float]] = {}
    for item in predictions:
        name, shape = item["name"], item["shape"]
        others = context.others(name, shape, sauc_others, seed) if "auc_shuffled" in metrics else None
        baseline = context.baseline(name, shape, ig_baseline) if "information_gain" in metrics else None
        try:
            scores[name] = score_image(item["saliency"], item["density"], item["fixations"], shape, metrics,
                                       convention, others, baseline, seed)
        except ValueError as exc:  # e.g. a map with NaNs
            raise UserError("cannot score {}: {}".format(name, exc)) from None
        if progress is not None:
            progress(1)
    if not scores:
        raise UserError("no images were scored")
    summary = {metric: summarise({name: s[metric] for name, s in scores.items() if metric in s})
               for metric in metrics if any(metric in s for s in scores.values())}
    results: Dict[str, Any] = {
        "images": len(scores),
        "convention": convention,
        "metrics": summary,
        "averaging": describe_averaging(convention),
        "conventions": {k: v for k, v in describe_conventions(convention).items() if k in metrics},
        "settings": {"auc_shuffled_other_images": sauc_others, "information_gain_baseline": ig_baseline,
                     "seed": seed},
    }
    missing = [m for m in metrics if m not in summary]
    if missing:
        results["not_scored"] = {m: "the split has no {}".format(
            "continuous maps" if m in NEEDS_DENSITY else "fixations" if m != "information_gain" else
            "baseline (no other image has a map; try --ig-baseline center)") for m in missing}
    if per_image:
        results["per_image"] = {name: {m: _json_number(v) for m, v in s.items()} for name, s in scores.items()}
    return results


def _json_number(value: float) -> Optional[float]:
    return float(value) if math.isfinite(value) else None  # JSON has no NaN


def summarise(values: Dict[str, float]) -> Dict[str, Any]:
    """One metric over the images ({name: score}): the mean and std as the benchmarks average (NaN -> None
    when any image is degenerate), the degenerate images, and the mean and std of the others."""
    array = np.array(list(values.values()), dtype=np.float64)
    degenerate = [name for name, value in values.items() if not math.isfinite(value)]
    defined = array[np.isfinite(array)]
    return {
        "mean": _json_number(float(array.mean())), "std": _json_number(float(array.std())), "images": int(array.size),
        "degenerate": len(degenerate), "degenerate_images": degenerate,
        "mean_excluding_degenerate": float(defined.mean()) if defined.size else None,
        "std_excluding_degenerate": float(defined.std()) if defined.size else None,
    }


# -- a folder of saved maps ----------------------------------------------------------------------------


def saved_map_path(folder: str, name: str) -> Optional[str]:
    """The saved map ``folder/name.<ext>`` (PNG first), or None."""
    for ext in (".png",) + tuple(e for e in IMAGE_EXTENSIONS if e != ".png"):
        path = os.path.join(folder, name + ext)
        if os.path.isfile(path):
            return path
    return None


def saved_maps(folder: str, files: Sequence[SampleFiles]) -> Iterable[Dict[str, Any]]:
    """Predictions read from ``folder/NAME.png`` (or another image type) for every image of ``files``."""
    missing = [f.name for f in files if saved_map_path(folder, f.name) is None]
    if missing:
        raise UserError("{} of {} images have no saved map in {} (e.g. {}); expected NAME.png per image".format(
            len(missing), len(files), folder, ", ".join(missing[:3])))
    for f in files:
        shape = image_shape(f.image)
        density, fixations = read_annotations(f, shape)
        # the stored integers, as a model's uint8 maps reach the metrics (thresholds at k/255 compare alike)
        yield {"name": f.name, "saliency": read_grey(saved_map_path(folder, f.name) or ""), "shape": shape,
               "density": density, "fixations": fixations}


# -- the report ----------------------------------------------------------------------------------------


# -- several models on the same images -----------------------------------------------------------------


