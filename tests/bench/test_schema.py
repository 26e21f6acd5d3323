"""The result document: JSON round trip, versioning, clear errors for files that are not results."""
import json

import pytest

from edge_saliency.bench.schema import SCHEMA, SCHEMA_VERSION, BenchResult, Cell, load_result
from edge_saliency.errors import UserError


def test_json_round_trip_keeps_every_field(result, tmp_path):
    path = tmp_path / "r.json"
    path.write_text(result.to_json())
    again = load_result(str(path))
    assert again.to_dict() == result.to_dict()
    assert again.cells == result.cells  # dataclass equality, field by field
    data = json.loads(path.read_text())
    assert data["schema"] == SCHEMA and data["schema_version"] == SCHEMA_VERSION
    assert [c["id"] for c in data["cells"]][:3] == ["torch-fp32-64x96-b1", "onnxruntime-fp32-64x96-b1",
                                                   "onnxruntime-int8-64x96-b1"]
    assert data["cells"][0]["size"] == [64, 96] and again.cells[0].size == (64, 96)


def test_every_cell_that_did_not_run_says_why(result):
    for cell in result.cells:
        assert cell.status in ("ok", "skipped", "failed")
        if not cell.ok:
            assert cell.reason


def test_a_newer_schema_is_refused_with_the_fix(result):
    data = result.to_dict()
    data["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(UserError, match="upgrade edge-saliency"):
        BenchResult.from_dict(data)


def test_other_json_files_are_refused(tmp_path):
    path = tmp_path / "lite.accuracy.json"
    path.write_text(json.dumps({"model": "emlnet-lite", "variants": {}}))
    with pytest.raises(UserError, match="not an edge-saliency benchmark result"):
        load_result(str(path))
    with pytest.raises(UserError, match="not found"):
        load_result(str(tmp_path / "missing.json"))
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(UserError, match="cannot read"):
        load_result(str(tmp_path / "broken.json"))


def test_a_cell_with_an_unknown_status_is_refused():
    with pytest.raises(UserError, match="status"):
        Cell.from_dict({"backend": "torch", "precision": "fp32", "size": [64, 96], "batch": 1, "status": "maybe"})
    with pytest.raises(UserError, match="lacks"):
        Cell.from_dict({"backend": "torch", "precision": "fp32"})
