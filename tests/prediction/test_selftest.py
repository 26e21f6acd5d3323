"""``edge-saliency selftest``: every inference path here against the numpy reference."""
from edge_saliency.prediction import selftest
from edge_saliency.prediction.selftest import FAIL, OK, SKIP, run_selftest


def test_selftest_on_this_machine_checks_onnxruntime_and_reports_what_is_missing():
    result = run_selftest()
    checks = {c.name: c for c in result["checks"]}
    assert checks["ONNX Runtime, native upsample"].status == OK
    assert checks["ONNX Runtime, native upsample"].detail.startswith("max abs diff")
    if result["environment"]["tensorrt"] is None:
        assert checks["TensorRT"].status == SKIP and "edge-saliency[tensorrt]" in checks["TensorRT"].detail
        assert checks["TensorRT engines"].status == SKIP


def test_selftest_fails_when_a_path_computes_wrong_numbers(monkeypatch):
    monkeypatch.setattr(selftest, "_reference", lambda x: selftest.upsample_op.bilinear_resize(
        x, selftest.OUT_HW, align_corners=True))
    checks = {c.name: c for c in run_selftest()["checks"]}
    assert checks["ONNX Runtime, native upsample"].status == FAIL
