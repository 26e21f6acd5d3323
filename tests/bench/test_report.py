"""CSV / markdown / PNG outputs and the --compare ratio table, on synthetic results with known numbers."""
import csv
import io
import json

import pytest

from edge_saliency.bench import report
from edge_saliency.bench.schema import load_result
from edge_saliency.cli import main

from .conftest import make_result, ok_cell


def test_p50_ratio_against_the_baseline_cell(result):
    torch_cell, ort_cell, int8_cell = result.cells[:3]
    # p50 of [40..80] = 60, of [100..140] = 120, of [20..40] = 30
    assert report.ratio_p50(result, ort_cell) == pytest.approx(0.5)
    assert report.ratio_p50(result, int8_cell) == pytest.approx(0.25)
    assert report.ratio_p50(result, torch_cell) == pytest.approx(1.0)
    assert report.ratio_p50(result, result.cells[3]) is None  # skipped
    other = make_result(result.cells, baseline="onnxruntime:fp32")
    assert report.ratio_p50(other, torch_cell) == pytest.approx(2.0)


def test_compare_divides_b_by_a_cell_by_cell():
    a = make_result([ok_cell("onnxruntime", "fp32", [10.0, 20.0, 30.0], fps=50.0),
                     ok_cell("torch", "fp32", [100.0, 100.0, 100.0], fps=10.0),
                     ok_cell("onnxruntime", "int8", [5.0, 5.0, 5.0], fps=200.0)])
    b = make_result([ok_cell("onnxruntime", "fp32", [5.0, 10.0, 15.0], fps=100.0),
                     ok_cell("torch", "fp32", [300.0, 300.0, 300.0], fps=4.0),
                     ok_cell("tensorrt", "fp16", [1.0, 1.0, 1.0], fps=900.0)])
    b.cells[2].status = "ok"
    rows = {r["id"]: r for r in report.compare_rows(a, b)}
    ort = rows["onnxruntime-fp32-64x96-b1"]
    assert (ort["a_p50"], ort["b_p50"], ort["p50_ratio"]) == (20.0, 10.0, 0.5)
    assert ort["p99_ratio"] == pytest.approx(14.9 / 29.8)  # p99 of [5, 10, 15] / of [10, 20, 30]
    assert ort["fps_ratio"] == 2.0
    assert rows["torch-fp32-64x96-b1"]["p50_ratio"] == 3.0 and rows["torch-fp32-64x96-b1"]["fps_ratio"] == 0.4
    assert rows["onnxruntime-int8-64x96-b1"]["b_status"] == "absent"
    assert rows["onnxruntime-int8-64x96-b1"]["p50_ratio"] is None
    assert rows["tensorrt-fp16-64x96-b1"]["a_status"] == "absent"
    text = report.compare(a, b)
    assert "| onnxruntime-fp32-64x96-b1 | 20.00 | 10.00 | 0.500 |" in text
    assert "| onnxruntime-int8-64x96-b1 | 5.00 | absent | — |" in text


def test_compare_from_the_command_line(result, tmp_path, capsys):
    faster = make_result([ok_cell("torch", "fp32", [50.0, 55.0, 60.0, 65.0, 70.0])])
    (tmp_path / "a.json").write_text(result.to_json())
    (tmp_path / "b.json").write_text(faster.to_json())
    assert main(["bench", "--compare", str(tmp_path / "a.json"), str(tmp_path / "b.json")]) == 0
    out = capsys.readouterr().out
    assert "| torch-fp32-64x96-b1 | 120.00 | 60.00 | 0.500 |" in out
    assert main(["bench", "--compare", str(tmp_path / "a.json"), str(tmp_path / "nope.json")]) == 1
    assert "benchmark result not found" in capsys.readouterr().err


def test_csv_and_markdown_carry_the_json_numbers(result, tmp_path):
    pytest.importorskip("matplotlib")
    written, notes = report.write_outputs(result, str(tmp_path / "out"))
    assert [p.rsplit(".", 1)[1] for p in written] == ["json", "csv", "md", "png"] and notes == []
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text())))
    data = json.loads((tmp_path / "out.json").read_text())
    assert [r["id"] for r in rows] == [c["id"] for c in data["cells"]]
    for row, cell in zip(rows, data["cells"]):
        assert row["status"] == cell["status"]
        if cell["status"] == "ok":
            for key in ("p50", "p90", "p99", "mean", "min", "max"):
                assert float(row[key + "_ms"]) == pytest.approx(cell["latency_ms"][key])
        else:
            assert row["reason"] == cell["reason"] and row["p50_ms"] == ""
    assert float(rows[1]["ratio_p50_vs_baseline"]) == pytest.approx(0.5)
    md = (tmp_path / "out.md").read_text()
    assert "| onnxruntime | int8 | 64x96 | 1 | cpu | 30.00 | **30.00** |" in md
    assert "| tensorrt-fp32-64x96-b1 | skipped | TensorRT is not installed |" in md
    assert "| onnxruntime-fp16-64x96-b1 | failed | ONNX Runtime cannot load m-fp16.onnx |" in md
    assert "0.9800 | 0.0020 | 0.9500 |" in md and "reference" in md
    assert (tmp_path / "out.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert load_result(str(tmp_path / "out.json")).to_dict() == result.to_dict()


def test_without_matplotlib_the_plot_is_skipped_with_a_note(result, tmp_path, monkeypatch):
    monkeypatch.setattr(report, "matplotlib_available", lambda: False)
    written, notes = report.write_outputs(result, str(tmp_path / "jetson.json"))
    assert [p.rsplit(".", 1)[1] for p in written] == ["json", "csv", "md"]
    assert not (tmp_path / "jetson.png").exists()
    assert "matplotlib" in notes[0] and notes[0] in (tmp_path / "jetson.md").read_text()


def test_a_failed_write_leaves_no_file(result, tmp_path, monkeypatch):
    def broken(*args, **kwargs):  # fails after the JSON, CSV and markdown are written to their temporary files
        raise RuntimeError("disk full")

    monkeypatch.setattr(report, "matplotlib_available", lambda: True)
    monkeypatch.setattr(report, "plot_png", broken)
    with pytest.raises(RuntimeError):
        report.write_outputs(result, str(tmp_path / "out"))
    assert list(tmp_path.iterdir()) == []
