"""The run folder is created only once the set-up has succeeded: every set-up failure leaves no folder and the
same command, fixed, then works; an older failure's folder is reused with a note; resume messages."""
import json
import logging
import os
import socket
import subprocess
import sys

import pytest

from edge_saliency.cli import main
from edge_saliency.config import DecoderConfig, ModelConfig
from edge_saliency.errors import UserError
from edge_saliency.models import create_model, save_model
from edge_saliency.models.registry import encoder_config
from edge_saliency.training import TrainConfig, stage1_config, train
from edge_saliency.training import distributed as D
from edge_saliency.training.checkpoint import run_folder_state
from tests.models.test_downloads import fake_hub_cache
from tests.saliency_fixtures import write_salicon

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUICK = ["--size", "64x96", "--epochs", "1", "--batch-size", "2", "--workers", "0", "--no-progress",
         "--steps-per-epoch", "1"]


@pytest.fixture(scope="module")
def salicon(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("salicon"))
    write_salicon(root, {"train": 4, "val": 2}, shape=(60, 80))
    return root


def _error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("edge-saliency: error: "), err
    return err[0]


def _fusion(tmp_path):
    path = str(tmp_path / "fusion.json")
    config = ModelConfig(name="tiny-fusion", input_size=(64, 96), decoder=DecoderConfig(), encoders=[
        encoder_config("efficientnet_lite0", key="a"), encoder_config("efficientnet_lite0", key="b")])
    config.save(path)
    files = {}
    for key in ("a", "b"):
        files[key] = str(tmp_path / "{}.safetensors".format(key))
        save_model(create_model(stage1_config(config, key)), files[key])
    return path, files


# -- set-up failures leave nothing ---------------------------------------------------------------------


def test_missing_stage1_file_leaves_no_folder_and_the_fixed_run_works(salicon, tmp_path, capsys):
    model, files = _fusion(tmp_path)
    out = str(tmp_path / "stage2")
    base = ["train", "--stage", "2", "--model", model, "--data", salicon, "--out", out] + QUICK
    missing = str(tmp_path / "gone.safetensors")
    assert main(base + ["--stage1", "a=" + files["a"], "--stage1", "b=" + missing]) == 1
    assert "stage-1 weights file not found: {}".format(missing) in _error_line(capsys)
    assert not os.path.exists(out)
    # the same through the Python API: the trainer's own set-up refuses it before writing
    with pytest.raises(UserError, match="weights file not found"):
        train(TrainConfig(stage=2, model=model, data=salicon, output=out, stage1={"a": files["a"], "b": missing},
                          epochs=1, batch_size=2, workers=0, steps_per_epoch=1), progress=False)
    assert not os.path.exists(out)
    assert main(base + ["--stage1", "a=" + files["a"], "--stage1", "b=" + files["b"]]) == 0
    assert run_folder_state(out) == "run"


def test_stage2_of_a_one_encoder_model_leaves_no_folder_and_stage1_then_works(salicon, tmp_path, capsys):
    lite = str(tmp_path / "lite.safetensors")
    save_model(create_model("emlnet-lite", input_size=(64, 96)), lite)
    out = str(tmp_path / "run")
    assert main(["train", "--stage", "2", "--model", "emlnet-lite", "--stage1", lite, "--data", salicon,
                 "--out", out] + QUICK) == 1
    assert "has no fusion decoder" in _error_line(capsys)
    assert not os.path.exists(out)
    assert main(["train", "--stage", "1", "--model", "emlnet-lite", "--data", salicon, "--out", out] + QUICK) == 0
    assert sorted(f for f in os.listdir(out) if not f.endswith(".json")) == [
        "best.safetensors", "last.safetensors", "last.state.pt"]


def test_a_failure_in_the_first_epoch_takes_the_folder_back(salicon, tmp_path, capsys):
    broken = tmp_path / "broken"
    write_salicon(str(broken), {"train": 2}, shape=(60, 80))
    image = next((broken / "images" / "train").iterdir())
    image.write_bytes(b"truncated")
    out = tmp_path / "b"
    assert main(["train", "--stage", "1", "--model", "emlnet-lite", "--data", str(broken), "--out", str(out),
                 "--no-val"] + QUICK) == 1
    assert "cannot read image {}".format(image) in _error_line(capsys)
    assert not out.exists()
    existing = tmp_path / "existing"  # a folder the user made keeps what was in it
    existing.mkdir()
    (existing / "notes.txt").write_text("mine")
    assert main(["train", "--stage", "1", "--model", "emlnet-lite", "--data", str(broken), "--out",
                 str(existing), "--no-val"] + QUICK) == 1
    capsys.readouterr()
    assert os.listdir(existing) == ["notes.txt"]


