"""Model configuration: plain dataclasses that travel as JSON beside every artifact.

The JSON written next to weights (``.safetensors``), ONNX files and engines is ``ModelConfig.to_dict()``.
It carries a schema version so that later releases can read (or refuse, with a reason) older files.
Pure Python: importing this module does not import torch.
"""
import dataclasses
import json
from typing import Any, Dict, List, Optional, Sequence, Tuple, Type, TypeVar

from .errors import InputShapeError, UserError, WeightsError
from .files.atomic import atomic_write_text

# 2: ModelConfig.preprocess (a version-1 config gets the mode its weights were made with, see from_dict)
SCHEMA_VERSION = 2
RESIZE_MODES = ("bilinear", "nearest")
# how an image becomes the model input (edge_saliency.maths.preprocess): Pillow's bilinear resize as the official
# EML-Net code does it (antialiased when shrinking), or OpenCV's area / bilinear resize
PREPROCESS_MODES = ("pillow-bilinear", "opencv-area", "opencv-linear")
DEFAULT_PREPROCESS = "opencv-area"
ACTIVATIONS = ("relu", "sigmoid")
HEAD_FUSE_AT = ("first_tap", "input")

T = TypeVar("T")


def _check_choice(field: str, value: Any, choices: Tuple[str, ...]) -> None:
    if value not in choices:
        raise UserError("{} must be one of {}, got {!r}".format(field, ", ".join(choices), value))


def _check_kernel(field: str, value: int) -> None:
    if value not in (1, 3):
        raise UserError("{} must be 1 or 3, got {!r}".format(field, value))


@dataclasses.dataclass
class EncoderConfig:
    """One encoder of an EML-Net model, with its readouts and its stand-alone (stage-1) head.

    ``encoder`` names an entry of the encoder registry; the readout/head fields start from that entry's
    defaults (see :func:`edge_saliency.models.registry.encoder_config`) and are stored resolved, so a saved
    config is self-contained.
    """

    key: str  # unique within a model, e.g. "densenet161" or "imagenet" / "places" for the official model
    encoder: str  # registry name
    weights: Optional[str] = None  # what the backbone was initialised from: "imagenet", "places365", None
    normalize: bool = True  # apply the encoder's mean/std inside the graph (False: official ResNet-50)
    mean: Tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: Tuple[float, float, float] = (0.229, 0.224, 0.225)
    readout_kernel: int = 3  # Conv k×k (C -> 1) per tap
    readout_activation: str = "relu"  # after the readout's BatchNorm
    head_kernel: int = 3  # stage-1 head Conv k×k (taps -> 1)
    head_fuse_at: str = "first_tap"  # resize readouts to the first tap's size, or to the input size
    resize_mode: str = "nearest"  # how readouts are resized inside the stage-1 head
    align_corners: bool = False  # bilinear only

    def validate(self) -> None:
        """Raise UserError naming the first invalid field (kernels, activations, resize mode, mean/std)."""
        _check_kernel("readout_kernel", self.readout_kernel)
        _check_kernel("head_kernel", self.head_kernel)
        _check_choice("readout_activation", self.readout_activation, ACTIVATIONS)
        _check_choice("head_fuse_at", self.head_fuse_at, HEAD_FUSE_AT)
        _check_choice("resize_mode", self.resize_mode, RESIZE_MODES)
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise UserError("mean and std need three values each, std > 0; got {} / {}".format(self.mean, self.std))


@dataclasses.dataclass
class DecoderConfig:
    """The stage-2 fusion decoder over the readout maps of all encoders (about 20 parameters per map)."""

    block_kernel: int = 3  # per-map Conv k×k (1 -> 1) + BN + ReLU
    fuse_kernel: int = 3  # Conv k×k (maps -> 1) + BN + Sigmoid
    resize_mode: str = "bilinear"  # "nearest" reproduces the official checkpoints
    align_corners: bool = False
    output_size: Optional[Tuple[int, int]] = None  # None: the input size; official model: (480, 640)

    def validate(self) -> None:
        """Raise UserError naming the first invalid field (kernels, resize mode, output size)."""
        _check_kernel("block_kernel", self.block_kernel)
        _check_kernel("fuse_kernel", self.fuse_kernel)
        _check_choice("decoder resize_mode", self.resize_mode, RESIZE_MODES)
        if self.output_size is not None and (len(self.output_size) != 2 or min(self.output_size) < 1):
            raise UserError("decoder output_size must be (height, width), got {!r}".format(self.output_size))


