"""Build options for ``edge-saliency build-engine``: one dataclass, validated, recorded in the sidecar and
(minus the fields that do not change the engine) hashed into the cache key."""
import dataclasses
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..errors import UserError
from ..vocabulary import AUTO, BUILD_BACKENDS, PRECISIONS

TYPING_MODES = ("auto", "strong", "weak")
BACKENDS = (AUTO,) + BUILD_BACKENDS

Shape = Tuple[int, ...]


@dataclasses.dataclass
class ShapeRange:
    """An optimization-profile entry for one dynamic input."""

    min: Shape
    opt: Shape
    max: Shape

    def validate(self, name: str) -> None:
        if not (len(self.min) == len(self.opt) == len(self.max)):
            raise UserError("shape range for '{}' mixes ranks: {} / {} / {}".format(name, self.min, self.opt, self.max))
        for lo, mid, hi in zip(self.min, self.opt, self.max):
            if not 0 < lo <= mid <= hi:
                raise UserError(
                    "shape range for '{}' needs 0 < min <= opt <= max in every dimension, got {} / {} / {}".format(
                        name, "x".join(map(str, self.min)), "x".join(map(str, self.opt)), "x".join(map(str, self.max))
                    )
                )


@dataclasses.dataclass
class BuildOptions:
    precision: str = "fp16"  # build_engine: "" = the ONNX file's own precision
    shapes: Dict[str, ShapeRange] = dataclasses.field(default_factory=dict)  # dynamic inputs only
    workspace_mib: Optional[int] = None  # None: TensorRT's default (all device memory)
    optimization_level: Optional[int] = None  # 0-5, TensorRT >= 8.6; None: TensorRT's default (3)
    dla_core: Optional[int] = None  # Jetson Xavier / Orin AGX & NX
    gpu_fallback: bool = True  # with dla_core: layers DLA cannot run go to the GPU
    tf32: bool = True
    typing: str = "auto"  # auto: see trt_compat._choose_typing (flags up to 10.11, strong on 11.x / 10.12+)
    version_compatible: bool = False  # engine runs on later TensorRT of the same major (embeds host code)
    plugins: List[str] = dataclasses.field(default_factory=list)  # plugin libraries, loaded before parsing
    timing_cache: Optional[str] = None  # path; read and written back; does not change the key

    def validate(self) -> None:
        if self.precision not in PRECISIONS:
            raise UserError("--precision must be one of {}, got {!r}".format(", ".join(PRECISIONS), self.precision))
        if self.typing not in TYPING_MODES:
            raise UserError("--typing must be one of {}, got {!r}".format(", ".join(TYPING_MODES), self.typing))
        if self.workspace_mib is not None and self.workspace_mib <= 0:
            raise UserError("--workspace must be a positive number of MiB, got {}".format(self.workspace_mib))
        if self.optimization_level is not None and not 0 <= self.optimization_level <= 5:
            raise UserError("--opt-level must be 0..5, got {}".format(self.optimization_level))
        if self.dla_core is not None:
            if self.dla_core < 0:
                raise UserError("--dla-core must be >= 0, got {}".format(self.dla_core))
            if self.precision == "fp32":
                raise UserError("DLA runs fp16 or int8 only; use --precision fp16 or int8 with --dla-core")
            if any(r.min != r.max for r in self.shapes.values()):
                raise UserError("DLA needs static shapes; give one --shape instead of a min/opt/max range")
        for name, shape_range in self.shapes.items():
            shape_range.validate(name)

    def key_fields(self) -> Dict[str, Any]:
        """Everything that changes the built engine (not where files go, not the timing cache)."""
        fields = dataclasses.asdict(self)
        fields.pop("timing_cache")
        fields.pop("plugins")  # keyed by the libraries' hashes instead
        return fields

    def to_dict(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)


def parse_shape(text: str) -> Tuple[Optional[str], Shape]:
    """``image:1x3x480x640`` or ``1x3x480x640`` -> (name or None, (1, 3, 480, 640))."""
    name, _, dims = text.rpartition(":")
    if not re.match(r"^\d+(x\d+)*$", dims):
        raise UserError("shape {!r} must look like NAME:1x3x480x640 or 1x3x480x640".format(text))
    return (name or None), tuple(int(d) for d in dims.split("x"))


def shape_ranges(
    shape: Sequence[str] = (), min_shape: Sequence[str] = (), opt_shape: Sequence[str] = (),
    max_shape: Sequence[str] = (), default_name: str = "image",
) -> Dict[str, ShapeRange]:
    """Optimization profile from ``--shape`` (min = opt = max) and/or ``--min/--opt/--max-shape`` lists."""
    ranges: Dict[str, ShapeRange] = {}
    for text in shape:
        name, dims = parse_shape(text)
        ranges[name or default_name] = ShapeRange(dims, dims, dims)
    parts: Dict[str, Dict[str, Shape]] = {}
    for label, texts in (("min", min_shape), ("opt", opt_shape), ("max", max_shape)):
        for text in texts:
            name, dims = parse_shape(text)
            parts.setdefault(name or default_name, {})[label] = dims
    for name, given in parts.items():
        if name in ranges:
            raise UserError("input '{}' has both --shape and --min/--opt/--max-shape".format(name))
        missing = [label for label in ("min", "opt", "max") if label not in given]
        if missing:
            raise UserError("input '{}' needs --min-shape, --opt-shape and --max-shape; missing {}".format(
                name, ", ".join("--{}-shape".format(m) for m in missing)))
        ranges[name] = ShapeRange(given["min"], given["opt"], given["max"])
    for name, shape_range in ranges.items():
        shape_range.validate(name)
    return ranges
