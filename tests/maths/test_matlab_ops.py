"""MATLAB's colon range, round, eps and imresize, written from MATLAB's documented operations and checked
against values MATLAB prints and values computed by hand (docs/metrics.md, "MATLAB operations")."""
import numpy as np
import pytest

from edge_saliency.maths.matlab_ops import EPS, _contributions, colon, imresize, matlab_round


def test_eps_is_matlabs_not_the_rounded_constant():
    assert EPS == 2.220446049250313e-16 == 2.0 ** -52
    assert EPS != 2.2204e-16


def test_round_halves_away_from_zero():
    assert [matlab_round(x) for x in (0.5, 1.5, 2.5, -0.5, -2.5, 2.4999)] == [1, 2, 3, -1, -3, 2]


def test_colon_0_to_0_6_step_0_1():
    v = colon(0, 0.1, 0.6)
    assert len(v) == 7
    assert v[-1] == 0.6  # snapped to the limit: not 6 * 0.1 = 0.6000000000000001
    assert 6 * 0.1 > 0.6 and np.arange(0, 0.6 + 1e-12, 0.1)[-1] > 0.6  # what a naive range gives
    assert (v <= 0.6).all()
    # first half start + k*step, second half last - k*step, the middle (start + last) / 2
    assert list(v[:3]) == [0.0, 0.1, 0.2]
    assert v[3] == (0 + 0.6) / 2 == 0.3
    assert v[4] == 0.6 - 2 * 0.1 == 0.39999999999999997
    assert v[5] == 0.6 - 0.1 == 0.5


def test_colon_matches_what_matlab_prints():
    # MATLAB users report x = 0:0.1:0.3; y = 0:0.1:0.4; x - y(1:end-1) = 1.0e-16 * [0 0 -0.2776 -0.5551]
    # and x(end) == 0.3 (MATLAB Answers, "How does COLON work?")
    x, y = colon(0, 0.1, 0.3), colon(0, 0.1, 0.4)
    assert x[-1] == 0.3 and len(x) == 4 and len(y) == 5
    assert np.allclose((x - y[:-1]) / 1e-16, [0, 0, -0.2776, -0.5551], atol=1e-4)


def test_colon_counts_with_the_tolerance_rule():
    # n = round((b - a) / d), less one when a + n*d passes b by more than 2*eps*max(|a|, |b|)
    assert len(colon(0, 0.1, 0.65)) == 7 and colon(0, 0.1, 0.65)[-1] == 6 * 0.1  # not snapped: 0.05 away
    assert len(colon(0, 0.1, 0.3)) == 4  # 0.3 / 0.1 = 2.9999999999999996 rounds to 3; 3*0.1 is within tol
    assert len(colon(0, 0.1, 0.3 - 1e-9)) == 3
    assert list(colon(0, 0.1, 0)) == [0.0]
    assert list(colon(1, -0.25, 0)) == [1.0, 0.75, 0.5, 0.25, 0.0]
    assert colon(0, 0.1, -1).size == 0 and colon(0, 0, 1).size == 0 and colon(1, 0.5, 0).size == 0


def test_colon_never_passes_its_limit_and_counts_every_step():
    stops = list(np.random.default_rng(0).random(200)) + [k / 10 for k in range(11)] + [k / 255 for k in range(256)]
    for stop in stops:
        v = colon(0, 0.1, stop)
        assert (v <= stop).all() and v[0] == 0 and np.all(np.diff(v) > 0), stop
        assert len(v) == int(np.floor(stop / 0.1 + 1e-9)) + 1, stop
        assert np.allclose(v, 0.1 * np.arange(len(v)), rtol=0, atol=1e-15), stop


def test_imresize_keeps_the_size_and_constants():
    a = np.random.default_rng(1).random((5, 7))
    assert imresize(a, (5, 7)) is not None and np.array_equal(imresize(a, (5, 7)), a)
    assert np.array_equal(imresize(np.full((5, 7), 0.3), (13, 4)), np.full((13, 4), 0.3))


# Keys' cubic (a = -0.5) at the distances of a 2x enlargement (u = x/2 + 1/4): by hand
C25, C75, C125, C175 = 0.8671875, 0.2265625, -0.0703125, -0.0234375


def test_imresize_enlarges_with_keys_cubic_and_mirrors_at_the_edges():
    row = np.array([[1.0, 2.0, 3.0, 4.0]])
    out = imresize(row, (1, 8))[0]
    # output 1 reads u = 0.75: taps -1, 0, 1, 2 (1-based); -1 and 0 mirror to pixels 2 and 1
    assert out[0] == pytest.approx(C175 * 2 + C75 * 1 + C25 * 1 + C125 * 2, abs=1e-15) == 0.90625
    # output 2 reads u = 1.25: taps 0 (mirrored to 1), 1, 2, 3
    assert out[1] == pytest.approx(C125 * 1 + C25 * 1 + C75 * 2 + C175 * 3, abs=1e-15)
    # where all four taps lie inside the image the cubic reproduces the straight line: value = u
    assert out[3:5] == pytest.approx([2.25, 2.75], abs=1e-15)
    assert out[::-1] == pytest.approx(5 - out, abs=1e-15)  # mirror symmetry
    # separable: a 2-D outer product enlarges to the outer product of the enlarged rows
    col = np.array([[0.5], [2.0], [1.0]])
    both = imresize(col @ row, (6, 8))
    assert both == pytest.approx(imresize(col, (6, 1)) @ imresize(row, (1, 8)), abs=1e-14)


def test_imresize_shrinks_with_a_stretched_kernel_whose_weights_sum_to_one():
    weights, indices = _contributions(7, 3, 3 / 7)
    assert weights.sum(axis=1) == pytest.approx(np.ones(3), abs=1e-15)
    # the kernel stretched by 7/3 reaches 4.67 pixels each side: more than the 4 taps of enlarging
    assert (np.count_nonzero(weights, axis=1) > 4).all()
    assert indices.min() >= 0 and indices.max() <= 6
    # 1/3: the middle output of a ramp 1..9 reads the symmetric taps 0..10, mirrored at both ends -> 5
    assert imresize(np.arange(1.0, 10.0)[None], (1, 3))[0, 1] == pytest.approx(5.0, abs=1e-14)
