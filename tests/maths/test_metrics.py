"""Metrics against closed forms, hand computations written from the reference code's operations step by step
(the MIT MATLAB files, pysaliency), and every degenerate case of docs/metrics.md in both conventions."""
import math

import numpy as np
import pytest

from edge_saliency.maths import auc as A
from edge_saliency.maths import metrics as M
from edge_saliency.maths.matlab_ops import EPS, imresize

RNG = np.random.default_rng(0)
SHAPE = (12, 16)
N = SHAPE[0] * SHAPE[1]


def _fixation_map(shape=SHAPE, n=9, seed=1):
    fix = np.zeros(shape, dtype=np.uint8)
    rng = np.random.default_rng(seed)
    fix.flat[rng.choice(fix.size, n, replace=False)] = 1
    return fix


def _blurred_density(fix, sigma=2.0):
    h, w = fix.shape
    yy, xx = np.mgrid[0:h, 0:w]
    density = np.zeros(fix.shape)
    for r, c in zip(*np.nonzero(fix)):
        density += np.exp(-((yy - r) ** 2 + (xx - c) ** 2) / (2 * sigma ** 2))
    return density


# -- closed forms and hand computations ----------------------------------------------------------------


@pytest.mark.parametrize("convention", M.CONVENTIONS)
def test_map_equal_to_the_density_is_perfect(convention):
    density = _blurred_density(_fixation_map())
    assert M.cc(density, density, convention) == pytest.approx(1.0, abs=1e-12)
    assert M.sim(density, density, convention) == pytest.approx(1.0, abs=1e-12)
    assert M.kld(density, density, convention) == pytest.approx(0.0, abs=1e-9)


def test_cc_by_hand():
    x, y = np.array([[1.0, 2.0, 3.0]]), np.array([[1.0, 3.0, 2.0]])
    for convention in M.CONVENTIONS:  # centred (-1, 0, 1) . (-1, 1, 0) / (sqrt 2 sqrt 2) = 1/2
        assert M.cc(x, y, convention) == pytest.approx(0.5, abs=1e-15)


def test_nss_of_the_fixation_map_matches_the_z_score_by_hand():
    fix = _fixation_map(n=9)
    k = 9
    mean = k / N
    for convention, ddof in ((M.MIT, 1), (M.PYSALIENCY, 0)):
        variance = k * (N - k) / (N * (N - ddof))
        expected = (1 - mean) / np.sqrt(variance)
        assert M.nss(fix.astype(float), fix, convention) == pytest.approx(expected, rel=1e-12)
    # N−1 gives the larger std, so the smaller NSS for a positive score
    assert M.nss(fix.astype(float), fix, M.MIT) < M.nss(fix.astype(float), fix, M.PYSALIENCY)


def test_auc_judd_small_example_with_ties_by_hand():
    smap = np.array([[0.1, 0.5, 0.5], [0.9, 0.2, 0.5]])
    fix = np.array([[0, 1, 0], [1, 0, 0]])
    # exact ties, negatives = all 6 pixels: pos 0.5 -> (2 below + ½·3 equal)/6, pos 0.9 -> (5 + ½)/6
    assert A.auc_judd(smap, fix, M.PYSALIENCY) == pytest.approx((3.5 / 6 + 5.5 / 6) / 2)
    # MIT, no jitter: normalised values [0 .5 .5; 1 .125 .5]; thresholds 1, .5:
    # (fp, tp) = (0, 0), (0, .5), (.5, 1), (1, 1) -> area .375 + .5
    assert A.auc_judd(smap, fix, M.MIT, jitter=False) == pytest.approx(0.875)


