"""EML-Net in PyTorch: tapped encoders with readouts and stage-1 heads, and the fusion decoder.

Module layout (and so state-dict keys) mirrors the official code where it can:
``encoders.<key>.readouts.<i>.{0,1}`` ↔ official ``output<i>.{0,1}``, ``encoders.<key>.head.{0,1}`` ↔
``combined.{0,1}``, ``decoder.blocks.<j>.{0,1}`` ↔ ``img_model.<i>`` / ``pla_model.<i>``, ``decoder.fuse``
↔ the decoder's ``combined``.
"""
from typing import Any, List, Optional, Sequence, cast

import torch
from torch import nn

from .._lazy import require
from ..config import DecoderConfig, EncoderConfig, ModelConfig, check_input_size
from ..errors import InputShapeError
from .layers import Normalize, conv_bn_act, resize, resize_concat
from .registry import EncoderSpec, get_encoder_spec

INPUT_MULTIPLE = 32


def _store_output(module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
    # A plain function (no closure over the wrapper) keeps deepcopy / DDP replicas independent.
    object.__setattr__(module, "_eml_tap", output)


class TappedBackbone(nn.Module):
    """A timm backbone that returns the outputs of the spec's tap modules instead of its own output."""

    def __init__(self, spec: EncoderSpec, timm_weights: Optional[str] = None,
                 weights_file: Optional[str] = None) -> None:
        """``timm_weights`` ("<arch>.<tag>") makes timm load those pretrained weights: from ``weights_file``
        (a file of that tag, e.g. in a download cache) when given, else downloaded (online)."""
        super().__init__()
        timm = require("timm", purpose="building the {} encoder".format(spec.name))
        overlay = {"pretrained_cfg_overlay": {"file": weights_file}} if weights_file else {}
        self.model = timm.create_model(timm_weights or spec.backbone, pretrained=bool(timm_weights), num_classes=0,
                                       **overlay)
        for path in spec.prune:  # work after the last tap: never needed, and may modify a tap in place
            parent, _, child = path.rpartition(".")
            setattr(self.model.get_submodule(parent) if parent else self.model, child, nn.Identity())
        self.taps = tuple(spec.taps)
        for path in self.taps:
            self.model.get_submodule(path).register_forward_hook(_store_output)

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        self.model.forward_features(x)
        outputs = []
        for path in self.taps:
            module = self.model.get_submodule(path)
            outputs.append(module.__dict__.pop("_eml_tap"))
        return outputs


class EMLEncoder(nn.Module):
    """Normalization + tapped backbone + one readout per tap + the stage-1 head.

    ``readout_maps(x)`` gives the 1-channel readout maps at their own resolutions (what the fusion
    decoder takes; the official "decode" mode). ``forward(x)`` is the stand-alone saliency model.
    """

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.spec = get_encoder_spec(config.encoder)
        self.normalize: nn.Module = Normalize(config.mean, config.std) if config.normalize else nn.Identity()
        self.backbone = TappedBackbone(self.spec)
        self.readouts = nn.ModuleList(
            conv_bn_act(c, 1, config.readout_kernel, config.readout_activation) for c in self.spec.channels
        )
        self.head = conv_bn_act(len(self.spec.channels), 1, config.head_kernel, "sigmoid")

    @property
    def num_maps(self) -> int:
        """How many one-channel readout maps the encoder gives (one per tap)."""
        return len(self.readouts)

    def readout_maps(self, x: torch.Tensor) -> List[torch.Tensor]:
        """The readout maps of a [0, 1] RGB batch, one per tap, at each tap's resolution."""
        features = self.backbone(self.normalize(x))
        return [readout(f) for readout, f in zip(self.readouts, features)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        maps = self.readout_maps(x)
        cfg = self.config
        size = maps[0].shape[-2:] if cfg.head_fuse_at == "first_tap" else x.shape[-2:]
        fused = self.head(resize_concat(maps, size, cfg.resize_mode, cfg.align_corners))
        return resize(fused, x.shape[-2:], cfg.resize_mode, cfg.align_corners)


class FusionDecoder(nn.Module):
    """Stage 2: per-map Conv+BN+ReLU, resize to the output size, concatenate, Conv+BN+Sigmoid."""

    def __init__(self, num_maps: int, config: DecoderConfig) -> None:
        super().__init__()
        self.config = config
        self.blocks = nn.ModuleList(conv_bn_act(1, 1, config.block_kernel, "relu") for _ in range(num_maps))
        self.fuse = conv_bn_act(num_maps, 1, config.fuse_kernel, "sigmoid")

    def forward(self, maps: Sequence[torch.Tensor], size: Sequence[int]) -> torch.Tensor:
        blocks = [block(m) for block, m in zip(self.blocks, maps)]
        return self.fuse(resize_concat(blocks, size, self.config.resize_mode, self.config.align_corners))


class EMLNet(nn.Module):
    """EML-Net over any set of encoders. Input: RGB in [0, 1], N×3×H×W, H and W multiples of 32.
    Output: saliency in [0, 1], N×1×H×W (or the decoder's fixed output size)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        config.validate()
        self.config = config
        self.encoders = nn.ModuleDict({e.key: EMLEncoder(e) for e in config.encoders})
        self.decoder: Optional[FusionDecoder] = None
        if config.decoder is not None:
            num_maps = sum(enc.num_maps for enc in self.encoder_list)
            self.decoder = FusionDecoder(num_maps, config.decoder)

    @property
    def encoder_list(self) -> List[EMLEncoder]:
        """The encoders in config order (typed: a ModuleDict holds plain Modules for a type checker)."""
        return cast(List[EMLEncoder], list(self.encoders.values()))

    def readout_maps(self, x: torch.Tensor) -> List[torch.Tensor]:
        """All encoders' readout maps, in encoder order (the decoder's input)."""
        return [m for enc in self.encoder_list for m in enc.readout_maps(x)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x)
        if self.decoder is None:
            return next(iter(self.encoders.values()))(x)
        size = self.decoder.config.output_size or x.shape[-2:]
        return self.decoder(self.readout_maps(x), size)


def _tracing() -> bool:
    compiling = getattr(getattr(torch, "compiler", None), "is_compiling", lambda: False)  # torch < 2.3
    return bool(torch.jit.is_tracing() or torch.onnx.is_in_onnx_export() or compiling())


def check_input(x: torch.Tensor) -> None:
    """Clear errors for inputs the model cannot take (skipped while tracing for export)."""
    if _tracing():
        return
    if x.dim() != 4 or x.shape[1] != 3:
        raise InputShapeError(
            "EML-Net takes an N×3×H×W RGB tensor in [0, 1], got shape {}".format(tuple(x.shape))
        )
    check_input_size(
        (int(x.shape[2]), int(x.shape[3])), INPUT_MULTIPLE, hint=" (the runtime's pre-processing resizes frames)"
    )
