"""The MIT convention against the MIT benchmark's own MATLAB metric code, run unmodified under GNU Octave.

Optional: runs only where ``octave`` (with the octave-image package, for imresize) is on PATH and the
environment variable EDGE_SALIENCY_MIT_CODE names a folder holding the MIT code's metric files (the
``code_forMetrics`` folder of the GitHub repository cvzoya/saliency: AUC_Judd.m, AUC_Borji.m, ...). CI has
neither, so it skips there; docs/metrics.md records what it measured.

The MATLAB code draws random numbers (rand for AUC-Judd's jitter, randi for AUC-Borji, randperm for the
shuffled AUC). Tiny shims earlier on Octave's path hand it the very samples our seeded functions draw, so
every case compares exactly. Two Octave operations differ from MATLAB's, so the cases avoid or neutralise
them: Octave's imresize does not normalise its antialiasing weights as MATLAB's does (the resized cases
only enlarge or halve a map, where the two agree), and Octave's colon range is base + k*step with the last
element clipped to the limit where MATLAB's is symmetric (0:0.1:0.6 has 0.30000000000000004 and 0.4 where
MATLAB has 0.3 and 0.39999999999999997; see :func:`edge_saliency.maths.matlab_ops.colon`), so while comparing
with Octave our thresholds follow Octave's rule. tests/maths/test_matlab_ops.py checks MATLAB's rule itself.
"""
import os
import shutil
import subprocess

import numpy as np
import pytest

from edge_saliency.maths import auc as A
from edge_saliency.maths import metrics as M
from edge_saliency.maths.matlab_ops import colon

MIT_CODE = os.environ.get("EDGE_SALIENCY_MIT_CODE", "")
pytestmark = pytest.mark.skipif(
    not (shutil.which("octave") and MIT_CODE and os.path.isfile(os.path.join(MIT_CODE, "AUC_Judd.m"))),
    reason="needs GNU Octave and EDGE_SALIENCY_MIT_CODE=<folder with the MIT benchmark's code_forMetrics>",
)
TOLERANCE = 1e-12  # summation order (MATLAB's sum / trapz vs numpy's) is all that may differ

SHIMS = {
    "rand.m": "function r = rand(varargin)\n  global SHIM\n  r = SHIM.rand;\nend\n",
    "randi.m": "function r = randi(varargin)\n  global SHIM\n  r = double(SHIM.randi);\nend\n",
    "randperm.m": ("function p = randperm(n)\n  global SHIM\n  SHIM.next = SHIM.next + 1;\n"
                   "  p = double(SHIM.perms(SHIM.next, 1:n));\nend\n"),
}
DRIVER = """function run_cases(folder, n)
  global SHIM
  scores = nan(n, 1);
  for i = 1:n
    c = load(fullfile(folder, sprintf('case%04d.mat', i)));
    SHIM = c;
    SHIM.next = 0;
    switch c.metric
      case 'auc_judd'
        s = AUC_Judd(c.sal, c.fix, c.jitter);
      case 'auc_borji'
        s = AUC_Borji(c.sal, c.fix, c.nsplits, c.step);
      case 'auc_shuffled'
        s = AUC_shuffled(c.sal, c.fix, c.other, c.nsplits, c.step);
      case 'nss'
        s = NSS(c.sal, c.fix);
      case 'cc'
        s = CC(c.sal, c.dens);
      case 'kld'
        s = KLdiv(c.sal, c.dens);
      case 'sim'
        s = similarity(c.sal, c.dens);
      case 'information_gain'
        s = InfoGain(c.sal, c.fix, c.base);
    end
    scores(i) = real(s);  % KLdiv is complex where a bicubic-enlarged map dips below 0
  end
  save('-v7', fullfile(folder, 'scores.mat'), 'scores');
end
"""


def _binary(shape, n, rng):
    fix = np.zeros(shape)
    fix.flat[rng.choice(fix.size, n, replace=False)] = 1
    return fix