def test_kld_with_matlabs_eps_on_a_map_with_a_zero_step_by_step():
    # KLdiv.m: map1 = (0, 1)/1, map2 = (1, 1)/2; sum(map2 .* log(eps + map2 ./ (map1 + eps)))
    # = .5 log(eps + .5/eps) + .5 log(eps + .5/(1 + eps)); .5/eps = 2^51 swallows the eps beside it
    p, q = np.array([[0.0, 1.0]]), np.array([[1.0, 1.0]])
    expected = 0.5 * 51 * math.log(2) + 0.5 * math.log(EPS + 0.5 / (1 + EPS))
    assert M.kld(p, q, M.MIT) == pytest.approx(expected, abs=1e-13)
    rounded = 0.5 * math.log(2.2204e-16 + 0.5 / 2.2204e-16) + 0.5 * math.log(0.5)
    assert abs(expected - rounded) > 5e-6  # what the rounded eps 2.2204e-16 gave
    # pysaliency: 1e-20 added, then Σ Q (log Q − log P) = .5 log(.5 / (1e-20/(1 + 2e-20))) + .5 log(.5 / ~1)
    assert M.kld(p, q, M.PYSALIENCY) == pytest.approx(0.5 * math.log(0.5 / 1e-20) + 0.5 * math.log(0.5), rel=1e-12)


def test_kld_without_zeros_by_hand():
    p, q = np.array([[1.0, 3.0]]), np.array([[1.0, 1.0]])
    expected = 0.5 * np.log(0.5 / 0.25) + 0.5 * np.log(0.5 / 0.75)
    for convention in M.CONVENTIONS:
        assert M.kld(p, q, convention) == pytest.approx(expected, rel=1e-12)


def test_information_gain_with_matlabs_eps_step_by_step():
    # InfoGain.m: map1 = minmax(0 1 2 3) / 2 = (0 1/6 1/3 1/2), mapb = minmax(2 1 1 2) / 2 = (1/2 0 0 1/2);
    # fixated pixels 1 and 4: (log2(eps + 0) − log2(eps + 1/2) + log2(eps + 1/2) − log2(eps + 1/2)) / 2
    smap, base, fix = np.array([[0.0, 1, 2, 3]]), np.array([[2.0, 1, 1, 2]]), np.array([[1, 0, 0, 1]])
    expected = (math.log2(EPS) - math.log2(EPS + 0.5)) / 2
    assert expected == pytest.approx(-25.5, abs=1e-14)
    assert M.information_gain(smap, fix, base, M.MIT) == pytest.approx(expected, abs=1e-14)
    # pysaliency: densities (x + 1e-20) / sum; (ln p − ln b) / ln 2 averaged over the fixations
    p = (smap.ravel() + 1e-20) / (6 + 4e-20)
    b = (base.ravel() + 1e-20) / (6 + 4e-20)
    expected = ((math.log(p[0]) - math.log(b[0])) + (math.log(p[3]) - math.log(b[3]))) / 2 / math.log(2)
    assert M.information_gain(smap, fix, base, M.PYSALIENCY) == pytest.approx(expected, rel=1e-12)


def test_sim_min_max_changes_the_result_in_the_documented_way():
    p = np.array([[1.0, 2.0, 3.0]])
    q = np.array([[3.0, 2.0, 1.0]])
    # pysaliency: (1,2,3)/6 vs (3,2,1)/6 -> min sums to (1+2+1)/6; MIT min-max: (0,.5,1)/1.5 vs (1,.5,0)/1.5
    assert M.sim(p, q, M.PYSALIENCY) == pytest.approx(4 / 6)
    assert M.sim(p, q, M.MIT) == pytest.approx(0.5 / 1.5)


def _thresholded_case(values, fixated, other):
    """A 1×n map with min 0 and max 1 (min-max leaves it as it is), its fixations and other fixations."""
    smap = np.array([values])
    fix, oth = np.zeros_like(smap), np.zeros_like(smap)
    fix[0, fixated], oth[0, other] = 1, 1
    return smap, fix, oth


