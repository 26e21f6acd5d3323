"""Parity statistics, gates and the accuracy report's metrics (NSS agreement) on closed-form cases."""
import numpy as np
import pytest

from edge_saliency.export import evaluate
from edge_saliency.maths import metrics


def _map(seed=0, shape=(32, 48)):
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    rng = np.random.default_rng(seed)
    blob = np.exp(-((yy - 10) ** 2 + (xx - 30) ** 2) / 40.0)
    return (blob + 0.05 * rng.random(shape)).astype(np.float32)


def test_compare_statistics():
    ref = np.zeros((2, 1, 4, 4), np.float32)
    ref[:, 0, 0, 0] = 1
    out = ref.copy()
    out[1, 0, 3, 3] = 0.5
    stats = evaluate.compare(ref, out)
    assert stats["max_abs"] == 0.5 and stats["mean_abs"] == pytest.approx(0.5 / 32)
    expected_cc = metrics.cc(out[1, 0], ref[1, 0])  # the worse of the two items
    assert expected_cc < 1 and stats["cc"] == pytest.approx(expected_cc)
    with pytest.raises(evaluate.ParityError, match="shape"):
        evaluate.compare(ref, out[:1])


def test_gates_per_precision():
    real = evaluate.EvalInput("photo", np.zeros((1, 3, 4, 4), np.float32), True)
    noise = evaluate.EvalInput("random", np.zeros((1, 3, 4, 4), np.float32), False)
    ref = _map()[None, None]
    small = ref + 5e-5
    noisy = ref + 0.05 * np.random.default_rng(1).standard_normal(ref.shape).astype(np.float32)
    assert metrics.cc(noisy[0, 0], ref[0, 0]) < 0.98
    # reduced precisions gate CC on real frames only
    assert evaluate.parity("int8", [real, noise], [ref, ref], [small, noisy])["passed"]
    result = evaluate.parity("int8", [real, noise], [ref, ref], [noisy, small])
    assert not result["passed"] and result["failures"][0].startswith("photo: CC 0.")
    assert result["worst"]["cc"] == pytest.approx(metrics.cc(noisy[0, 0], ref[0, 0]))


def test_fp32_gate_scales_with_pytorchs_own_rounding():
    # exact = the float64 model; PyTorch float32 is off by its rounding; the ONNX file may be a few times
    # less accurate than that, plus a floor of 1e-6, and no more
    real = evaluate.EvalInput("photo", np.zeros((1, 3, 4, 4), np.float32), True)
    noise = evaluate.EvalInput("random", np.zeros((1, 3, 4, 4), np.float32), False)
    exact = _map().astype(np.float64)[None, None]
    rng = np.random.default_rng(0)
    torch32 = (exact + 2e-4 * rng.uniform(-1, 1, exact.shape)).astype(np.float32)  # a deep model's rounding
    rounding = float(np.abs(torch32 - exact).max())
    within = (exact + 3.9 * rounding * np.sign(rng.uniform(-1, 1, exact.shape))).astype(np.float32)
    beyond = exact.astype(np.float32).copy()
    beyond[0, 0, 5, 7] += np.float32(4.5 * rounding)
    result = evaluate.parity("fp32", [real, noise], [torch32, torch32], [within, beyond], exact=[exact, exact])
    assert not result["passed"] and len(result["failures"]) == 1
    assert result["failures"][0].startswith("random: max abs error 0.000")
    assert "> 4 x PyTorch float32's" in result["failures"][0]
    first = result["results"][0]
    assert first["rounding"] == pytest.approx(rounding) and first["limit"] == pytest.approx(4 * rounding + 1e-6)
    assert first["error"] == pytest.approx(3.9 * rounding, rel=1e-3) and first["max_abs"] > 1e-4  # the old gate
    assert result["worst"]["error"] == pytest.approx(4.5 * rounding, rel=1e-3)
    # where PyTorch rounds (almost) nothing, the floor holds: 1e-6 passes, 3e-6 does not
    exact32 = exact.astype(np.float32)
    tiny = evaluate.parity("fp32", [real], [exact32], [exact32 + np.float32(9e-7)], exact=[exact])
    assert tiny["passed"]
    assert not evaluate.parity("fp32", [real], [exact32], [exact32 + np.float32(3e-6)], exact=[exact])["passed"]
    with pytest.raises(ValueError, match="float64"):
        evaluate.parity("fp32", [real], [exact32], [exact32])
    # inputs without a float64 output are reported, not gated
    mixed = evaluate.parity("fp32", [real, noise], [torch32, torch32], [beyond, within], exact=[None, exact])
    assert mixed["passed"] and "error" not in mixed["results"][0] and mixed["results"][0]["max_abs"] > 0
    with pytest.raises(ValueError, match="float64"):
        evaluate.parity("fp32", [real], [exact32], [exact32], exact=[None])


