"""Training on a tiny SALICON-format dataset with EfficientNet-Lite0 encoders at 64×96 (CPU)."""
import dataclasses
import json
import os
import shutil
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file
from torch.utils.data import DataLoader

from edge_saliency.config import DecoderConfig, ModelConfig
from edge_saliency.data import find_samples
from edge_saliency.errors import UserError
from edge_saliency.models import create_model, load_model, resolve_config, save_model
from edge_saliency.models.registry import encoder_config
from edge_saliency.training import TrainConfig, build_stage1_model, eml_loss, resume_config, stage1_config, train
from edge_saliency.training.checkpoint import STATE
from edge_saliency.training.dataset import SaliencyDataset
from edge_saliency.training.stages import assemble_fused_model, parse_stage1_files
from tests.models.test_weights import _randomize  # perturbs every float tensor, BatchNorm statistics too
from tests.saliency_fixtures import write_salicon

SIZE = (64, 96)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def salicon(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("salicon"))
    write_salicon(root, {"train": 8, "val": 4}, shape=(60, 80))
    return root


def _config(data, output, **changes):
    values = dict(stage=1, model="emlnet-lite", data=data, output=output, input_size=SIZE, epochs=1, batch_size=4,
                  workers=0)
    values.update(changes)
    return TrainConfig(**values)


def _fusion_config(path):
    config = ModelConfig(
        name="tiny-fusion",
        encoders=[encoder_config("efficientnet_lite0", key="a"), encoder_config("efficientnet_lite0", key="b")],
        decoder=DecoderConfig(),
        input_size=SIZE,
    )
    config.save(path)
    return config


def test_stage1_lowers_the_loss_and_writes_the_run_folder(salicon, tmp_path):
    out = str(tmp_path / "run")
    torch.manual_seed(0)  # the trainer seeds the same way: this is the model it starts from
    initial = build_stage1_model(resolve_config("emlnet-lite", input_size=SIZE))
    result = train(_config(salicon, out, epochs=3, hflip=False, lr_milestones=(), lr=0.01), progress=False)
    losses = [r["train"]["loss"] for r in result.history]
    assert losses[-1] < losses[0] - 1.0, losses
    # recomputed here: the loss over the training images, before and after (batch statistics in BN)
    train_set = SaliencyDataset(find_samples(salicon, "salicon", "train"), SIZE, "opencv-area")
    batch = next(iter(DataLoader(train_set, batch_size=8)))
    with torch.no_grad():
        before, after = (float(eml_loss(m.train()(batch["image"]), batch["fixations"], batch["density"]))
                         for m in (initial, result.model))
    assert after < before - 1.0, (before, after)
    for name in ("last.safetensors", "last.safetensors.json", STATE, "best.safetensors", "best.safetensors.json",
                 "train_config.json", "log.json"):
        assert os.path.isfile(os.path.join(out, name)), name
    log = json.load(open(os.path.join(out, "log.json")))
    assert [e["epoch"] for e in log["epochs"]] == [1, 2, 3]
    assert set(log["epochs"][0]["val"]) == {"loss", "loss_kl", "loss_cc", "loss_nss", "cc", "nss", "kld", "sim"}
    best = log["best"]
    assert best["metric"] == "cc" and best["score"] == max(e["val"]["cc"] for e in log["epochs"])
    # best.safetensors holds the best epoch's model, loadable as any saved model
    model = load_model(os.path.join(out, "best.safetensors"))
    assert model.config.input_size == SIZE and model.config.decoder is None
    assert json.load(open(os.path.join(out, "train_config.json")))["hflip"] is False
    assert not [f for f in os.listdir(out) if f.startswith(".")]  # no temporary files left