def _blurred(fix, sigma=2.0):
    yy, xx = np.mgrid[0:fix.shape[0], 0:fix.shape[1]]
    return sum(np.exp(-((yy - r) ** 2 + (xx - c) ** 2) / (2 * sigma ** 2)) for r, c in zip(*np.nonzero(fix)))


def mit_inputs(seed=0):
    """(label, saliency map, binary fixation map, density, other fixations, baseline) — ordinary maps,
    quantised maps (threshold ties), clipped maps (exact zeros), and every degenerate case of the table in
    docs/metrics.md whose MATLAB result does not hang on rounding."""
    rng = np.random.default_rng(seed)
    shape = (12, 16)
    cases = []
    for _ in range(8):
        fix = _binary(shape, int(rng.integers(2, 20)), rng)
        cases.append(("random", rng.random(shape), fix, _blurred(fix), _binary(shape, 15, rng), rng.random(shape)))
    for _ in range(6):
        fix = _binary(shape, int(rng.integers(2, 20)), rng)
        cases.append(("quantised", np.round(rng.random(shape) * 10) / 10, fix, np.round(_blurred(fix) * 4) / 4,
                      _binary(shape, 15, rng), np.round(rng.random(shape) * 5) / 5 + 0.2))
    for _ in range(4):
        fix = _binary(shape, 10, rng)
        cases.append(("clipped", np.clip(rng.normal(size=shape), 0, None), fix, np.clip(_blurred(fix) - 0.5, 0, None),
                      _binary(shape, 15, rng), np.clip(rng.normal(size=shape), 0, None)))
    fix, other, smap, base = _binary(shape, 9, rng), _binary(shape, 15, rng), rng.random(shape), rng.random(shape)
    dens = _blurred(fix)
    for value in (0.5, 1.0, 0.0):  # constants whose mean MATLAB computes exactly
        cases.append(("constant", np.full(shape, value), fix, dens, other, base))
    one = np.zeros(shape)
    one[5, 7] = 1
    cases += [("constant density", smap, fix, np.full(shape, 0.25), other, base),
              ("zero density", smap, fix, np.zeros(shape), other, base),
              ("zero map", np.zeros(shape), fix, dens, other, base),
              ("constant baseline", smap, fix, dens, other, np.ones(shape)),
              ("one fixation", smap, one, _blurred(one), other, base),
              ("no fixation", smap, np.zeros(shape), dens, other, base),
              ("no other fixation", smap, fix, dens, np.zeros(shape), base),
              ("every pixel fixated", smap, np.ones(shape), dens, other, base)]
    big, small = _binary((24, 32), 12, rng), _binary((6, 8), 5, rng)
    cases += [("enlarged", rng.random(shape), big, _blurred(big), _binary((24, 32), 20, rng), rng.random((24, 32))),
              ("enlarged odd", rng.random((7, 9)), big, _blurred(big), _binary((24, 32), 20, rng), rng.random((5, 5))),
              ("halved", rng.random(shape), small, _blurred(small, 1.0), _binary((6, 8), 6, rng), rng.random(shape))]
    return cases


def _matlab_index(flat, shape):
    """Row-major 0-based flat indices -> MATLAB's column-major 1-based linear indices."""
    return (flat % shape[1]) * shape[0] + flat // shape[1] + 1


