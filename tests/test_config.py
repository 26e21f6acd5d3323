import json
import os

import pytest

from edge_saliency.config import SCHEMA_VERSION, DecoderConfig, ModelConfig, check_input_size
from edge_saliency.errors import InputShapeError, UserError, WeightsError
from edge_saliency.files.atomic import atomic_output, atomic_write_text
from edge_saliency.models.registry import get_preset, list_presets


@pytest.mark.parametrize("name", list_presets())
def test_preset_config_json_round_trip(name, tmp_path):
    config = get_preset(name)
    path = str(tmp_path / "model.json")
    config.save(path)
    loaded = ModelConfig.load(path)
    assert loaded == config
    assert json.loads(open(path).read())["schema_version"] == SCHEMA_VERSION


def test_unknown_fields_are_rejected():
    data = get_preset("emlnet-lite").to_dict()
    data["encoders"][0]["readout_kernal"] = 3
    with pytest.raises(WeightsError, match="readout_kernal"):
        ModelConfig.from_dict(data)


def test_newer_schema_is_refused_with_a_reason():
    data = get_preset("emlnet-lite").to_dict()
    data["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(WeightsError, match="upgrade edge-saliency"):
        ModelConfig.from_dict(data)


def test_invalid_values_are_named():
    data = get_preset("emlnet-densenet161-nasnetlarge").to_dict()
    data["decoder"]["resize_mode"] = "bicubic"
    with pytest.raises(UserError, match="bicubic"):
        ModelConfig.from_dict(data)


@pytest.mark.parametrize("name, mode", [
    ("emlnet-resnet50-official", "pillow-bilinear"),  # the official checkpoints' input (no normalization)
    ("emlnet-lite", "opencv-area"),  # what edge-saliency's training transform did before the field existed
    ("emlnet-densenet161-nasnetlarge", "opencv-area"),
])
def test_schema_1_configs_get_the_preprocessing_their_weights_were_made_with(name, mode, tmp_path):
    data = get_preset(name).to_dict()
    del data["preprocess"]
    data["schema_version"] = 1
    config = ModelConfig.from_dict(data)
    assert config.preprocess == mode and config.schema_version == SCHEMA_VERSION == 2
    # a sidecar written by an older release loads the same way (it is read without torch)
    from edge_saliency.maths.preprocess import artifact_mode

    path = str(tmp_path / "old.onnx")
    atomic_write_text(path + ".json", json.dumps({"schema_version": 1, "kind": "onnx", "model": data, "info": {}}))
    assert artifact_mode(path) == mode


def test_preprocess_mode_is_checked():
    data = get_preset("emlnet-lite").to_dict()
    data["preprocess"] = "bicubic"
    with pytest.raises(UserError, match="preprocess must be one of pillow-bilinear, opencv-area, opencv-linear, "
                                        "got 'bicubic'"):
        ModelConfig.from_dict(data)


def test_stage1_model_needs_exactly_one_encoder():
    config = get_preset("emlnet-densenet161-nasnetlarge")
    config.decoder = None
    with pytest.raises(UserError, match="exactly one encoder"):
        config.validate()


def test_decoder_output_size_must_be_a_pair():
    with pytest.raises(UserError, match="output_size"):
        DecoderConfig(output_size=(480,)).validate()  # type: ignore[arg-type]


def test_check_input_size_suggests_valid_sizes():
    assert check_input_size((480, 640)) == (480, 640)
    with pytest.raises(InputShapeError, match="height 100 is not a multiple of 32; use e.g. 96 or 128"):
        check_input_size((100, 640))
    with pytest.raises(InputShapeError, match="width 10 .* 32 or 64"):
        check_input_size((64, 10))


def test_atomic_output_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "artifact.onnx"
    with pytest.raises(RuntimeError):
        with atomic_output(str(target)) as tmp:
            with open(tmp, "wb") as f:
                f.write(b"half")
            raise RuntimeError("interrupted")
    assert os.listdir(tmp_path) == []


def test_atomic_write_replaces_existing_file(tmp_path):
    target = str(tmp_path / "a.json")
    atomic_write_text(target, "old")
    atomic_write_text(target, "new")
    assert open(target).read() == "new"
    assert os.listdir(tmp_path) == ["a.json"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_atomic_output_gives_umask_permissions_to_a_file_written_0600(tmp_path):
    # safetensors writes 0600 files; a saved model should be as readable as any file the user creates
    target = str(tmp_path / "model.safetensors")
    with atomic_output(target) as tmp:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT, 0o600))
    reference = str(tmp_path / "plain")
    open(reference, "w").close()
    assert os.stat(target).st_mode & 0o777 == os.stat(reference).st_mode & 0o777