def test_thresholds_are_matlabs_colon_range_by_hand():
    # positives (.6 .35 .35 .3), negatives (.3 0): fewer others than fixations, so every split uses both.
    # fliplr(0:0.1:0.6) = .6 .5 .39999999999999997 .3 .2 .1 0 (MATLAB's colon; .3 = (0 + .6)/2 exactly)
    # (fp, tp): (0 0) (0 1/4) x3 (1/2 1) x3 (1 1) (1 1) -> area (1/4 + 1)/2 · 1/2 + 1/2 = 13/16.
    # With thresholds k·0.1 the 4th is 0.30000000000000004: the pixels at .3 wait for .2 and the curve
    # gains the point (0, 3/4): 15/16.
    smap, fix, other = _thresholded_case([1.0, 0.6, 0.35, 0.35, 0.3, 0.3, 0.0, 0.5], [1, 2, 3, 4], [5, 6])
    assert A.auc_shuffled(smap, fix, other, M.MIT, n_splits=3) == pytest.approx(13 / 16, abs=1e-15)


def test_pixels_at_the_top_threshold_count():
    # positives (.6 .55), negatives (.55 0): top threshold exactly .6, so (fp, tp) = (0 0) (0 1/2) (1/2 1)
    # ... (1 1): 7/8. A top threshold of 6·0.1 = 0.6000000000000001 drops the .6 pixel there: 3/4.
    smap, fix, other = _thresholded_case([1.0, 0.6, 0.55, 0.55, 0.0], [1, 2], [3, 4])
    assert A.auc_shuffled(smap, fix, other, M.MIT, n_splits=2) == pytest.approx(7 / 8, abs=1e-15)


def test_jitter_only_breaks_ties():
    fix = _fixation_map()
    const = np.ones(fix.shape)
    assert math.isnan(A.auc_judd(const, fix, M.MIT, jitter=False))  # min-max of a constant: 0/0
    with_jitter = A.auc_judd(const, fix, M.MIT, jitter=True, seed=3)
    assert abs(with_jitter - 0.5) < 0.25
    smooth = _blurred_density(fix) + RNG.random(fix.shape)
    assert A.auc_judd(smooth, fix, jitter=True) == pytest.approx(A.auc_judd(smooth, fix, jitter=False), abs=1e-6)


def test_perfect_and_inverted_maps_bound_the_aucs():
    fix = _fixation_map()
    good, bad = fix.astype(float), 1.0 - fix
    for convention in M.CONVENTIONS:
        assert A.auc_judd(good, fix, convention) > 0.95
        assert A.auc_judd(bad, fix, convention) < 0.1
    assert A.auc_borji(good, fix) > 0.9 and A.auc_borji(bad, fix) < 0.1


def test_shuffled_auc_against_the_same_fixations_is_chance():
    fix = _fixation_map()
    smap = _blurred_density(fix)
    assert A.auc_shuffled(smap, fix, fix, M.PYSALIENCY) == pytest.approx(0.5)


def test_information_gain():
    fix = _fixation_map()
    baseline = _blurred_density(fix, sigma=6.0)
    density = _blurred_density(fix, sigma=1.5)
    for convention in M.CONVENTIONS:
        assert M.information_gain(baseline, fix, baseline, convention) == pytest.approx(0.0)
        assert M.information_gain(density, fix, baseline, convention) > 0.5
        assert M.information_gain(RNG.random(fix.shape), fix, density, convention) < 0
    assert M.information_gain(density, fix, np.ones(fix.shape), M.PYSALIENCY) > 0.5


# -- degenerate inputs: the table in docs/metrics.md ---------------------------------------------------

FIX = _fixation_map()
DENSITY = _blurred_density(FIX)
OTHER = _fixation_map(n=15, seed=7)
BASE = np.random.default_rng(4).random(SHAPE) + 0.2
SMAP = np.random.default_rng(5).random(SHAPE)
ONE = np.zeros(SHAPE)
ONE[5, 7] = 1


def _scores(convention, smap=SMAP, fix=FIX, density=DENSITY, other=OTHER, base=BASE, jitter=True):
    return {
        "auc_judd": A.auc_judd(smap, fix, convention, jitter=jitter),
        "auc_borji": A.auc_borji(smap, fix),
        "auc_shuffled": A.auc_shuffled(smap, fix, other, convention),
        "nss": M.nss(smap, fix, convention),
        "cc": M.cc(smap, density, convention),
        "kld": M.kld(smap, density, convention),
        "sim": M.sim(smap, density, convention),
        "information_gain": M.information_gain(smap, fix, base, convention),
    }


