"""ModelSource: one parse of a model string, its record round trip, config without torch, build with checksum."""
import json
import os
import subprocess
import sys

import pytest
import torch

from edge_saliency.errors import UserError, WeightsError
from edge_saliency.files.hashing import file_sha256
from edge_saliency.files.sidecar import Sidecar, sidecar_path
from edge_saliency.models import create_model, save_model
from edge_saliency.models.build import build_model
from edge_saliency.models.registry import get_preset
from edge_saliency.models.saved import safetensors_metadata
from edge_saliency.models.source import ModelSource

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("source")
    torch.manual_seed(1)
    path = str(folder / "lite.safetensors")
    save_model(create_model("emlnet-lite", input_size=(64, 96), preprocess="opencv-linear"), path)
    return path


def test_each_kind_is_told_apart(saved, tmp_path):
    assert ModelSource.parse("emlnet-lite").kind == "preset"
    source = ModelSource.parse(saved)
    assert (source.kind, source.path, source.is_torch, source.trained) == ("safetensors", saved, True, True)
    config = tmp_path / "my.json"
    get_preset("emlnet-lite").save(str(config))
    assert ModelSource.parse(str(config)).kind == "config"
    for name, kind, extension in (("m", "onnx", ".onnx"), ("e", "engine", ".plan"), ("a", "onnxruntime", ".onnx")):
        path = tmp_path / (name + extension)
        path.write_bytes(b"x")
        if kind == "onnxruntime":  # an artifact is an .onnx file: its sidecar says what it is
            info = {"precision": "fp16", "weights_precision": "fp32"}
            Sidecar(kind="onnxruntime", model=get_preset("emlnet-lite"), info=info).save(str(path))
        parsed = ModelSource.parse(str(path))
        assert (parsed.kind, parsed.is_torch) == (kind, False)
    artifact = ModelSource.parse(str(tmp_path / "a.onnx"))
    assert artifact.precision == "fp32" and artifact.input_size == (480, 640)  # its weights', not "built from"


def test_a_preset_with_saved_weights_takes_their_size_and_preprocessing(saved):
    source = ModelSource.parse("emlnet-lite", weights=saved)
    assert source.input_size == (64, 96) and source.preprocess == "opencv-linear"
    assert source.size_origin == "saved with the weights lite.safetensors"
    assert ModelSource.parse("emlnet-lite").input_size == (480, 640)
    model = build_model(source)
    assert model.config.input_size == (64, 96) and source.weights_sha256 == file_sha256(saved)
    reference = create_model(saved)
    for (key, a), b in zip(model.state_dict().items(), reference.state_dict().values()):
        assert torch.equal(a, b), key


def test_record_round_trip_and_changed_weights_are_caught(saved, tmp_path):
    weights = str(tmp_path / "w.safetensors")
    with open(saved, "rb") as f, open(weights, "wb") as g:
        g.write(f.read())
    record = ModelSource.parse("emlnet-lite", weights=weights, seed=3).record()
    assert record["model"] == "emlnet-lite" and record["weights"] == weights and record["seed"] == 3
    assert record["weights_sha256"] == file_sha256(weights) and record["trained"] is True
    assert record["torch"] == torch.__version__
    back = ModelSource.from_record(json.loads(json.dumps(record)))
    assert (back.kind, back.weights, back.seed) == ("preset", weights, 3)
    assert back.record()["weights_sha256"] == record["weights_sha256"]
    with open(weights, "r+b") as f:  # one byte of the tensor data changes
        f.seek(-1, os.SEEK_END)
        last = f.read(1)
        f.seek(-1, os.SEEK_END)
        f.write(bytes([last[0] ^ 1]))
    with pytest.raises(WeightsError, match="changed since the export"):
        build_model(back)


