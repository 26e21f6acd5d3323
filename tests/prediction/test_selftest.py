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


def test_selftest_passes_on_a_base_install_without_onnx():
    # a base install (numpy, ONNX Runtime, OpenCV) has neither onnx nor onnxruntime-extensions: the selftest
    # checks what is there and skips, with the reason, what needs the parts that are not
    import subprocess
    import sys

    code = ("import sys; sys.modules['onnx'] = None; sys.modules['onnxruntime_extensions'] = None; "
            "sys.modules['torch'] = None; from edge_saliency.cli import main; sys.exit(main(['selftest']))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = {line.split("]", 1)[1].strip().split("  ")[0]: line for line in result.stdout.splitlines() if "]" in line}
    assert lines["ONNX Runtime, native upsample"].startswith("  [ok  ]")
    plugin = lines["ONNX Runtime, plugin upsample"]
    assert plugin.startswith("  [skip]") and 'needs onnx and onnxruntime_extensions (pip install "edge-saliency' \
        '[export]")' in plugin