def _check(scores, expected):
    for metric, value in expected.items():
        got = scores[metric]
        if value is None:
            assert math.isnan(got), (metric, got)
        elif value == "finite":
            assert math.isfinite(got), (metric, got)
        else:
            assert got == pytest.approx(value, rel=1e-12, abs=1e-15), metric
    assert set(expected) == set(scores)


def _q(density):
    return density / density.sum()


def _pys(m):
    return (m + 1e-20) / (m + 1e-20).sum()


NAN = None
UNIFORM_KLD = float((_q(DENSITY) * np.log(N * _q(DENSITY))).sum())  # P = 1/N, eps negligible
UNIFORM_KLD_PYS = float((_pys(DENSITY) * np.log(N * _pys(DENSITY))).sum())
UNIFORM_SIM = float(np.minimum(1 / N, _q(DENSITY)).sum())
UNIFORM_IG_PYS = float(np.mean(np.log2((1 / N) / _pys(BASE)[FIX > 0])))


@pytest.mark.parametrize("value", [0.5, 1.0, 7.0])
def test_constant_map(value):
    const = np.full(SHAPE, value)
    _check(_scores(M.MIT, const, jitter=False), {
        "auc_judd": NAN, "auc_borji": NAN, "auc_shuffled": NAN, "nss": NAN, "cc": NAN,
        "kld": UNIFORM_KLD, "sim": NAN, "information_gain": NAN})
    assert 0 < A.auc_judd(const, FIX, M.MIT, jitter=True) < 1  # the jitter makes it a random map
    _check(_scores(M.PYSALIENCY, const), {
        "auc_judd": 0.5, "auc_borji": NAN, "auc_shuffled": 0.5, "nss": 0.0, "cc": 0.0,
        "kld": UNIFORM_KLD_PYS, "sim": UNIFORM_SIM, "information_gain": UNIFORM_IG_PYS})


def test_all_zero_map():
    zero = np.zeros(SHAPE)
    q = _q(DENSITY)
    _check(_scores(M.MIT, zero, jitter=False), {
        "auc_judd": NAN, "auc_borji": NAN, "auc_shuffled": NAN, "nss": NAN, "cc": NAN,
        "kld": float((q * np.log(EPS + q / EPS)).sum()),  # an all-zero map stays zero
        "sim": 0.0, "information_gain": NAN})
    _check(_scores(M.PYSALIENCY, zero), {  # pysaliency turns an all-zero map into a uniform one
        "auc_judd": 0.5, "auc_borji": NAN, "auc_shuffled": 0.5, "nss": 0.0, "cc": 0.0,
        "kld": UNIFORM_KLD_PYS, "sim": UNIFORM_SIM, "information_gain": UNIFORM_IG_PYS})


def test_one_fixated_pixel():
    z_mit = (SMAP[5, 7] - SMAP.mean()) / SMAP.std(ddof=1)
    z_pys = (SMAP[5, 7] - SMAP.mean()) / SMAP.std()
    above = (SMAP > SMAP[5, 7]).sum()
    for convention, z in ((M.MIT, z_mit), (M.PYSALIENCY, z_pys)):
        scores = _scores(convention, fix=ONE, density=_blurred_density(ONE))
        assert math.isnan(scores["auc_borji"])  # AUC_Borji.m: sum(fixationMap(:) > 0) <= 1 -> NaN
        assert scores["nss"] == pytest.approx(z, rel=1e-12)
        assert all(math.isfinite(v) for k, v in scores.items() if k != "auc_borji")
    # AUC-Judd, MIT: tp (0 1 1), fp (0, f = (#pixels >= s − 1)/(N − 1), 1) -> area f/2 + (1 − f)
    f = above / (N - 1)
    assert A.auc_judd(SMAP, ONE, M.MIT, jitter=False) == pytest.approx(1 - f / 2, abs=1e-15)
    assert A.auc_judd(SMAP, ONE, M.PYSALIENCY) == pytest.approx((N - 1 - above + 0.5) / N, abs=1e-15)