@dataclasses.dataclass
class ModelConfig:
    """A whole model: one or more encoders, and a fusion decoder when there is more than a stage-1 head.

    With ``decoder=None`` the model is a stage-1 model: it must have exactly one encoder and outputs that
    encoder's stand-alone head.
    """

    name: str
    encoders: List[EncoderConfig]
    decoder: Optional[DecoderConfig] = None
    input_size: Tuple[int, int] = (480, 640)  # nominal (height, width): export default, GMACs
    # how images are resized to the input: used by every path that feeds the model (runtime, export checks
    # and calibration, bench, predict, eval, training), so one image gives one input tensor everywhere
    preprocess: str = DEFAULT_PREPROCESS
    schema_version: int = SCHEMA_VERSION

    @property
    def is_fused(self) -> bool:
        """True for a fused (stage-2) model with a decoder; False for a one-encoder stage-1 model."""
        return self.decoder is not None

    def validate(self) -> None:
        """Raise UserError for an inconsistent model (no encoders, repeated keys, a stage-1 model with several
        encoders, ...)."""
        if not self.encoders:
            raise UserError("model {!r} has no encoders".format(self.name))
        keys = [e.key for e in self.encoders]
        if len(set(keys)) != len(keys):
            raise UserError("encoder keys must be unique within a model, got {}".format(keys))
        if self.decoder is None and len(self.encoders) != 1:
            raise UserError(
                "a model without a decoder is a stage-1 model and takes exactly one encoder, got {}".format(keys)
            )
        _check_choice("preprocess", self.preprocess, PREPROCESS_MODES)
        for enc in self.encoders:
            enc.validate()
        if self.decoder is not None:
            self.decoder.validate()
        check_input_size(self.input_size)

    # -- JSON -------------------------------------------------------------------------------------------
    def to_dict(self) -> Dict[str, Any]:
        """The config as plain JSON-ready data."""
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        """The config as indented JSON text with sorted keys."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "ModelConfig":
        """The config of a JSON object; refuses a newer schema version (upgrade edge-saliency)."""
        if not isinstance(data, dict):
            raise WeightsError("a model config must be a JSON object, got {}".format(type(data).__name__))
        version = data.get("schema_version", SCHEMA_VERSION)
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise WeightsError(
                "model config schema_version {!r} is newer than this edge-saliency understands ({}); "
                "upgrade edge-saliency".format(version, SCHEMA_VERSION)
            )
        data = dict(data)
        if "preprocess" not in data:
            data["preprocess"] = legacy_preprocess(data)
        data["schema_version"] = SCHEMA_VERSION
        try:
            data["encoders"] = [_from_dict(EncoderConfig, e) for e in data.get("encoders", [])]
            if data.get("decoder") is not None:
                data["decoder"] = _from_dict(DecoderConfig, data["decoder"])
            config = _from_dict(cls, data)
        except TypeError as exc:
            raise WeightsError("invalid model config: {}".format(exc)) from exc
        config.validate()
        return config

    @classmethod
    def from_json(cls, text: str) -> "ModelConfig":
        """The config of a JSON text (see :meth:`from_dict`)."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise WeightsError("model config is not valid JSON: {}".format(exc)) from exc
        return cls.from_dict(data)

    def save(self, path: str) -> None:
        """Write the config as JSON to ``path``, atomically."""
        atomic_write_text(path, self.to_json() + "\n")

    @classmethod
    def load(cls, path: str) -> "ModelConfig":
        """Read a config JSON file."""
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as exc:
            raise WeightsError("cannot read model config {}: {}".format(path, exc.strerror or exc)) from exc
        return cls.from_json(text)


def legacy_preprocess(data: Dict[str, Any]) -> str:
    """The pre-processing of a config written before the field existed (schema version 1): the official
    checkpoints' (encoders without normalization take the official script's raw [0, 1] input, which Pillow
    resized), else what edge-saliency's training transform did then (OpenCV area when shrinking)."""
    encoders = data.get("encoders") or []
    official = bool(encoders) and all(isinstance(e, dict) and e.get("normalize") is False for e in encoders)
    return "pillow-bilinear" if official else DEFAULT_PREPROCESS


def _from_dict(cls: Type[T], data: Dict[str, Any]) -> T:
    """Build a dataclass from a dict: unknown keys are an error; lists become tuples where typed so."""
    if not isinstance(data, dict):
        raise TypeError("{} must be a JSON object".format(cls.__name__))
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise TypeError("unknown {} fields: {}".format(cls.__name__, ", ".join(unknown)))
    values = {}
    for name, value in data.items():
        if isinstance(value, list) and "Tuple" in str(fields[name].type):
            value = tuple(value)
        values[name] = value
    return cls(**values)  # type: ignore[call-arg]


def check_input_size(size: Sequence[int], multiple: int = 32, hint: str = "") -> Tuple[int, int]:
    """Check (height, width) are positive multiples of ``multiple``; return them as ints."""
    try:
        h, w = (int(v) for v in size)
    except (TypeError, ValueError):
        raise InputShapeError("input size must be (height, width), got {!r}".format(size)) from None
    for label, value in (("height", h), ("width", w)):
        if value < multiple or value % multiple:
            lower = max(multiple, value // multiple * multiple)
            raise InputShapeError(
                "input {} {} is not a multiple of {}; use e.g. {} or {}{}".format(
                    label, value, multiple, lower, lower + multiple, hint
                )
            )
    return h, w
