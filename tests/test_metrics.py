"""Metrics against closed-form cases and hand computations (DESIGN.md §3 conventions)."""
import numpy as np
import pytest

from edge_saliency import metrics as M

RNG = np.random.default_rng(0)


def _fixation_map(shape=(12, 16), n=9, seed=1):
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


# -- closed forms --------------------------------------------------------------------------------------


@pytest.mark.parametrize("convention", M.CONVENTIONS)
def test_constant_map(convention):
    fix = _fixation_map()
    const = np.full(fix.shape, 0.3)
    assert M.nss(const, fix, convention) == 0.0
    assert M.cc(const, _blurred_density(fix)) == 0.0
    if convention == M.PYSALIENCY:  # exact ties: exactly chance
        assert M.auc_judd(const, fix, convention) == 0.5
        assert M.auc_shuffled(const, fix, _fixation_map(seed=7), convention) == 0.5


@pytest.mark.parametrize("convention", M.CONVENTIONS)
def test_map_equal_to_the_density_is_perfect(convention):
    density = _blurred_density(_fixation_map())
    assert M.cc(density, density) == pytest.approx(1.0, abs=1e-12)
    assert M.sim(density, density, convention) == pytest.approx(1.0, abs=1e-12)
    assert M.kld(density, density, convention) == pytest.approx(0.0, abs=1e-9)


def test_nss_of_the_fixation_map_matches_the_z_score_by_hand():
    fix = _fixation_map(n=9)
    n_pix, k = fix.size, 9
    mean = k / n_pix
    for convention, ddof in ((M.MIT, 1), (M.PYSALIENCY, 0)):
        variance = k * (n_pix - k) / (n_pix * (n_pix - ddof))
        expected = (1 - mean) / np.sqrt(variance)
        assert M.nss(fix.astype(float), fix, convention) == pytest.approx(expected, rel=1e-12)
    # N−1 gives the larger std, so the smaller NSS for a positive score
    assert M.nss(fix.astype(float), fix, M.MIT) < M.nss(fix.astype(float), fix, M.PYSALIENCY)


def test_auc_judd_small_example_with_ties_by_hand():
    smap = np.array([[0.1, 0.5, 0.5], [0.9, 0.2, 0.5]])
    fix = np.array([[0, 1, 0], [1, 0, 0]])
    # exact ties, negatives = all 6 pixels: pos 0.5 -> (2 below + ½·3 equal)/6, pos 0.9 -> (5 + ½)/6
    assert M.auc_judd(smap, fix, M.PYSALIENCY) == pytest.approx((3.5 / 6 + 5.5 / 6) / 2)
    # MIT, no jitter: normalised values [0 .5 .5; 1 .125 .5]; thresholds 1, .5:
    # (fp, tp) = (0, 0), (0, .5), (.5, 1), (1, 1) -> area .375 + .5
    assert M.auc_judd(smap, fix, M.MIT, jitter=False) == pytest.approx(0.875)


def test_jitter_moves_a_tied_map_towards_chance():
    fix = _fixation_map()
    const = np.ones(fix.shape)
    without = M.auc_judd(const, fix, M.MIT, jitter=False)
    with_jitter = M.auc_judd(const, fix, M.MIT, jitter=True, seed=3)
    assert without < 0.5 - 0.1  # MATLAB's rank-based curve penalises all-tied maps
    assert abs(with_jitter - 0.5) < 0.15


def test_perfect_and_inverted_maps_bound_the_aucs():
    fix = _fixation_map()
    good, bad = fix.astype(float), 1.0 - fix
    for convention in M.CONVENTIONS:
        assert M.auc_judd(good, fix, convention) > 0.95
        assert M.auc_judd(bad, fix, convention) < 0.1
    assert M.auc_borji(good, fix) > 0.9 and M.auc_borji(bad, fix) < 0.1


def test_shuffled_auc_against_the_same_fixations_is_chance():
    fix = _fixation_map()
    smap = _blurred_density(fix)
    assert M.auc_shuffled(smap, fix, fix, M.PYSALIENCY) == pytest.approx(0.5)


def test_information_gain():
    fix = _fixation_map()
    baseline = np.ones(fix.shape)
    density = _blurred_density(fix, sigma=1.5)
    for convention in M.CONVENTIONS:
        assert M.information_gain(baseline, fix, baseline, convention) == pytest.approx(0.0)
        assert M.information_gain(density, fix, baseline, convention) > 0.5
        assert M.information_gain(RNG.random(fix.shape), fix, density, convention) < 0


def test_kld_hand_computation():
    p = np.array([[1.0, 3.0]])
    q = np.array([[1.0, 1.0]])
    # MIT: P = (.25, .75), Q = (.5, .5): Σ Q log(Q / P) (eps negligible)
    expected = 0.5 * np.log(0.5 / 0.25) + 0.5 * np.log(0.5 / 0.75)
    assert M.kld(p, q, M.MIT) == pytest.approx(expected, rel=1e-9)
    assert M.kld(p, q, M.PYSALIENCY) == pytest.approx(expected, rel=1e-9)


def test_sim_min_max_changes_the_result_in_the_documented_way():
    p = np.array([[1.0, 2.0, 3.0]])
    q = np.array([[3.0, 2.0, 1.0]])
    # pysaliency: (1,2,3)/6 vs (3,2,1)/6 -> min sums to (1+2+1)/6; MIT min-max: (0,.5,1)/1.5 vs (1,.5,0)/1.5
    assert M.sim(p, q, M.PYSALIENCY) == pytest.approx(4 / 6)
    assert M.sim(p, q, M.MIT) == pytest.approx(0.5 / 1.5)


# -- invariances and inputs ----------------------------------------------------------------------------


def test_invariances():
    fix = _fixation_map()
    density = _blurred_density(fix)
    smap = density + 0.3 * RNG.random(fix.shape)
    scaled = 3.0 * smap + 2.0
    assert M.cc(scaled, density) == pytest.approx(M.cc(smap, density))
    assert M.nss(scaled, fix) == pytest.approx(M.nss(smap, fix))
    assert M.sim(scaled, density) == pytest.approx(M.sim(smap, density))  # min-max removes the offset
    assert M.auc_judd(scaled, fix, M.PYSALIENCY) == pytest.approx(M.auc_judd(smap, fix, M.PYSALIENCY))
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
    assert M.cc(small, large) > 0.99
    fix = np.zeros((24, 32))
    fix[12, 16] = 1
    assert M.nss(small, fix) > 3


def test_sampling_is_deterministic_given_a_seed():
    fix = _fixation_map()
    smap = _blurred_density(fix) + RNG.random(fix.shape)
    assert M.auc_borji(smap, fix, seed=5) == M.auc_borji(smap, fix, seed=5)
    assert M.auc_borji(smap, fix, seed=5) != M.auc_borji(smap, fix, seed=6)
    other = _fixation_map(seed=9, n=30)
    assert M.auc_shuffled(smap, fix, other, seed=2) == M.auc_shuffled(smap, fix, other, seed=2)


def test_bad_inputs():
    with pytest.raises(ValueError, match="convention"):
        M.nss(np.ones((4, 4)), np.eye(4), convention="matlab")
    with pytest.raises(ValueError, match="no fixations"):
        M.nss(np.ones((4, 4)), np.zeros((4, 4)))
    with pytest.raises(ValueError, match="NaN"):
        M.cc(np.full((4, 4), np.nan), np.ones((4, 4)))