@pytest.mark.parametrize("convention", M.CONVENTIONS)
def test_no_fixation(convention):
    empty = np.zeros(SHAPE)
    scores = _scores(convention, fix=empty)
    for metric in ("auc_judd", "auc_borji", "auc_shuffled", "nss", "information_gain"):
        assert math.isnan(scores[metric]), metric
    outside = np.array([[-1.0, 2.0], [SHAPE[1] + 3.0, 1.0]])  # points outside the image are dropped
    assert math.isnan(M.nss(SMAP, outside, convention, shape=SHAPE))
    assert scores["cc"] == M.cc(SMAP, DENSITY, convention)  # the density metrics need no fixations


def test_every_pixel_fixated():
    everything = np.ones(SHAPE)
    assert math.isnan(A.auc_judd(SMAP, everything, M.MIT))  # no negatives: fp = 0/0
    assert A.auc_judd(SMAP, everything, M.PYSALIENCY) == pytest.approx(0.5, abs=1e-15)


def test_constant_and_zero_density():
    p = _q(SMAP)
    uniform_q = np.full(SHAPE, 1 / N)
    for density in (np.full(SHAPE, 0.25), np.zeros(SHAPE)):
        assert math.isnan(M.cc(SMAP, density, M.MIT)) and math.isnan(M.cc(SMAP, density, M.PYSALIENCY))
        assert M.sim(SMAP, density, M.PYSALIENCY) == pytest.approx(np.minimum(p, uniform_q).sum(), rel=1e-12)
        assert M.kld(SMAP, density, M.PYSALIENCY) == pytest.approx(
            (uniform_q * np.log(uniform_q / _pys(SMAP))).sum(), rel=1e-9)
    assert math.isnan(M.sim(SMAP, np.full(SHAPE, 0.25), M.MIT))  # min-max of a non-zero constant: 0/0
    assert M.kld(SMAP, np.full(SHAPE, 0.25), M.MIT) == pytest.approx(
        (uniform_q * np.log(EPS + uniform_q / (p + EPS))).sum(), rel=1e-12)
    assert M.sim(SMAP, np.zeros(SHAPE), M.MIT) == 0.0 and M.kld(SMAP, np.zeros(SHAPE), M.MIT) == 0.0


def test_constant_baseline():
    assert math.isnan(M.information_gain(SMAP, FIX, np.ones(SHAPE), M.MIT))
    expected = np.mean(np.log2(_pys(SMAP)[FIX > 0] / (1 / N)))
    assert M.information_gain(SMAP, FIX, np.ones(SHAPE), M.PYSALIENCY) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("convention", M.CONVENTIONS)
def test_no_other_fixations(convention):
    assert math.isnan(A.auc_shuffled(SMAP, FIX, np.zeros(SHAPE), convention))


def test_a_constant_saliency_map_against_a_non_constant_one_in_pysaliency_cc():
    assert M.cc(np.full(SHAPE, 2.0), DENSITY, M.PYSALIENCY) == 0.0
    assert math.isnan(M.cc(np.full(SHAPE, 2.0), np.full(SHAPE, 2.0), M.PYSALIENCY))


# -- invariances, resizing and inputs ------------------------------------------------------------------


def test_invariances():
    fix = _fixation_map()
    density = _blurred_density(fix)
    smap = density + 0.3 * RNG.random(fix.shape)
    scaled = 3.0 * smap + 2.0
    assert M.cc(scaled, density) == pytest.approx(M.cc(smap, density))
    assert M.nss(scaled, fix) == pytest.approx(M.nss(smap, fix))
    assert M.sim(scaled, density) == pytest.approx(M.sim(smap, density))  # min-max removes the offset
    assert A.auc_judd(scaled, fix, M.PYSALIENCY) == pytest.approx(A.auc_judd(smap, fix, M.PYSALIENCY))
    assert M.kld(3.0 * smap, density) == pytest.approx(M.kld(smap, density))  # scale only
    perm = RNG.permutation(fix.size)
    permute = lambda a: a.ravel()[perm].reshape(a.shape)  # noqa: E731
    assert M.cc(permute(smap), permute(density)) == pytest.approx(M.cc(smap, density))
    assert M.kld(permute(smap), permute(density)) == pytest.approx(M.kld(smap, density))


