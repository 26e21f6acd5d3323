"""``TrainConfig``: everything a training run depends on, saved as ``train_config.json`` beside its
checkpoints (pure Python, no torch). The defaults are the official EML-Net recipe (docs/training.md)."""
import dataclasses
import json
import os
from typing import Any, Dict, Optional, Tuple

from .._version import __version__
from ..errors import UserError
from ..files.atomic import atomic_write_text

TRAIN_CONFIG_FILE = "train_config.json"
TRAIN_SCHEMA_VERSION = 1
VAL_METRICS = {"loss": "min", "cc": "max", "nss": "max", "kld": "min", "sim": "max"}
STAGES = (1, 2)


@dataclasses.dataclass
class TrainConfig:
    stage: int  # 1: one encoder with its stand-alone head; 2: frozen encoders, train the fusion decoder
    model: str  # preset name or model config .json (the FULL model; stage 1 trains one of its encoders)
    data: str  # dataset root
    output: str  # run folder: checkpoints, train_config.json, log.json
    encoder: Optional[str] = None  # stage 1: the encoder key (may be omitted for a one-encoder model)
    layout: str = "auto"
    train_split: str = "train"
    val_split: Optional[str] = "val"  # None: no validation (then "best" is the last epoch)
    input_size: Optional[Tuple[int, int]] = None  # (height, width); None: the model config's input size
    epochs: int = 10
    batch_size: int = 8  # per process; the global batch is batch_size × number of processes
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 1e-4
    lr_milestones: Tuple[int, ...] = (5,)  # epochs (0-based) at whose start the lr is multiplied by lr_gamma
    lr_gamma: float = 0.1
    hflip: bool = True
    loss_weights: Tuple[float, float, float] = (1.0, 1.0, 1.0)  # KL, CC, NSS
    pretrained: bool = True  # stage 1: start the backbone from trained weights
    backbone_weights: Optional[str] = None  # stage 1: a backbone checkpoint file (Places365 DenseNet, ...)
    stage1: Dict[str, str] = dataclasses.field(default_factory=dict)  # stage 2: encoder key -> stage-1 weights
    val_metric: str = "cc"  # picks best.safetensors; one of VAL_METRICS
    amp: Optional[bool] = None  # mixed precision (fp16 autocast + grad scaling); None: on when training on CUDA
    device: str = "auto"  # auto: cuda:<LOCAL_RANK> when available, else cpu
    workers: Optional[int] = None  # data-loading processes per training process; None: from the CPU cores
    seed: int = 0
    steps_per_epoch: Optional[int] = None  # cap the steps of an epoch (quick runs); None: the whole split
    val_limit: Optional[int] = None  # cap the validation images; None: the whole split
    keep_every_epoch: bool = False  # also keep epoch_NNN.safetensors for every epoch

    def validate(self) -> None:
        """Raise UserError naming the first invalid option."""
        if self.stage not in STAGES:
            raise UserError("stage must be 1 or 2, got {!r}".format(self.stage))
        if self.val_metric not in VAL_METRICS:
            raise UserError("val_metric must be one of {}, got {!r}".format(", ".join(VAL_METRICS), self.val_metric))
        for name in ("epochs", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise UserError("{} must be at least 1, got {}".format(name, getattr(self, name)))
        if self.lr <= 0 or self.weight_decay < 0 or not 0 <= self.momentum < 1 or self.lr_gamma <= 0:
            raise UserError("need lr > 0, weight_decay >= 0, 0 <= momentum < 1 and lr_gamma > 0; got lr {}, "
                            "weight_decay {}, momentum {}, lr_gamma {}".format(
                                self.lr, self.weight_decay, self.momentum, self.lr_gamma))
        if self.stage == 2 and (self.backbone_weights or self.encoder):
            raise UserError("stage 2 trains the decoder over stage-1 encoders: pass --stage1 files, "
                            "not --encoder / --backbone-weights")
        if self.stage == 1 and self.stage1:
            raise UserError("--stage1 files are for stage 2; stage 1 starts from backbone weights")
        if self.workers is not None and self.workers < 0:
            raise UserError("workers must be 0 or more, got {}".format(self.workers))
        for value in (self.steps_per_epoch, self.val_limit):
            if value is not None and value < 1:
                raise UserError("steps_per_epoch and val_limit must be at least 1, got {}".format(value))

    @property
    def mode(self) -> str:
        """``max`` or ``min``: whether a higher validation metric is better."""
        return VAL_METRICS[self.val_metric]

    def to_dict(self) -> Dict[str, Any]:
        """The config as JSON-ready data, with the schema and edge-saliency versions."""
        data = dataclasses.asdict(self)
        data["schema_version"] = TRAIN_SCHEMA_VERSION
        data["edge_saliency_version"] = __version__
        return data

    def save(self, folder: str) -> str:
        """Write ``train_config.json`` into ``folder``, atomically; returns its path."""
        path = os.path.join(folder, TRAIN_CONFIG_FILE)
        atomic_write_text(path, json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")
        return path

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "TrainConfig":
        """The config of saved data; refuses a newer schema version."""
        data = dict(data)
        version = data.pop("schema_version", TRAIN_SCHEMA_VERSION)
        data.pop("edge_saliency_version", None)
        if not isinstance(version, int) or version > TRAIN_SCHEMA_VERSION:
            raise UserError("training config schema_version {!r} is newer than this edge-saliency reads ({}); "
                            "upgrade edge-saliency".format(version, TRAIN_SCHEMA_VERSION))
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - fields)
        if unknown:
            raise UserError("unknown training config fields: {}".format(", ".join(unknown)))
        for name in ("input_size", "lr_milestones", "loss_weights"):
            if isinstance(data.get(name), list):
                data[name] = tuple(data[name])
        config = cls(**data)
        config.validate()
        return config

    @classmethod
    def load(cls, folder: str) -> "TrainConfig":
        """The config saved in a run folder (for ``--resume``)."""
        path = os.path.join(folder, TRAIN_CONFIG_FILE)
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except OSError:
            raise UserError("cannot resume: {} not found (is {} a training run folder?)".format(path, folder)) from None
        except ValueError as exc:
            raise UserError("cannot read {}: {}".format(path, exc)) from None
        if not isinstance(data, dict):
            raise UserError("{} is not a JSON object".format(path))
        return cls.from_dict(data)
