"""The two training stages of EML-Net and how their models are put together.

Stage 1 trains ONE encoder of a model with its stand-alone head: the stage-1 model is an
:class:`~edge_saliency.models.EMLNet` with that encoder alone and no decoder (``stage1_config``); it is
saved like any model (``.safetensors`` + sidecar) and predicts saliency on its own.

Stage 2 builds the full model, copies every encoder (backbone, readouts, head) from its stage-1 file
(``assemble_fused_model``), freezes the encoders — no gradients, eval mode, so their BatchNorm statistics
stay as stage 1 left them — and trains only the fusion decoder.
"""
import dataclasses
import os
from typing import Dict, List, Mapping, Optional, Sequence

from torch import nn

from ..config import EncoderConfig, ModelConfig
from ..errors import UserError
from ..models import EMLNet, create_model, load_model, load_state

# what must agree between a stage-1 encoder and the same encoder inside the fused model
_STRUCTURE = ("encoder", "normalize", "mean", "std", "readout_kernel", "readout_activation", "head_kernel",
              "head_fuse_at", "resize_mode", "align_corners")


def encoder_keys(config: ModelConfig) -> List[str]:
    return [e.key for e in config.encoders]


def pick_encoder(config: ModelConfig, key: Optional[str]) -> EncoderConfig:
    keys = encoder_keys(config)
    if key is None:
        if len(keys) == 1:
            return config.encoders[0]
        raise UserError("model {!r} has encoders {}; choose the one to train with --encoder".format(
            config.name, ", ".join(keys)))
    for enc in config.encoders:
        if enc.key == key:
            return enc
    raise UserError("model {!r} has no encoder {!r}; its encoders are {}".format(config.name, key, ", ".join(keys)))


def stage1_config(config: ModelConfig, key: Optional[str] = None) -> ModelConfig:
    """The stage-1 model of one encoder of ``config``: that encoder and its stand-alone head, no decoder."""
    enc = pick_encoder(config, key)
    if config.decoder is None:
        return config
    return dataclasses.replace(config, name="{}.stage1-{}".format(config.name, enc.key), encoders=[enc], decoder=None)


def build_stage1_model(
    config: ModelConfig, key: Optional[str] = None, pretrained: bool = True, backbone_weights: Optional[str] = None
) -> EMLNet:
    """A stage-1 model whose backbone starts from trained weights (a file, an installed package or timm)."""
    cfg = stage1_config(config, key)
    enc_key = cfg.encoders[0].key
    if backbone_weights is not None and not os.path.isfile(backbone_weights):
        raise UserError("backbone weights file not found: {}".format(backbone_weights))
    if not pretrained and backbone_weights is None:
        return create_model(cfg)
    files = {enc_key: backbone_weights} if backbone_weights else None
    return create_model(cfg, pretrained=True, backbone_weights=files)


def _structure_differences(a: EncoderConfig, b: EncoderConfig) -> List[str]:
    return ["{} {!r} vs {!r}".format(f, getattr(a, f), getattr(b, f)) for f in _STRUCTURE
            if getattr(a, f) != getattr(b, f)]


def parse_stage1_files(values: Sequence[str]) -> Dict[str, str]:
    """``KEY=PATH`` or ``PATH`` items (from ``--stage1``) → {encoder key: path}; a bare PATH takes the key
    of the one encoder in its saved config."""
    from ..files.sidecar import read_sidecar

    files: Dict[str, str] = {}
    for value in values:
        key, sep, path = value.partition("=")
        if not sep or os.path.isfile(value):
            path, key = value, ""
        if not os.path.isfile(path):
            raise UserError("stage-1 weights file not found: {}".format(path))
        if not key:
            sidecar = read_sidecar(path, required=False)
            if sidecar is None or sidecar.model is None or len(sidecar.model.encoders) != 1:
                raise UserError("cannot tell which encoder {} holds: pass it as KEY={}".format(path, path))
            key = sidecar.model.encoders[0].key
        if key in files:
            raise UserError("two stage-1 files for encoder {!r}: {} and {}".format(key, files[key], path))
        files[key] = path
    return files


def assemble_fused_model(config: ModelConfig, stage1: Mapping[str, str]) -> EMLNet:
    """The full model of ``config`` with every encoder copied from its stage-1 file (by encoder key).

    Each file is a stage-1 model saved by training (``best.safetensors`` of a stage-1 run) or any saved
    model with exactly one encoder of the same structure. The decoder starts fresh.
    """
    if config.decoder is None:
        raise UserError("model {!r} has no fusion decoder: it is a stage-1 model, train it with stage 1 only"
                        .format(config.name))
    keys = encoder_keys(config)
    missing = [k for k in keys if k not in stage1]
    unknown = sorted(set(stage1) - set(keys))
    if missing or unknown:
        raise UserError("stage 2 of {!r} needs one stage-1 file per encoder ({}); missing: {}; unknown: {}".format(
            config.name, ", ".join(keys), ", ".join(missing) or "none", ", ".join(unknown) or "none"))
    fused = EMLNet(config)
    for enc in config.encoders:
        path = stage1[enc.key]
        trained = load_model(path)
        if len(trained.config.encoders) != 1:
            raise UserError("{} holds a model with {} encoders; stage 2 takes stage-1 models (one encoder)".format(
                path, len(trained.config.encoders)))
        differences = _structure_differences(trained.config.encoders[0], enc)
        if differences:
            raise UserError("{} does not hold encoder {!r} of {!r}: {}".format(
                path, enc.key, config.name, "; ".join(differences)))
        source = next(iter(trained.encoders.values()))
        load_state(fused.encoders[enc.key], source.state_dict(), what=path)
    return fused


def freeze_encoders(model: EMLNet) -> None:
    """No gradients for the encoders, and eval mode (BatchNorm running statistics stay fixed)."""
    for parameter in model.encoders.parameters():
        parameter.requires_grad_(False)
    model.encoders.eval()


def set_train_mode(model: EMLNet, stage: int) -> nn.Module:
    """Train mode for what the stage trains (stage 2: the decoder only; the encoders stay in eval mode)."""
    if stage == 1:
        return model.train()
    model.eval()
    assert model.decoder is not None
    model.decoder.train()
    return model
