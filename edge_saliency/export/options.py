"""Export options for ``edge-saliency export`` and :func:`~edge_saliency.export.api.export_model`: one dataclass,
validated before any slow step, and the constants its choices come from.

Standard library only (no torch): the CLI builds and checks these while it parses arguments.
"""
import dataclasses
from typing import List, Mapping, Optional, Sequence, Tuple

from ..config import check_input_size
from ..errors import UserError
from ..vocabulary import PRECISIONS

UPSAMPLE_MODES = ("native", "plugin")
DEFAULT_OPSET = 17
MIN_OPSET = 17  # TensorRT 8.5 (JetPack 5.1) parses up to 17; per-channel Q/DQ needs >= 13
CALIBRATION_METHODS = ("minmax", "entropy", "percentile")
DEFAULT_CALIBRATION_METHOD = "minmax"
DEFAULT_PERCENTILE = 99.99
DEFAULT_CALIBRATION_FRAMES = 128
KEEP_FLOAT_STRIDE = 2


@dataclasses.dataclass
class ExportOptions:
    """How a PyTorch model becomes checked ONNX files (see :func:`~edge_saliency.export.api.export_model`).

    ``weights``: a full-model state dict for a preset or config; ``pretrained`` / ``backbone_weights``: trained
    backbones; otherwise weights are random, drawn from ``seed``. ``calibration``: frames for int8 (a folder, a
    video, a dataset root with ``calibration_split``, or ``"photos"``, the default). ``eval_frames``: held-out
    frames for parity and the report (default: the held-out scikit-image photos).
    """

    precisions: Sequence[str] = ("fp32",)  # fp32 is always written: the reference of the others
    input_size: Optional[Tuple[int, int]] = None  # (H, W); None: the model config's
    dynamic: bool = False  # dynamic batch, height and width
    upsample: str = "native"
    opset: int = DEFAULT_OPSET
    simplify: bool = True
    weights: Optional[str] = None
    pretrained: bool = False
    backbone_weights: Optional[Mapping[str, str]] = None
    seed: int = 0
    calibration: Optional[str] = None
    calibration_split: Optional[str] = None
    calibration_frames: int = DEFAULT_CALIBRATION_FRAMES
    calibration_method: str = DEFAULT_CALIBRATION_METHOD
    percentile: float = DEFAULT_PERCENTILE
    calibration_cache_dir: Optional[str] = None
    eval_frames: Optional[str] = None
    keep_float_stride: int = KEEP_FLOAT_STRIDE

    def validate(self) -> None:
        bad = [p for p in self.precisions if p not in PRECISIONS]
        if bad:
            raise UserError("unknown precision {!r}; choose from {}".format(bad[0], ", ".join(PRECISIONS)))
        check_graph_options(self.upsample, self.opset)
        if self.calibration_method not in CALIBRATION_METHODS:
            raise UserError("calibration method must be one of {}, got {!r}".format(", ".join(CALIBRATION_METHODS),
                                                                                  self.calibration_method))
        if self.calibration_frames < 1:
            raise UserError("--calib-frames must be at least 1, got {}".format(self.calibration_frames))
        if not 0.0 < self.percentile <= 100.0:
            raise UserError("--percentile must be in (0, 100], got {}".format(self.percentile))
        if self.keep_float_stride < 0:
            raise UserError("--keep-float-stride must be >= 0 (0: quantize every convolution), got {}".format(
                self.keep_float_stride))
        if self.input_size is not None:
            check_input_size(self.input_size)  # multiples of 32 (the encoders' stride)

    def variants(self) -> List[str]:
        """The precisions written: fp32 first (the reference), then the others in the order given, no repeats."""
        return list(dict.fromkeys(["fp32"] + [p for p in self.precisions if p != "fp32"]))


def check_graph_options(upsample: str, opset: int) -> None:
    """The upsample mode and the opset, whatever the model."""
    if upsample not in UPSAMPLE_MODES:
        raise UserError("--upsample must be one of {}, got {!r}".format(", ".join(UPSAMPLE_MODES), upsample))
    if opset < MIN_OPSET:
        raise UserError("opset {} is too old: edge-saliency exports opset {} or newer".format(opset, MIN_OPSET))
