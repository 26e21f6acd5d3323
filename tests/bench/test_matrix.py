"""Planning: which cells run where and why the others are skipped; the accuracy reference of each cell; the
accuracy column against the metrics computed directly."""
import numpy as np
import pytest

from edge_saliency.bench.accuracy import add_accuracy, reference_for
from edge_saliency.bench.options import BenchOptions
from edge_saliency.bench.probes import cell_device, plan_cells
from edge_saliency.bench.schema import Cell
from edge_saliency.errors import UserError
from edge_saliency.maths import metrics

CPU_ONLY = {"torch": True, "torch_cuda": False, "tensorrt": None, "gpu": False,
            "ort_providers": ["CPUExecutionProvider"]}
GPU_BOX = {"torch": True, "torch_cuda": True, "tensorrt": "10.3.0", "gpu": True,
           "ort_providers": ["CUDAExecutionProvider", "CPUExecutionProvider"]}
JETSON_BASE = {"torch": False, "torch_cuda": False, "tensorrt": "8.5.2.2", "gpu": True,
               "ort_providers": ["CPUExecutionProvider"]}


@pytest.mark.parametrize("caps,backend,precision,device,expected", [
    (CPU_ONLY, "onnxruntime", "fp16", "auto", "cpu"),
    (CPU_ONLY, "torch", "fp32", "auto", "cpu"),
    (CPU_ONLY, "torch", "fp16", "auto", "PyTorch fp16 needs a CUDA GPU"),
    (CPU_ONLY, "torch", "int8", "auto", "no int8"),
    (CPU_ONLY, "tensorrt", "fp32", "auto", "TensorRT is not installed"),
    (CPU_ONLY, "onnxruntime", "fp32", "cuda", "no CUDA execution provider"),
    (CPU_ONLY, "torch", "fp32", "cuda", "PyTorch sees no CUDA GPU"),
    (GPU_BOX, "torch", "fp16", "auto", "cuda"),
    (GPU_BOX, "torch", "fp16", "cpu", "PyTorch fp16 needs a CUDA GPU"),
    (GPU_BOX, "onnxruntime", "int8", "auto", "cuda"),
    (GPU_BOX, "onnxruntime", "fp32", "cpu", "cpu"),
    (GPU_BOX, "tensorrt", "int8", "auto", "cuda"),
    (GPU_BOX, "tensorrt", "fp32", "cpu", "TensorRT runs on NVIDIA GPUs only"),
    (dict(GPU_BOX, gpu=False), "tensorrt", "fp32", "auto", "no NVIDIA GPU"),
    (JETSON_BASE, "torch", "fp32", "auto", "PyTorch is not installed"),
    (JETSON_BASE, "tensorrt", "fp16", "auto", "cuda"),
])
def test_each_cell_runs_on_a_device_or_says_why_not(caps, backend, precision, device, expected):
    chosen, reason = cell_device(backend, precision, device, caps)
    if expected in ("cpu", "cuda"):
        assert (chosen, reason) == (expected, "")
    else:
        assert chosen is None and expected in reason


def test_plan_covers_the_whole_matrix_in_run_order():
    options = BenchOptions(model="m.onnx", backends=["onnxruntime", "torch"], precisions=["fp32", "int8"],
                           batches=[1, 2])
    cells = plan_cells(options, [(64, 96), (128, 160)], CPU_ONLY)
    assert len(cells) == 2 * 2 * 2 * 2
    assert [c.id for c in cells[:4]] == ["onnxruntime-fp32-64x96-b1", "onnxruntime-int8-64x96-b1",
                                         "torch-fp32-64x96-b1", "torch-int8-64x96-b1"]
    skipped = [c for c in cells if c.status == "skipped"]
    assert {c.id.split("-64x96")[0].split("-128x160")[0] for c in skipped} == {"torch-int8"}
    assert all(c.reason for c in skipped)


