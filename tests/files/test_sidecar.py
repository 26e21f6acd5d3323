import json

import pytest

from edge_saliency.errors import WeightsError
from edge_saliency.files.sidecar import SIDECAR_SCHEMA_VERSION, Sidecar, read_sidecar, sidecar_path
from edge_saliency.models.registry import get_preset


def test_round_trip(tmp_path):
    artifact = str(tmp_path / "lite.onnx")
    written = Sidecar(kind="onnx", model=get_preset("emlnet-lite"), info={"opset": 17}).save(artifact)
    assert written == sidecar_path(artifact) == artifact + ".json"
    loaded = read_sidecar(artifact)
    assert loaded.model == get_preset("emlnet-lite") and loaded.info == {"opset": 17} and loaded.kind == "onnx"
    assert loaded.created


def test_missing_sidecar(tmp_path):
    assert read_sidecar(str(tmp_path / "x.onnx"), required=False) is None
    with pytest.raises(WeightsError, match="no sidecar for .*x.onnx"):
        read_sidecar(str(tmp_path / "x.onnx"))


@pytest.mark.parametrize("change, message", [
    ({"schema_version": SIDECAR_SCHEMA_VERSION + 1}, "upgrade edge-saliency"),
    ({"kind": "pickle"}, "unknown kind 'pickle'"),
])
def test_bad_sidecars_are_refused(tmp_path, change, message):
    artifact = str(tmp_path / "m.engine")
    Sidecar(kind="engine", model=None).save(artifact)
    data = json.load(open(sidecar_path(artifact)))
    data.update(change)
    json.dump(data, open(sidecar_path(artifact), "w"))
    with pytest.raises(WeightsError, match=message):
        read_sidecar(artifact)


def test_unreadable_sidecar(tmp_path):
    artifact = str(tmp_path / "m.onnx")
    open(sidecar_path(artifact), "w").write("{not json")
    with pytest.raises(WeightsError, match="cannot read sidecar"):
        read_sidecar(artifact)
