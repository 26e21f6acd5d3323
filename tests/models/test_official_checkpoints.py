"""Official EML-Net checkpoints: written in the official key layout, loaded, and checked against a
straight-line re-computation of the official forward pass (DESIGN.md §2) that does not use our model code."""
import collections

import pytest
import torch
import torch.nn.functional as F
import torchvision

from edge_saliency.errors import WeightsError
from edge_saliency.models import load_official_emlnet


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


# -- the official forward pass, straight from the state dicts ------------------------------------------


def _bn(x, s, p):
    stats = s[p + "running_mean"], s[p + "running_var"]
    return F.batch_norm(x, *stats, s[p + "weight"], s[p + "bias"], training=False, eps=1e-5)


def _bottleneck(x, s, p, stride, downsample):
    out = F.relu(_bn(F.conv2d(x, s[p + "conv1.weight"]), s, p + "bn1."))
    out = F.relu(_bn(F.conv2d(out, s[p + "conv2.weight"], stride=stride, padding=1), s, p + "bn2."))
    out = _bn(F.conv2d(out, s[p + "conv3.weight"]), s, p + "bn3.")
    if downsample:
        x = _bn(F.conv2d(x, s[p + "downsample.0.weight"], stride=stride), s, p + "downsample.1.")
    return F.relu(out + x)


def official_readouts(x, s):
    """The official encoder in decode mode: [out0 .. out4] after Conv3x3 + BN + ReLU, before any resize."""
    taps = []
    x = F.relu(_bn(F.conv2d(x, s["conv1.weight"], stride=2, padding=3), s, "bn1."))
    taps.append(x)
    x = F.max_pool2d(x, 3, 2, 1)
    for layer, blocks in zip((1, 2, 3, 4), (3, 4, 6, 3)):
        for b in range(blocks):
            stride = 2 if (b == 0 and layer > 1) else 1
            x = _bottleneck(x, s, "layer{}.{}.".format(layer, b), stride, downsample=(b == 0))
        taps.append(x)
    return [
        F.relu(_bn(F.conv2d(t, s["output{}.0.weight".format(i)], s["output{}.0.bias".format(i)], padding=1), s,
                   "output{}.1.".format(i)))
        for i, t in enumerate(taps)
    ]


def official_decoder(img_maps, pla_maps, d):
    resized = []
    for prefix, maps in (("img_model", img_maps), ("pla_model", pla_maps)):
        for i, m in enumerate(maps):
            p = "{}.{}.".format(prefix, i)
            m = F.relu(_bn(F.conv2d(m, d[p + "0.weight"], d[p + "0.bias"], padding=1), d, p + "1."))
            resized.append(F.interpolate(m, size=(480, 640), mode="nearest"))
    x = torch.cat(resized, 1)
    return torch.sigmoid(_bn(F.conv2d(x, d["combined.0.weight"], d["combined.0.bias"], padding=1), d, "combined.1."))


def official_stage1(x, s):
    maps = official_readouts(x, s)
    size = maps[0].shape[-2:]
    x = torch.cat([F.interpolate(m, size=size, mode="nearest") for m in maps], 1)
    x = torch.sigmoid(_bn(F.conv2d(x, s["combined.0.weight"], s["combined.0.bias"], padding=1), s, "combined.1."))
    return F.interpolate(x, size=(64, 96), mode="nearest")


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
        stage1_reference = official_stage1(x, states["places"])
    assert reference.std() > 1e-3  # not saturated: the comparison means something
    torch.testing.assert_close(ours, reference, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(stage1, stage1_reference, rtol=1e-4, atol=1e-5)


def test_official_checkpoint_with_a_missing_readout_is_an_error(tmp_path):
    files, states, _ = _save_official(tmp_path, wrap=False)
    state = official_encoder_state(1)
    del state["output3.0.weight"]
    torch.save(state, files["imagenet"])
    with pytest.raises(WeightsError, match=r"missing keys \(readouts.3.0.weight\)"):
        load_official_emlnet(files["imagenet"], files["places"], files["decoder"])