def metric_case(metric, seed, sal, fix, dens, other, base, jitter=True, n_splits=100, step=0.1):
    """(our score, the .mat variables for the MATLAB call, with the random samples ours drew)."""
    shape = fix.shape
    case = {"metric": metric, "sal": sal, "fix": fix, "dens": dens, "other": other, "base": base,
            "jitter": float(jitter), "nsplits": float(n_splits), "step": step, "rand": np.zeros((1, 1)),
            "randi": np.zeros((1, 1)), "perms": np.zeros((1, 1))}
    if metric == "auc_judd":
        ours = A.auc_judd(sal, fix, jitter=jitter, seed=seed)
        case["rand"] = np.random.default_rng(seed).random(shape)  # AUC_Judd.m divides by 1e7 itself
    elif metric == "auc_borji":
        ours = A.auc_borji(sal, fix, n_splits=n_splits, step=step, seed=seed)
        n_fixated = int((fix > 0).sum())
        draws = np.random.default_rng(seed).integers(0, fix.size, size=(n_splits, n_fixated))
        case["randi"] = _matlab_index(draws, shape).T  # [Nfixations, Nsplits]
    elif metric == "auc_shuffled":
        ours = A.auc_shuffled(sal, fix, other, n_splits=n_splits, step=step, seed=seed)
        ours_order = np.flatnonzero(other)  # the other pixels in our (row-major) order
        matlab_position = {int(f): i + 1 for i, f in enumerate(np.sort(_matlab_index(ours_order, shape)))}
        rng = np.random.default_rng(seed)
        perms = [[matlab_position[int(_matlab_index(ours_order[p], shape))] for p in rng.permutation(ours_order.size)]
                 for _ in range(n_splits)]
        case["perms"] = np.array(perms, dtype=np.float64).reshape(n_splits, ours_order.size)
    elif metric == "cc":
        ours = M.cc(sal, dens)
    elif metric == "kld":
        ours = M.kld(sal, dens)
    elif metric == "sim":
        ours = M.sim(sal, dens)
    elif metric == "nss":
        ours = M.nss(sal, fix)
    else:
        ours = M.information_gain(sal, fix, base)
    return ours, case


def run_mit_code(cases, folder, mit_code=MIT_CODE):
    """Scores of the MIT .m files for each case dict, computed by Octave in ``folder``."""
    import scipy.io

    os.makedirs(folder, exist_ok=True)
    for name, text in dict(SHIMS, **{"run_cases.m": DRIVER}).items():
        with open(os.path.join(folder, name), "w") as f:
            f.write(text)
    for i, case in enumerate(cases, 1):
        scipy.io.savemat(os.path.join(folder, "case{:04d}.mat".format(i)), case)
    script = "pkg load image; addpath('{}'); addpath('{}'); run_cases('{}', {});".format(
        mit_code, folder, folder, len(cases))  # the folder last added comes first: the shims win
    done = subprocess.run(["octave", "--no-gui", "--no-window-system", "-q", "--eval", script],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return scipy.io.loadmat(os.path.join(folder, "scores.mat"))["scores"].ravel()


def all_cases():
    rows = []
    for k, (label, sal, fix, dens, other, base) in enumerate(mit_inputs()):
        for metric in M.ALL_METRICS:
            rows.append((label, metric) + metric_case(metric, k, sal, fix, dens, other, base))
        rows.append((label, "auc_judd (no jitter)") + metric_case("auc_judd", k, sal, fix, dens, other, base,
                                                                     jitter=False))
        if label == "quantised":
            rows.append((label, "auc_borji (step 0.25)") + metric_case("auc_borji", k, sal, fix, dens, other, base,
                                                                          step=0.25))
    return rows


def octave_colon(start, step, stop):
    """Octave 7's ``start:step:stop``: MATLAB's element count, elements start + k*step, the last one
    clipped to ``stop``."""
    out = start + np.arange(len(colon(start, step, stop))) * step
    if out.size:
        out[-1] = min(out[-1], stop)
    return out


def test_the_mit_convention_equals_the_mit_matlab_code(tmp_path, monkeypatch):
    monkeypatch.setattr(M, "colon", octave_colon)
    rows = all_cases()
    theirs = run_mit_code([row[3] for row in rows], str(tmp_path))
    mismatches = []
    for (label, metric, ours, _), mit in zip(rows, theirs):
        if np.isnan(mit) != np.isnan(ours) or abs(mit - ours) > TOLERANCE:
            mismatches.append("{} / {}: MIT {!r}, ours {!r}".format(label, metric, mit, ours))
    assert not mismatches, "\n".join(mismatches)
    assert np.isnan(theirs).sum() > 20 and np.isfinite(theirs).sum() > 100  # both kinds were compared