def test_the_gate_runs_float64_on_the_first_photo_and_random_inputs():
    frames = [("a", np.zeros((40, 50, 3), np.uint8)), ("b", np.zeros((40, 50, 3), np.uint8))]
    static = evaluate.eval_inputs((32, 64), "opencv-area", frames=frames)
    assert [(i.name, i.exact) for i in static] == [("a", True), ("b", False), ("random", True)]
    dynamic = evaluate.eval_inputs((32, 64), "opencv-area", dynamic=True, frames=frames)
    assert [i.name for i in dynamic if i.exact] == ["a", "random", "a@64x128", "random@2x64x128"]


def test_pseudo_fixations_are_the_top_pixels():
    ref = _map()
    fix = evaluate.pseudo_fixations(ref, 0.01)
    k = round(0.01 * ref.size)
    assert fix.sum() == k
    assert ref[fix.astype(bool)].min() >= np.sort(ref.ravel())[-k]
    flat = np.zeros((10, 10))
    assert evaluate.pseudo_fixations(flat, 0.05).ravel()[:5].tolist() == [1] * 5  # ties: by pixel index


def test_nss_agreement():
    ref = _map()
    assert evaluate.nss_agreement(ref, ref) == pytest.approx(1.0)
    assert evaluate.nss_agreement(3 * ref + 1, ref) == pytest.approx(1.0)  # NSS is z-scored
    blurred = 0.5 * ref + 0.5 * ref.mean()
    assert evaluate.nss_agreement(blurred, ref) == pytest.approx(1.0)  # an affine map, still 1
    other = _map(seed=2)[::-1]  # the blob elsewhere
    assert evaluate.nss_agreement(other, ref) < 0.2
    assert evaluate.nss_agreement(ref, np.full_like(ref, 0.5)) is None
    assert evaluate.nss_agreement(np.full_like(ref, 0.5), ref) is None  # a constant map has no NSS


def test_a_constant_output_fails_the_cc_gate_and_is_undefined_in_the_report():
    real = evaluate.EvalInput("photo", np.zeros((1, 3, 4, 4), np.float32), True)
    ref = _map()[None, None]
    flat = np.full_like(ref, 0.5)  # CC of a constant map is NaN (0/0 in the MIT code)
    result = evaluate.parity("fp16", [real], [ref], [flat])
    assert not result["passed"] and result["failures"] == ["photo: CC nan < 0.999"]
    report = evaluate.accuracy([real, real], [ref, ref], [flat, ref])
    assert report["per_frame"][0]["cc"] is None and report["per_frame"][0]["sim"] is None
    assert report["cc"] == pytest.approx(1.0) and report["cc_min"] == pytest.approx(1.0)


def test_accuracy_report_and_table():
    inputs = [evaluate.EvalInput("a", np.zeros((1, 3, 4, 4), np.float32), True),
              evaluate.EvalInput("random", np.zeros((1, 3, 4, 4), np.float32), False)]
    ref = _map()[None, None]
    noisy = np.clip(ref + 0.02 * np.random.default_rng(3).standard_normal(ref.shape), 0, 1).astype(np.float32)
    row = evaluate.accuracy(inputs, [ref, ref], [noisy, ref * 0])
    assert row["frames"] == 1  # random input is not in the report
    assert row["cc"] == pytest.approx(metrics.cc(noisy[0, 0], ref[0, 0]))
    assert row["kld"] == pytest.approx(metrics.kld(noisy[0, 0], ref[0, 0]))
    assert row["sim"] == pytest.approx(metrics.sim(noisy[0, 0], ref[0, 0]))
    assert 0.8 < row["nss_agreement"] < 1.0
    table = evaluate.markdown_table({"int8": dict(row, file="m-int8.onnx", size_mb=1.25)})
    assert "| int8 | m-int8.onnx | 1.2 |" in table and "NSS" in table
