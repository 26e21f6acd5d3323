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


@pytest.mark.parametrize("name, content, why, fix", [
    ("m.onnx", b"{not json", "not valid JSON", "re-export the model"),
    ("m.ort.onnx", b"\x97\x00garbage", "not valid JSON", "build-engine MODEL.onnx --force"),
    ("m.engine", b'{"schema_version": 1, "info": {"precision": "fp16"', "not valid JSON", "--force"),  # cut short
    ("m.engine", b'{"schema_version": 1, "info": {}}', "no 'kind'", "build-engine MODEL.onnx --force"),
    ("m.safetensors", b"[1, 2]", "not a JSON object", "save the model again"),
])
def test_a_corrupt_sidecar_is_named_corrupt_with_the_fix(tmp_path, name, content, why, fix):
    artifact = str(tmp_path / name)
    with open(sidecar_path(artifact), "wb") as f:
        f.write(content)
    with pytest.raises(WeightsError) as error:
        read_sidecar(artifact)
    message = str(error.value)
    assert message.startswith("the sidecar {} of {} is corrupt ({}".format(sidecar_path(artifact), artifact, why))
    assert fix in message and "\n" not in message