@pytest.mark.parametrize("field,value,message", [
    ("sizes", [(240, 320)], "multiple of 32"), ("backends", ["tflite"], "--backend"),
    ("iterations", 0, "--iterations"), ("batches", [0], "--batch"), ("baseline", "torch", "--baseline"),
    ("device", "tpu", "--device"),
])
def test_bad_options_are_one_clear_error(field, value, message):
    options = BenchOptions(model="m.onnx")
    setattr(options, field, value)
    with pytest.raises(UserError, match=message):
        options.validate()


def ran(backend, precision, size=(64, 96), batch=1):
    return Cell(backend, precision, size, batch, status="ok")


def test_reference_is_the_same_backends_fp32_else_the_first_fp32():
    torch32, ort32, ort8, trt16 = ran("torch", "fp32"), ran("onnxruntime", "fp32"), ran("onnxruntime", "int8"), \
        ran("tensorrt", "fp16")
    other_size = ran("onnxruntime", "fp16", size=(128, 160))
    cells = [ort32, ort8, trt16, torch32, other_size]
    assert reference_for(ort8, cells) is ort32
    assert reference_for(trt16, cells) is torch32  # no TensorRT fp32 ran: the first fp32 (PyTorch)
    assert reference_for(ort32, cells) is torch32  # fp32 of another backend: checked against PyTorch
    assert reference_for(torch32, cells) is torch32
    assert reference_for(other_size, cells) is None


def test_accuracy_column_matches_the_metrics_computed_directly():
    rng = np.random.default_rng(0)
    reference = rng.random((3, 1, 32, 48)).astype(np.float32)
    noisy = np.clip(reference + rng.normal(0, 0.05, reference.shape), 0, 1).astype(np.float32)
    cells = [ran("onnxruntime", "fp32"), ran("onnxruntime", "int8"), ran("torch", "fp16")]
    cells.append(Cell("tensorrt", "fp32", (64, 96), 1, status="skipped", reason="no TensorRT"))
    add_accuracy(cells, {"onnxruntime-fp32-64x96-b1": reference, "onnxruntime-int8-64x96-b1": noisy,
                         "torch-fp16-64x96-b1": reference.copy()})
    acc = cells[1].accuracy
    assert acc["reference"] == "onnxruntime-fp32-64x96-b1" and acc["frames"] == 3
    ccs = [metrics.cc(n[0].astype(np.float64), r[0].astype(np.float64)) for n, r in zip(noisy, reference)]
    klds = [metrics.kld(n[0].astype(np.float64), r[0].astype(np.float64)) for n, r in zip(noisy, reference)]
    sims = [metrics.sim(n[0].astype(np.float64), r[0].astype(np.float64)) for n, r in zip(noisy, reference)]
    assert acc["cc"] == pytest.approx(np.mean(ccs), abs=1e-12) and acc["cc_min"] == pytest.approx(min(ccs))
    assert acc["kld"] == pytest.approx(np.mean(klds), abs=1e-12)
    assert acc["sim"] == pytest.approx(np.mean(sims), abs=1e-12)
    assert 0.9 < acc["cc"] < 1.0
    identical = cells[2].accuracy
    assert identical["cc"] == pytest.approx(1.0) and identical["sim"] == pytest.approx(1.0)
    assert identical["kld"] == pytest.approx(0.0, abs=1e-9)
    assert cells[0].accuracy == {"reference": "self", "frames": 3}
    assert cells[3].accuracy is None


def test_other_processes_cpu_is_the_machines_busy_time_minus_ours():
    from edge_saliency.bench.accounting import cpu_seconds, other_cpu

    # 10 s apart: the machine was busy 14 s (12 of them ours), and 3 s were stolen by the hypervisor
    assert other_cpu((100.0, 5.0, 40.0), (114.0, 8.0, 52.0), 10.0) == (pytest.approx(0.2), pytest.approx(0.3))
    assert other_cpu((100.0, 5.0, 40.0), (110.0, 5.0, 52.0), 10.0) == (0.0, 0.0)  # never negative
    assert other_cpu(None, (1.0, 0.0, 1.0), 1.0) == (None, None)
    now = cpu_seconds()
    assert now is None or (now[0] > 0 and now[1] >= 0 and now[2] > 0)
