"""The released EML-Net checkpoints (res_imagenet.pth, res_places.pth, res_decoder.pth): each file checked against the
official key and shape layout for its role, then mapped onto our EMLNet."""
import os
import re
from typing import Mapping, Set, cast

import torch

from ..errors import WeightsError
from .emlnet import EMLNet
from .registry import get_preset
from .weights import StateDict, _key_list, _strip_module, _torch_load, load_state

_OFFICIAL_READOUT = re.compile(r"^output(\d+)\.(.*)$")


_OFFICIAL_DECODER = re.compile(r"^(img_model|pla_model)\.(\d+)\.(.*)$")


def _official_encoder_state(state: StateDict) -> StateDict:
    out = {}
    for key, value in state.items():
        readout = _OFFICIAL_READOUT.match(key)
        if readout:
            out["readouts.{}.{}".format(*readout.groups())] = value
        elif key.startswith("combined."):
            out["head." + key[len("combined."):]] = value
        else:
            out["backbone.model." + key] = value
    return out


def _official_decoder_state(state: StateDict, maps_per_encoder: int) -> StateDict:
    out = {}
    for key, value in state.items():
        block = _OFFICIAL_DECODER.match(key)
        if block:
            kind, index, rest = block.groups()
            offset = 0 if kind == "img_model" else maps_per_encoder
            out["blocks.{}.{}".format(offset + int(index), rest)] = value
        elif key.startswith("combined."):
            out["fuse." + key[len("combined."):]] = value
        else:
            out[key] = value  # reported as unexpected
    return out


def _official_keys(state: Mapping[str, torch.Tensor], kind: str, maps_per_encoder: int = 5) -> Set[str]:
    """Our state-dict keys of an encoder or decoder, named as the official files name them (the inverse of
    :func:`_official_encoder_state` / :func:`_official_decoder_state`)."""
    keys = set()
    for key in state:
        if key.endswith("num_batches_tracked"):
            continue
        if kind == "decoder":
            match = re.match(r"^blocks\.(\d+)\.(.*)$", key)
            if match:
                index, rest = int(match.group(1)), match.group(2)
                prefix = "img_model" if index < maps_per_encoder else "pla_model"
                key = "{}.{}.{}".format(prefix, index % maps_per_encoder, rest)
            else:
                key = re.sub(r"^fuse\.", "combined.", key)
        else:
            key = re.sub(r"^readouts\.(\d+)\.", r"output\1.", key)
            key = re.sub(r"^head\.", "combined.", key)
            key = re.sub(r"^backbone\.model\.", "", key)
        keys.add(key)
    return keys


def read_official_checkpoint(path: str, kind: str, expected: Set[str]) -> StateDict:
    """One released EML-Net file (``kind`` "imagenet", "places" or "decoder"), as the official code writes
    them: a state dict of tensors, or ``{'state_dict': ...}``, keys with or without the DataParallel
    ``module.`` prefix; loaded with ``weights_only=True``. Anything else is refused with the keys expected."""
    role = "decoder" if kind == "decoder" else "{} encoder".format(kind)
    sample = ", ".join(sorted(expected)[:4])
    if not os.path.isfile(path):
        raise WeightsError("{} checkpoint not found: {}".format(role, path))
    obj = _torch_load(path)
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not obj or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()):
        found = ", ".join(sorted(str(k) for k in obj)[:4]) if isinstance(obj, dict) else type(obj).__name__
        raise WeightsError(
            "{} is not an official EML-Net {} checkpoint: expected a state dict of tensors, or "
            "{{'state_dict': ...}}, with keys like {}; found {}".format(path, role, sample, found or "nothing"))
    state = {_strip_module(k): v for k, v in obj.items()}
    got = {k for k in state if not k.endswith("num_batches_tracked")}
    if got == expected:
        return state
    other = "decoder" if kind != "decoder" else "encoder"
    hint = ""
    if kind != "decoder" and any(k.startswith(("img_model.", "pla_model.")) for k in got):
        hint = " (this looks like the decoder file: give the files in the order IMAGENET PLACES DECODER)"
    elif kind == "decoder" and any(k.startswith(("layer1.", "output0.")) for k in got):
        hint = " (this looks like an {} file: give the files in the order IMAGENET PLACES DECODER)".format(other)
    missing, unexpected = sorted(expected - got), sorted(got - expected)
    parts = []
    if missing:
        parts.append("{} missing keys ({})".format(len(missing), _key_list(missing)))
    if unexpected:
        parts.append("{} unexpected keys ({})".format(len(unexpected), _key_list(unexpected)))
    raise WeightsError("{} does not hold the official EML-Net {}: {}{}".format(path, role, "; ".join(parts), hint))


def load_official_emlnet(imagenet_path: str, places_path: str, decoder_path: str) -> EMLNet:
    """The released EML-Net (res_imagenet.pth, res_places.pth, res_decoder.pth) as
    ``emlnet-resnet50-official``: identical outputs to the official code, but takes RGB in [0, 1]."""
    model = EMLNet(get_preset("emlnet-resnet50-official"))
    assert model.decoder is not None
    expected = _official_keys(model.encoders["imagenet"].state_dict(), "encoder")
    for key, path in (("imagenet", imagenet_path), ("places", places_path)):
        state = read_official_checkpoint(path, key, expected)
        load_state(model.encoders[key], _official_encoder_state(state), what=path)
    maps = cast(int, model.encoders["imagenet"].num_maps)
    expected = _official_keys(model.decoder.state_dict(), "decoder", maps)
    state = read_official_checkpoint(decoder_path, "decoder", expected)
    load_state(model.decoder, _official_decoder_state(state, maps), what=decoder_path)
    return model.eval()