def test_config_reads_no_tensors_and_imports_no_torch(saved):
    code = ("import sys; from edge_saliency.models.source import ModelSource; "
            "s = ModelSource.parse(sys.argv[1]); c = s.config(); "
            "print(c.name, c.input_size, s.precision, 'torch' in sys.modules)")
    copy = saved.replace(".safetensors", "-copy.safetensors")
    with open(saved, "rb") as f, open(copy, "wb") as g:
        g.write(f.read())
    assert not os.path.exists(copy + ".json")
    # without its sidecar the config comes from the file's own header (safetensors metadata)
    out = subprocess.run([sys.executable, "-c", code, copy], capture_output=True, text=True, cwd=ROOT,
                         env=dict(os.environ, PYTHONPATH=ROOT))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["emlnet-lite", "(64,", "96)", "fp32", "False"]
    assert "edge_saliency_config" in safetensors_metadata(saved)


def test_create_model_takes_weights_like_timms_checkpoint_path(saved):
    model = create_model("emlnet-lite", weights=saved, input_size=(64, 96), preprocess="opencv-linear")
    reference = create_model(saved)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), reference.state_dict().values()))
    with pytest.raises(UserError, match="loaded as is"):
        create_model(saved, weights=saved)


@pytest.mark.parametrize("model, weights, message", [
    ("{saved}", "{saved}", "holds its weights; --weights goes with a preset name or a config .json"),
    ("{tmp}/x.pth", None, "convert-official"),
    ("{tmp}", None, "is a folder; give the model file in it"),
    ("{tmp}/nope.onnx", None, "model file not found"),
    ("emlnet-huge", None, "unknown preset 'emlnet-huge'; valid presets: "),
    ("emlnet-lite", "{tmp}/nope.safetensors", "weights file not found"),
    ("{saved}.json", None, "is the sidecar of"),
])
def test_what_cannot_be_a_model_is_one_clear_error(saved, tmp_path, model, weights, message):
    (tmp_path / "x.pth").write_bytes(b"x")
    fill = {"{saved}": saved, "{tmp}": str(tmp_path)}
    for key, value in fill.items():
        model = model.replace(key, value)
        weights = weights.replace(key, value) if weights else weights
    with pytest.raises(UserError, match=message.replace(".", r"\.")):
        ModelSource.parse(model, weights)


def test_the_official_checkpoints_are_a_source(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).write_bytes(b"x")
    with pytest.raises(WeightsError, match="decoder checkpoint not found"):
        ModelSource.official_checkpoints(str(tmp_path / "a"), str(tmp_path / "b"), str(tmp_path / "c"))
    (tmp_path / "c").write_bytes(b"x")
    source = ModelSource.official_checkpoints(*(str(tmp_path / n) for n in "abc"))
    assert source.config().name == "emlnet-resnet50-official" and source.trained
    record = source.record()
    assert record["official"]["decoder"] == str(tmp_path / "c") and ModelSource.from_record(record).kind == "official"
    assert sidecar_path(str(tmp_path / "c")) not in source.inputs() and str(tmp_path / "a") in source.inputs()


@pytest.mark.parametrize("name, kind, says", [("m.ort.onnx", "engine", "an ONNX file (.onnx)"),
                                              ("m.onnx", "weights", "an ONNX file (.onnx)"),
                                              ("m.engine", "onnxruntime", "a TensorRT engine (.engine)")])
def test_a_file_and_a_sidecar_that_disagree_are_named(tmp_path, name, kind, says):
    path = tmp_path / name
    path.write_bytes(b"model bytes")
    Sidecar(kind=kind, model=None).save(str(path))
    with pytest.raises(UserError) as error:
        ModelSource.parse(str(path))
    assert str(error.value) == ("{} and its sidecar disagree: the file is {}, the sidecar {}.json says kind '{}'; "
                                "rebuild or re-export it, or remove the wrong sidecar".format(path, says, path, kind))


def test_a_sidecar_may_name_the_kind_of_a_file_with_another_extension(tmp_path):
    path = tmp_path / "camera-model.bin"
    path.write_bytes(b"plan bytes")
    Sidecar(kind="engine", model=None).save(str(path))
    assert ModelSource.parse(str(path)).kind == "engine"
