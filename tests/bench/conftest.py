"""Synthetic benchmark results (every field filled the way a real run fills it) for the schema and report tests."""
import pytest

from edge_saliency.bench.schema import BenchResult, Cell
from edge_saliency.bench.source_sizes import STAGES as SOURCE_STAGES
from edge_saliency.bench.source_sizes import stage_ratios
from edge_saliency.bench.stats import latency_stats


def source_record(size, **samples):
    """One ``source_stages`` entry: latency stats of the given samples (ms) per stage, None for the others."""
    stats = {s: latency_stats(samples[s]) if s in samples else None for s in SOURCE_STAGES}
    return {"source": list(size), "frames": len(samples["decode"]), "encoder": "OpenCV VideoWriter",
            "stages_ms": stats, "vs_inference": stage_ratios(stats)}


def ok_cell(backend, precision, samples, size=(64, 96), batch=1, accuracy=None, fps=None):
    cell = Cell(backend, precision, size, batch, status="ok", device="cpu", clock="perf_counter", threads=2,
                warmup=1, iterations=len(samples), model_file="m.onnx", runner=backend)
    cell.samples_ms = list(samples)
    cell.latency_ms = latency_stats(samples)
    cell.wall_ms = latency_stats(samples)
    cell.throughput_fps = fps if fps is not None else 1000.0 * batch / cell.latency_ms["mean"]
    cell.peak_rss_mib, cell.load_1min, cell.seconds = 300.0, [0.5, 0.7], 3.0
    cell.stages_ms = {"decode": latency_stats([1.0, 2.0]), "preprocess": latency_stats([0.5]), "copy_in": None,
                      "infer": latency_stats(samples), "copy_out": None, "postprocess": latency_stats([2.0])}
    cell.stage_frames = 2
    cell.source_stages = [
        source_record((480, 640), decode=[1.0, 3.0], preprocess=[1.0, 1.0], inference=[8.0, 8.0],
                      postprocess=[2.0, 2.0], output=[4.0, 4.0]),
        source_record((1080, 1920), decode=[6.0, 6.0], preprocess=[3.0, 3.0], inference=[8.0, 12.0],
                      postprocess=[15.0, 15.0], output=[9.0, 11.0])]
    cell.pipeline = {"fps": 10.0, "frames": 5, "wall_s": 0.5, "latency_ms": {"p50": 80.0, "p90": 90.0},
                     "busy": {"infer": 0.9}, "cores_used": 1.1, "batch": batch}
    cell.accuracy = accuracy
    return cell


def make_result(cells, baseline="torch:fp32"):
    env = {"cpu": "Test CPU", "cpu_count": 2, "cpu_governor": None, "gpu": None, "jetson": None, "os": "Linux",
           "python": "3.8.10", "onnxruntime": "1.16.0", "torch": None, "tensorrt": None, "cuda": None,
           "load_before": [0.5, 0.4, 0.3], "load_after": [0.7, 0.5, 0.3], "niceness": 0}
    settings = {"model": "emlnet-lite", "weights": "random (seed 0)", "warmup": 1, "iterations": 5, "threads": 2,
                "video": "clip.mp4", "accuracy_frames": 3, "stage_frames": 2, "pipeline_frames": 5,
                "baseline": baseline, "isolation": "one spawned process per cell"}
    return BenchResult(environment=env, settings=settings, cells=cells, created="2026-01-01T00:00:00+0000",
                       command="edge-saliency bench m.onnx")


@pytest.fixture
def result():
    return make_result([
        ok_cell("torch", "fp32", [100.0, 110.0, 120.0, 130.0, 140.0], accuracy={"reference": "self", "frames": 3}),
        ok_cell("onnxruntime", "fp32", [40.0, 50.0, 60.0, 70.0, 80.0],
                accuracy={"reference": "torch-fp32-64x96-b1", "cc": 0.99999, "cc_min": 0.9999, "kld": 1e-6,
                          "sim": 0.9999, "nss_agreement": 1.0, "max_abs": 1e-5, "frames": 3}),
        ok_cell("onnxruntime", "int8", [20.0, 25.0, 30.0, 35.0, 40.0],
                accuracy={"reference": "onnxruntime-fp32-64x96-b1", "cc": 0.98, "cc_min": 0.97, "kld": 0.002,
                          "sim": 0.95, "nss_agreement": 0.97, "max_abs": 0.05, "frames": 3}),
        Cell("tensorrt", "fp32", (64, 96), 1, status="skipped", reason="TensorRT is not installed"),
        Cell("torch", "int8", (64, 96), 1, status="skipped", reason="the PyTorch backend has no int8"),
        Cell("onnxruntime", "fp16", (64, 96), 1, status="failed", reason="ONNX Runtime cannot load m-fp16.onnx"),
    ])