def test_point_list_equals_the_binary_map_and_duplicates_count_for_pysaliency():
    fix = _fixation_map()
    rows, cols = np.nonzero(fix)
    points = np.stack([cols, rows], axis=1).astype(float) + 0.4  # (x, y), sub-pixel
    smap = _blurred_density(fix) + RNG.random(fix.shape)
    assert M.nss(smap, points, shape=fix.shape) == pytest.approx(M.nss(smap, fix))
    doubled = np.concatenate([points, points[:1]])
    assert M.nss(smap, doubled, M.MIT, shape=fix.shape) == pytest.approx(M.nss(smap, fix, M.MIT))
    assert M.nss(smap, doubled, M.PYSALIENCY, shape=fix.shape) != pytest.approx(M.nss(smap, fix, M.PYSALIENCY))
    outside = np.concatenate([points, [[-1.0, 3.0], [fix.shape[1] + 2.0, 1.0]]])
    assert M.nss(smap, outside, shape=fix.shape) == pytest.approx(M.nss(smap, fix))


def test_maps_are_resized_to_the_fixation_map():
    yy, xx = np.mgrid[0:24, 0:32]
    large = np.exp(-((yy - 12) ** 2 + (xx - 16) ** 2) / 50.0)
    small = large[::2, ::2]
    fix = np.zeros((24, 32))
    fix[12, 16] = fix[3, 4] = 1
    for convention in M.CONVENTIONS:
        assert M.cc(small, large, convention) > 0.99
        assert M.nss(small, fix, convention) > 1
    # MIT: MATLAB's imresize (bicubic), so the score equals the score of the imresize'd map
    assert M.nss(small, fix, M.MIT) == M.nss(imresize(small, (24, 32)), fix, M.MIT)
    assert M.cc(small, large, M.MIT) == M.cc(imresize(small, (24, 32)), large, M.MIT)
    # pysaliency wants maps at the fixations' size; ours resizes them bilinearly
    assert M.nss(small, fix, M.PYSALIENCY) == M.nss(M.resize_map(small, (24, 32)), fix, M.PYSALIENCY)


def test_sampling_is_deterministic_given_a_seed():
    fix = _fixation_map()
    smap = _blurred_density(fix) + RNG.random(fix.shape)
    assert A.auc_borji(smap, fix, seed=5) == A.auc_borji(smap, fix, seed=5)
    assert A.auc_borji(smap, fix, seed=5) != A.auc_borji(smap, fix, seed=6)
    other = _fixation_map(seed=9, n=30)
    assert A.auc_shuffled(smap, fix, other, seed=2) == A.auc_shuffled(smap, fix, other, seed=2)


def test_bad_inputs():
    with pytest.raises(ValueError, match="convention"):
        M.nss(np.ones((4, 4)), np.eye(4), convention="matlab")
    with pytest.raises(ValueError, match="NaN"):
        M.cc(np.full((4, 4), np.nan), np.ones((4, 4)))
    with pytest.raises(ValueError, match="negative values"):
        M.kld(np.array([[-1.0, 2.0]]), np.ones((1, 2)), M.MIT)
    assert math.isfinite(M.kld(np.array([[-1.0, 2.0]]), np.ones((1, 2)), M.PYSALIENCY))  # shifted to 0
    with pytest.raises(ValueError, match="step"):
        A.auc_borji(SMAP, FIX, step=0)
    with pytest.raises(ValueError, match="other_fixations must have"):
        A.auc_shuffled(SMAP, FIX, np.ones((3, 3)))
