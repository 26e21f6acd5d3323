"""Official EML-Net checkpoints: written in the official key layout, loaded, and checked against a
straight-line re-computation of the official forward pass (tests/official_reference.py) that does not use our
model code."""
import argparse
import collections

import pytest
import torch
import torchvision

from edge_saliency.errors import WeightsError
from edge_saliency.models import load_official_emlnet
from tests.official_reference import official_decoder, official_readouts, official_stage1


def _randomize_bn(module, generator):
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5, generator=generator)
                m.bias.uniform_(-0.2, 0.2, generator=generator)
                m.running_mean.normal_(0, 0.1, generator=generator)
                m.running_var.uniform_(0.5, 1.5, generator=generator)


def _conv_bn(in_ch, out_ch, generator):
    seq = torch.nn.Sequential(torch.nn.Conv2d(in_ch, out_ch, 3, padding=1), torch.nn.BatchNorm2d(out_ch))
    _randomize_bn(seq, generator)
    return seq


def official_encoder_state(seed):
    """torchvision ResNet-50 without fc + output0..4 + combined, as the official encoder files hold."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    resnet = torchvision.models.resnet50()
    _randomize_bn(resnet, g)
    state = collections.OrderedDict((k, v) for k, v in resnet.state_dict().items() if not k.startswith("fc."))
    for i, channels in enumerate((64, 256, 512, 1024, 2048)):
        for k, v in _conv_bn(channels, 1, g).state_dict().items():
            state["output{}.{}".format(i, k)] = v
    for k, v in _conv_bn(5, 1, g).state_dict().items():
        state["combined." + k] = v
    return state


def official_decoder_state(seed):
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    state = collections.OrderedDict()
    for prefix in ("img_model", "pla_model"):
        for i in range(5):
            for k, v in _conv_bn(1, 1, g).state_dict().items():
                state["{}.{}.{}".format(prefix, i, k)] = v
    for k, v in _conv_bn(10, 1, g).state_dict().items():
        state["combined." + k] = v
    return state


def _save_official(tmp_path, wrap):
    """torch.save the way the official training scripts do: DataParallel keys, optionally wrapped."""
    files = {}
    states = {"imagenet": official_encoder_state(1), "places": official_encoder_state(2)}
    for name, state in states.items():
        prefixed = collections.OrderedDict(("module." + k, v) for k, v in state.items())
        files[name] = str(tmp_path / "res_{}.pth".format(name))
        torch.save({"state_dict": prefixed} if wrap else prefixed, files[name])
    decoder = official_decoder_state(3)
    files["decoder"] = str(tmp_path / "res_decoder.pth")
    torch.save({"state_dict": decoder}, files["decoder"])
    return files, states, decoder


@pytest.mark.parametrize("wrap", [False, True], ids=["plain", "state_dict-wrapped"])
def test_official_checkpoints_reproduce_the_official_forward(tmp_path, wrap):
    files, states, decoder = _save_official(tmp_path, wrap)
    model = load_official_emlnet(files["imagenet"], files["places"], files["decoder"])
    torch.manual_seed(0)
    x = torch.rand(2, 3, 64, 96)
    with torch.no_grad():
        ours = model(x)
        reference = official_decoder(
            official_readouts(x, states["imagenet"]), official_readouts(x, states["places"]), decoder
        )
        stage1 = model.encoders["places"](x)
        stage1_reference = official_stage1(x, states["places"], (64, 96))
    assert reference.std() > 1e-3  # not saturated: the comparison means something
    torch.testing.assert_close(ours, reference, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(stage1, stage1_reference, rtol=1e-4, atol=1e-5)


def test_official_checkpoint_with_a_missing_readout_is_an_error(tmp_path):
    files, states, _ = _save_official(tmp_path, wrap=False)
    state = official_encoder_state(1)
    del state["output3.0.weight"]
    torch.save(state, files["imagenet"])
    with pytest.raises(WeightsError, match=r"res_imagenet.pth does not hold the official EML-Net imagenet encoder: "
                                           r"1 missing keys \(output3.0.weight\)"):
        load_official_emlnet(files["imagenet"], files["places"], files["decoder"])


def test_files_in_the_wrong_order_are_named(tmp_path):
    files, _, _ = _save_official(tmp_path, wrap=True)
    with pytest.raises(WeightsError, match=r"res_decoder.pth does not hold the official EML-Net imagenet encoder: "
                                           r".*looks like the decoder file: give the files in the order IMAGENET "
                                           r"PLACES DECODER"):
        load_official_emlnet(files["decoder"], files["places"], files["imagenet"])
    with pytest.raises(WeightsError, match=r"res_places.pth does not hold the official EML-Net decoder: .*"
                                           r"looks like an encoder file"):
        load_official_emlnet(files["imagenet"], files["places"], files["places"])


def test_other_forms_are_refused_with_the_keys_expected(tmp_path):
    files, states, _ = _save_official(tmp_path, wrap=False)
    odd = str(tmp_path / "odd.pth")
    torch.save({"model": states["imagenet"]}, odd)  # not a form the official code writes
    with pytest.raises(WeightsError, match=r"odd.pth is not an official EML-Net imagenet encoder checkpoint: expected "
                                           r"a state dict of tensors, or \{'state_dict': ...\}, with keys like "
                                           r"bn1.bias, bn1.running_mean, .*; found model"):
        load_official_emlnet(odd, files["places"], files["decoder"])
    torch.save([1, 2, 3], odd)
    with pytest.raises(WeightsError, match="found list"):
        load_official_emlnet(files["imagenet"], files["places"], odd)
    # a pickle with Python objects is never unpickled (weights_only=True)
    torch.save({"state_dict": states["imagenet"], "args": argparse.Namespace(lr=0.1)}, odd)
    with pytest.raises(WeightsError, match="refusing to load .*odd.pth: it holds Python objects"):
        load_official_emlnet(odd, files["places"], files["decoder"])
    with pytest.raises(WeightsError, match="places encoder checkpoint not found: .*missing.pth"):
        load_official_emlnet(files["imagenet"], str(tmp_path / "missing.pth"), files["decoder"])
