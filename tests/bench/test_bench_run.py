"""A tiny real run: emlnet-lite at 64×96 exported by the benchmark itself, ONNX Runtime and PyTorch on this
CPU, on a real clip; all four files, with numbers that agree with each other."""
import csv
import json
import os

import numpy as np
import pytest

from edge_saliency.bench import source_sizes
from edge_saliency.bench.exports import ExportCache
from edge_saliency.bench.options import BenchOptions
from edge_saliency.bench.schema import STAGES, load_result
from edge_saliency.bench.stats import latency_stats
from edge_saliency.cli import main

ITERATIONS = 4
write_clip = source_sizes.write_source_clip


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    from edge_saliency.outputs.sample_clip import write_sample_clip

    return write_sample_clip(str(tmp_path_factory.mktemp("clip") / "clip.mp4"), frames=24, size=(96, 128), fps=12.0)


@pytest.fixture(scope="module")
def run(tmp_path_factory, clip):
    pytest.importorskip("matplotlib")
    folder = tmp_path_factory.mktemp("bench")
    out = str(folder / "results" / "tiny")
    clips = []  # every source clip written: once per size for the whole run, not per cell

    def counted(path, size, frames, video=None, fps=25.0):
        clips.append((tuple(size), frames, video))
        return write_clip(path, size, frames, video, fps)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(source_sizes, "write_source_clip", counted)
        code = main(["bench", "emlnet-lite", "--size", "64x96", "--precision", "fp32", "fp16", "int8", "--warmup",
                     "1", "--iterations", str(ITERATIONS), "--video", clip, "--accuracy-frames", "2", "--stage-frames",
                     "3", "--pipeline-frames", "4", "--threads", "1", "--work-dir", str(folder / "models"), "-o", out,
                     "--backend", "onnxruntime", "torch", "tensorrt", "--calib", clip,
                     "--frame-sizes", "48x64", "96x160"])
    assert code == 0
    assert clips == [((48, 64), 3, clip), ((96, 160), 3, clip)]
    return folder, out


