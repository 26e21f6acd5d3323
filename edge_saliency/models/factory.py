"""``create_model``: the one way to build an EML-Net from a preset name, a config, or a saved file."""
import dataclasses
import os
from typing import Any, Dict, Mapping, Optional, Union

from ..config import DecoderConfig, ModelConfig
from ..errors import UserError
from .emlnet import EMLNet
from .source import ModelSource

ConfigLike = Union[str, ModelSource, ModelConfig, Dict[str, Any]]


def resolve_config(preset_or_config: ConfigLike, **overrides: Any) -> ModelConfig:
    """A :class:`ModelConfig` from a preset name, a config JSON path, a dict or a config, plus overrides.

    Overrides replace top-level fields (``input_size=(240, 320)``, ``name=...``); ``decoder`` may be a dict
    of decoder fields to change, e.g. ``decoder={"resize_mode": "nearest"}``.
    """
    if isinstance(preset_or_config, ModelConfig):
        config = dataclasses.replace(preset_or_config)
    elif isinstance(preset_or_config, dict):
        config = ModelConfig.from_dict(preset_or_config)
    elif isinstance(preset_or_config, (str, ModelSource)):
        source = ModelSource.parse(preset_or_config)
        if not source.is_torch:
            raise UserError("{} is a {} file, not a PyTorch model: give a preset, a config .json or a saved "
                            ".safetensors".format(source.name, source.kind))
        found = source.config()
        assert found is not None
        config = found
    else:
        raise UserError("create_model takes a preset name, a config or a path, got {!r}".format(preset_or_config))
    decoder = overrides.pop("decoder", None)
    if isinstance(decoder, Mapping):
        if config.decoder is None:
            raise UserError("model {!r} has no decoder to configure".format(config.name))
        decoder = dataclasses.replace(config.decoder, **decoder)
    if decoder is not None:
        overrides["decoder"] = decoder if isinstance(decoder, DecoderConfig) else DecoderConfig(**decoder)
    try:
        config = dataclasses.replace(config, **overrides)
    except TypeError as exc:
        raise UserError("bad model override: {}".format(exc)) from None
    config.validate()
    return config


def create_model(
    preset_or_config: ConfigLike,
    pretrained: bool = False,
    backbone_weights: Optional[Mapping[str, str]] = None,
    weights: Optional[str] = None,
    **overrides: Any
) -> EMLNet:
    """Build an EML-Net.

    ``preset_or_config``: a preset name (see ``list_presets()``), a :class:`ModelConfig` or dict, a config
    ``.json`` path, or a ``.safetensors`` file saved by :func:`save_model` (loaded with its weights).
    ``pretrained``: initialise backbones from trained weights (local files in ``backbone_weights`` by
    encoder key, the installed EfficientNet-Lite0 package, or timm downloads); heads and decoder stay random.
    ``weights``: a checkpoint of the whole model (a ``.safetensors``, or a weights-only torch state dict), loaded
    strictly after the model is built (timm's ``checkpoint_path``). The model is returned in eval mode.
    """
    if isinstance(preset_or_config, str):
        preset_or_config = ModelSource.parse(preset_or_config)  # once: resolve_config takes the parsed source
    if isinstance(preset_or_config, ModelSource) and preset_or_config.kind == "safetensors":
        if pretrained or backbone_weights or weights or overrides:
            raise UserError("a saved model is loaded as is; drop pretrained/backbone_weights/weights/overrides")
        from .weights import load_model

        assert preset_or_config.path is not None
        return load_model(preset_or_config.path)
    config = resolve_config(preset_or_config, **overrides)
    if pretrained or backbone_weights:
        from .weights import create_pretrained

        model = create_pretrained(config, backbone_weights)
    else:
        model = EMLNet(config)
    if weights is not None:
        from .weights import load_state, read_checkpoint

        load_state(model, read_checkpoint(os.fspath(weights)), what=os.fspath(weights))
    return model.eval()