@pytest.fixture
def blocked_network(tmp_path):
    """Environment of a subprocess with empty download caches and no way to the network (loopback only):
    a closed loopback port stands for the hub and for a proxy."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    closed = "http://127.0.0.1:{}".format(sock.getsockname()[1])
    env = {k: v for k, v in os.environ.items()
           if not k.upper().endswith("_PROXY") and not k.startswith("HF_") and k != "TRANSFORMERS_OFFLINE"}
    env.update(HF_HOME=str(tmp_path / "hf"), TORCH_HOME=str(tmp_path / "torch"), OMP_NUM_THREADS="1",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    yield env, closed
    sock.close()


def test_offline_backbone_failure_is_one_line_leaves_no_folder_and_a_cached_rerun_works(
        salicon, tmp_path, blocked_network):
    env, closed = blocked_network
    out = str(tmp_path / "run")
    command = [sys.executable, "-m", "edge_saliency", "train", "--stage", "1", "--model", "emlnet-resnet50-official",
               "--encoder", "imagenet", "--data", salicon, "--out", out, "--no-val"] + QUICK
    for block in ({"HF_HUB_OFFLINE": "1"}, {"HF_ENDPOINT": closed}, {"HTTPS_PROXY": closed}):
        result = subprocess.run(command, env=dict(env, **block), capture_output=True, text=True, timeout=300)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 1 and len(lines) == 1, (block, result.stderr[-2000:])
        assert lines[0].startswith("edge-saliency: error: no backbone weights for encoder 'imagenet' (timm's "
                                   "resnet50.tv_in1k is not in the download cache and "), block
        assert lines[0].endswith("pass the file with --backbone-weights KEY=PATH: imagenet=<model.safetensors of "
                                 "{}/timm/resnet50.tv_in1k>".format(block.get("HF_ENDPOINT", "https://huggingface.co")))
        assert not os.path.exists(out)
    # the weights a download would have left in the hub cache: the same command now runs, still offline
    timm = pytest.importorskip("timm")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    state = timm.create_model("resnet50").state_dict()
    fake_hub_cache(os.path.join(env["HF_HOME"], "hub"), "timm/resnet50.tv_in1k", "model.safetensors",
                   lambda path: safetensors_torch.save_file({k: v.contiguous() for k, v in state.items()}, path))
    result = subprocess.run(command, env=dict(env, HF_HUB_OFFLINE="1"), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert run_folder_state(out) == "run"


# -- folders left by an older failure; resume ----------------------------------------------------------


def test_a_folder_an_older_failure_left_is_reused_with_a_note(salicon, tmp_path, caplog):
    out = tmp_path / "run"
    out.mkdir()
    (out / "train_config.json").write_text(json.dumps({"stage": 1, "model": "emlnet-lite", "data": salicon,
                                                       "output": str(out), "input_size": [64, 96], "batch_size": 2,
                                                       "val_split": None}))
    assert run_folder_state(str(out)) == "unfinished"
    caplog.set_level(logging.INFO, logger="edge_saliency")
    # --resume of it: nothing to continue, so it starts from epoch 1 with the config it saved
    assert main(["train", "--resume", str(out), "--workers", "0", "--no-progress", "--steps-per-epoch", "1",
                 "--epochs", "1"]) == 0
    assert "no epoch of the run in {} finished; starting it from epoch 1".format(out) in caplog.text
    caplog.clear()
    again = tmp_path / "again"
    again.mkdir()
    (again / "train_config.json").write_text("{}")  # even an unreadable one: it is replaced
    assert main(["train", "--stage", "1", "--model", "emlnet-lite", "--data", salicon, "--out", str(again)]
                + QUICK) == 0
    assert "holds the train_config.json of a run that stopped before its first epoch ended" in caplog.text
    assert json.load(open(again / "train_config.json"))["model"] == "emlnet-lite"


def test_resume_says_where_it_continues_and_refuses_another_out(salicon, tmp_path, caplog, capsys):
    out = str(tmp_path / "run")
    caplog.set_level(logging.INFO, logger="edge_saliency")
    assert main(["train", "--stage", "1", "--model", "emlnet-lite", "--data", salicon, "--out", out, "--no-val"]
                + QUICK) == 0
    assert "best epoch" not in caplog.text  # without validation there is no best score to show
    assert "best: epoch 1 -> " in capsys.readouterr().out
    assert main(["train", "--resume", out, "--out", str(tmp_path / "other"), "--epochs", "2"]) == 1
    line = _error_line(capsys)
    assert "--resume {}".format(out) in line and "--out names {}".format(tmp_path / "other") in line
    assert main(["train", "--resume", out, "--out", out + "/", "--epochs", "2", "--workers", "0", "--no-progress",
                 "--steps-per-epoch", "1"]) == 0  # the same folder, spelled differently
    assert "resuming {} from epoch 2 of 2".format(out) in caplog.text
    assert main(["train", "--stage", "1", "--model", "emlnet-lite", "--data", salicon, "--out", out] + QUICK) == 1
    assert "already holds a training run; continue it with --resume" in _error_line(capsys)


# -- workers -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cpus,local,expected", [(1, 1, 0), (2, 1, 1), (8, 1, 4), (64, 8, 4), (16, 8, 1), (4, 8, 0)])
def test_default_workers_follow_the_cores_per_process(monkeypatch, cpus, local, expected):
    monkeypatch.setattr(D, "usable_cpus", lambda: cpus)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", str(local))
    assert D.default_workers() == expected


def test_default_workers_never_make_the_dataloader_warn(salicon, tmp_path, recwarn):
    result = train(TrainConfig(stage=1, model="emlnet-lite", data=salicon, output=str(tmp_path / "run"),
                               input_size=(64, 96), epochs=1, batch_size=2, steps_per_epoch=1), progress=False)
    assert result.history and json.load(open(tmp_path / "run" / "log.json"))["workers"] == D.default_workers()
    assert not [w for w in recwarn if "worker processes in total" in str(w.message)]