def test_all_four_files_with_consistent_numbers(run):
    folder, out = run
    result = load_result(out + ".json")
    by_id = {c.id: c for c in result.cells}
    ran = [c for c in result.cells if c.ok]
    assert {c.id for c in ran} == {"onnxruntime-fp32-64x96-b1", "onnxruntime-fp16-64x96-b1",
                                   "onnxruntime-int8-64x96-b1", "torch-fp32-64x96-b1"}
    for cell in ran:
        assert len(cell.samples_ms) == ITERATIONS == cell.iterations and cell.clock == "perf_counter"
        recomputed = latency_stats(cell.samples_ms)  # the JSON's statistics are those of its own samples
        for key in ("mean", "p50", "p90", "p99", "min", "max"):
            assert cell.latency_ms[key] == pytest.approx(recomputed[key], abs=1e-3)
        assert cell.latency_ms["min"] <= cell.latency_ms["p50"] <= cell.latency_ms["p90"] <= cell.latency_ms["p99"]
        # the timed loop's wall time covers every iteration: throughput <= 1000 / mean host latency
        assert 0 < cell.throughput_fps <= 1000.0 / cell.wall_ms["mean"] * 1.0001
        assert cell.peak_rss_mib > 50 and cell.device_memory_mib is None and cell.device == "cpu"
        assert all(cell.stages_ms[s]["n"] == 3 for s in STAGES if cell.stages_ms[s] is not None)
        assert cell.stages_ms["copy_in"] is not None and cell.stages_ms["infer"]["p50"] > 0
        assert cell.pipeline["frames"] == 4 and cell.pipeline["fps"] > 0
        assert len(cell.load_1min) == 2
    assert by_id["torch-fp32-64x96-b1"].accuracy == {"reference": "self", "frames": 2}
    assert by_id["onnxruntime-fp32-64x96-b1"].accuracy["cc"] > 0.9999  # the same model through ONNX
    assert by_id["onnxruntime-fp32-64x96-b1"].accuracy["reference"] == "torch-fp32-64x96-b1"
    assert by_id["onnxruntime-int8-64x96-b1"].accuracy["reference"] == "onnxruntime-fp32-64x96-b1"
    for cell_id in ("tensorrt-fp32-64x96-b1", "torch-fp16-64x96-b1", "torch-int8-64x96-b1"):
        assert by_id[cell_id].status == "skipped" and by_id[cell_id].reason

    rows = {r["id"]: r for r in csv.DictReader(open(out + ".csv", encoding="utf-8"))}
    assert set(rows) == set(by_id)
    for cell in ran:
        assert float(rows[cell.id]["p50_ms"]) == pytest.approx(cell.latency_ms["p50"])
        assert float(rows[cell.id]["cc"] or 1.0) == pytest.approx((cell.accuracy or {}).get("cc", 1.0))
    md = open(out + ".md", encoding="utf-8").read()
    for cell in ran:
        assert "**{:.2f}**".format(cell.latency_ms["p50"]) in md
    assert "| tensorrt-fp32-64x96-b1 | skipped | TensorRT" in md
    with open(out + ".png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    data = json.load(open(out + ".json", encoding="utf-8"))
    assert data["environment"]["cpu_count"] == os.cpu_count() and data["settings"]["iterations"] == ITERATIONS
    assert data["environment"]["load_before"] and data["environment"]["load_after"]


def test_the_stages_at_each_source_size_are_ratios_to_the_same_cells_inference(run):
    _, out = run
    result = load_result(out + ".json")
    assert result.settings["frame_sizes"] == [[48, 64], [96, 160]]
    md = open(out + ".md", encoding="utf-8").read()
    for cell in [c for c in result.cells if c.ok]:
        assert [r["source"] for r in cell.source_stages] == [[48, 64], [96, 160]]
        for record in cell.source_stages:
            stats, ratios = record["stages_ms"], record["vs_inference"]
            assert record["frames"] == 3 and record["encoder"]
            for stage in ("decode", "preprocess", "inference", "postprocess", "output"):
                assert stats[stage]["n"] == 3 and stats[stage]["p50"] > 0
            for stage, value in stats.items():  # batch 1: each ratio is the stage's p50 / inference's p50
                if value is None:
                    assert ratios[stage] is None
                else:
                    assert ratios[stage] == pytest.approx(value["p50"] / stats["inference"]["p50"])
            assert ratios["inference"] == 1.0
            row = "| {}×{} | {:.2f} ({:.2f}×) |".format(record["source"][0], record["source"][1],
                                                        stats["decode"]["p50"], ratios["decode"])
            assert row in md
        assert "### " + cell.id in md


def test_the_exports_are_reused_and_a_static_file_skips_other_sizes(run, clip):
    folder, _ = run
    models = str(folder / "models")
    options = BenchOptions(model="emlnet-lite", precisions=["fp32", "int8"], work_dir=models)
    exported = ExportCache(options)
    assert exported._reusable(os.path.join(models, "emlnet-lite-64x96.onnx"), ["fp32", "int8"], (64, 96), False)
    assert not exported._reusable(os.path.join(models, "emlnet-lite-64x96.onnx"), ["fp32"], (96, 128), False)
    pretrained = ExportCache(BenchOptions(model="emlnet-lite", pretrained=True, work_dir=models))
    assert not pretrained._reusable(os.path.join(models, "emlnet-lite-64x96.onnx"), ["fp32"], (64, 96), False)
    onnx = ExportCache(BenchOptions(model=os.path.join(models, "emlnet-lite-64x96-int8.onnx")))
    assert onnx.base.endswith("emlnet-lite-64x96.onnx") and onnx.default_size == (64, 96)  # its fp32 reference
    assert onnx.onnx_file("int8", (64, 96), 1)[0].endswith("-int8.onnx")
    path, reason = onnx.onnx_file("fp32", (96, 128), 1)
    assert path is None and "static at 64x96" in reason
    path, reason = onnx.onnx_file("fp32", (64, 96), 4)
    assert path is None and "--dynamic" in reason


def test_accuracy_maps_come_from_real_frames(run):
    _, out = run
    int8 = load_result(out + ".json").cell("onnxruntime-int8-64x96-b1")
    assert int8.accuracy["frames"] == 2 and np.isfinite(int8.accuracy["kld"])


def test_bad_input_is_one_line_and_leaves_nothing(tmp_path, capsys, clip):
    out = str(tmp_path / "r")
    assert main(["bench", "emlnet-lite", "--size", "240x320", "-o", out, "--video", clip]) == 1
    assert "multiple" in capsys.readouterr().err
    assert main(["bench", str(tmp_path / "missing.onnx"), "-o", out]) == 1
    assert "not found" in capsys.readouterr().err
    assert main(["bench", "-o", out]) == 1
    assert list(tmp_path.iterdir()) == []