def test_resume_continues_from_the_saved_epoch(salicon, tmp_path):
    straight = str(tmp_path / "straight")
    train(_config(salicon, straight, epochs=2, lr_milestones=(1,)), progress=False)

    resumed = str(tmp_path / "resumed")
    first = train(_config(salicon, resumed, epochs=1, lr_milestones=(1,)), progress=False)
    assert torch.load(os.path.join(resumed, STATE), weights_only=True)["epoch"] == 1
    second = train(resume_config(resumed, epochs=2), resume=True, progress=False)
    assert [r["epoch"] for r in second.history] == [1, 2]
    assert second.history[0] == first.history[0]
    assert second.history[1]["lr"] == pytest.approx(0.001)  # the scheduler state came back
    # the interrupted run ends exactly where the uninterrupted one does
    a = load_file(os.path.join(straight, "last.safetensors"))
    b = load_file(os.path.join(resumed, "last.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)
    with pytest.raises(UserError, match="only .* may change, not lr"):
        resume_config(resumed, lr=0.1)


def test_resume_refuses_weights_and_state_of_different_epochs(salicon, tmp_path):
    out = str(tmp_path / "run")
    train(_config(salicon, out, steps_per_epoch=1, val_split=None), progress=False)
    model = _randomize(load_model(os.path.join(out, "last.safetensors")), 0)
    save_model(model, os.path.join(out, "last.safetensors"))
    with pytest.raises(UserError, match="does not belong to"):
        train(resume_config(out, epochs=2), resume=True, progress=False)
    with pytest.raises(UserError, match="train_config.json not found"):
        resume_config(str(tmp_path))


def test_stage2_trains_only_the_decoder(salicon, tmp_path):
    config = _fusion_config(str(tmp_path / "fusion.json"))
    files = {}
    for key, seed in (("a", 1), ("b", 2)):
        stage1 = _randomize(create_model(stage1_config(config, key)), seed)
        files[key] = str(tmp_path / "stage1-{}.safetensors".format(key))
        save_model(stage1, files[key])
    out = str(tmp_path / "stage2")
    start = assemble_fused_model(config, files)
    decoder_before = {k: v.clone() for k, v in start.decoder.state_dict().items()}
    result = train(_config(salicon, out, stage=2, model=str(tmp_path / "fusion.json"), epochs=2,
                           stage1=parse_stage1_files(list(files.values()))), progress=False)
    trained = load_file(os.path.join(out, "last.safetensors"))
    for key, path in files.items():
        for name, value in load_file(path).items():  # weights AND BatchNorm running statistics
            fused_name = name.replace("encoders.{}.".format(key), "encoders.{}.".format(key), 1)
            torch.testing.assert_close(trained[fused_name], value, rtol=0, atol=0, msg=fused_name)
    changed = [k for k, v in decoder_before.items() if v.is_floating_point() and
               not torch.equal(trained["decoder." + k], v)]
    assert any(k.endswith("weight") for k in changed) and any(k.endswith("running_mean") for k in changed)
    assert not result.model.training  # returned ready for inference
    assert not any(p.requires_grad for p in result.model.encoders.parameters())


def test_stage2_needs_a_stage1_file_per_encoder(tmp_path):
    config = _fusion_config(str(tmp_path / "fusion.json"))
    path = str(tmp_path / "a.safetensors")
    save_model(create_model(stage1_config(config, "a")), path)
    with pytest.raises(UserError, match="missing: b"):
        assemble_fused_model(config, {"a": path})
    lite = str(tmp_path / "other.safetensors")
    save_model(create_model(dataclasses.replace(stage1_config(config, "b"), encoders=[
        encoder_config("efficientnet_lite0", key="b", readout_kernel=1)])), lite)
    with pytest.raises(UserError, match="readout_kernel 1 vs 3"):
        assemble_fused_model(config, {"a": path, "b": lite})


def test_stage1_needs_an_encoder_key_for_a_fused_model(salicon, tmp_path):
    with pytest.raises(UserError, match="choose the one to train with --encoder"):
        train(_config(salicon, str(tmp_path / "x"), model="emlnet-densenet161-nasnetlarge"), progress=False)


@pytest.mark.skipif(shutil.which("torchrun", path=os.path.dirname(sys.executable)) is None,
                    reason="torchrun not installed")
def test_torchrun_two_processes_on_cpu_hold_identical_weights(salicon, tmp_path):
    out = str(tmp_path / "ddp")
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable))
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run(
        [torchrun, "--standalone", "--nproc_per_node", "2", os.path.join(ROOT, "tests", "training", "ddp_worker.py"),
         salicon, out],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    log = json.load(open(os.path.join(out, "log.json")))
    assert log["world_size"] == 2 and log["global_batch_size"] == 4 and len(log["epochs"]) == 1
    epoch = log["epochs"][0]
    assert epoch["train"]["images"] == 8  # the two processes saw disjoint halves of the 8 images
    assert epoch["max_weight_difference_across_processes"] == 0.0
    rank0, rank1 = (load_file(os.path.join(out, "rank{}.safetensors".format(r))) for r in (0, 1))
    initial = create_model("emlnet-lite", pretrained=True).state_dict()
    assert any(not torch.equal(rank0[k], initial[k]) for k in rank0 if k in initial)  # it trained
    for key in rank0:
        torch.testing.assert_close(rank0[key], rank1[key], rtol=0, atol=0, msg=key)
    # process 0 wrote the checkpoint of the same weights
    last = load_file(os.path.join(out, "last.safetensors"))
    for key in rank0:
        torch.testing.assert_close(last[key], rank0[key], rtol=0, atol=0, msg=key)


def test_validation_skips_images_a_metric_leaves_undefined(salicon, tmp_path, monkeypatch):
    # a constant map has no CC in the MIT convention (NaN): one such image must not turn the epoch's CC into NaN
    from edge_saliency.training import trainer as trainer_module

    real = trainer_module.val_metrics
    calls = []

    def first_image_undefined(prediction, density, fixmap):
        scores = real(prediction, density, fixmap)
        if not calls:
            scores["cc"] = float("nan")
        calls.append(scores["cc"])
        return scores

    monkeypatch.setattr(trainer_module, "val_metrics", first_image_undefined)
    result = train(_config(salicon, str(tmp_path / "run"), epochs=1), progress=False)
    val = result.history[0]["val"]
    assert len(calls) == 4 and val["cc"] == pytest.approx(sum(calls[1:]) / 3)
    assert result.best is not None and result.best["score"] == val["cc"]
