"""The benchmark's model files: a preset, config .json or saved model exported to ONNX once per size (and
reused), or an exported ``.onnx`` with its ``-fp16`` / ``-int8`` siblings; and the PyTorch model's source."""
import os
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ..errors import UserError
from ..files.sidecar import read_sidecar
from .options import BenchOptions
from .schema import Cell

SOURCE_KEYS = ("model", "weights_sha256", "pretrained", "backbone_weights", "seed")


def _onnx_input(path: str) -> Tuple[Optional[Dict[str, Any]], Optional[Dict[str, Any]]]:
    """(sidecar info, source record) of an exported ONNX file, or (None, None)."""
    sidecar = read_sidecar(path, required=False)
    if sidecar is None or sidecar.kind != "onnx":
        return None, None
    return sidecar.info, sidecar.info.get("source")


def _same_source(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return all(a.get(k) == b.get(k) for k in SOURCE_KEYS)


def _export_stem(options: BenchOptions) -> str:
    stem = os.path.splitext(os.path.basename(options.model))[0]
    if options.pretrained:
        stem += "-pretrained"
    if options.weights:
        stem += "-" + os.path.splitext(os.path.basename(options.weights))[0]
    if options.seed:
        stem += "-seed{}".format(options.seed)
    return stem


class ExportCache:
    """The ONNX file of each (precision, size, batch) — exported once into ``work_dir`` and reused while its sidecar
    records the same source and size — and the source record of the PyTorch model."""

    def __init__(self, options: BenchOptions) -> None:
        from ..models.source import ModelSource

        self.options = options
        o = options
        self.parsed = parsed = ModelSource.parse(o.model, o.weights, o.pretrained, o.backbone_weights, o.seed)
        if parsed.kind in ("engine", "onnxruntime"):
            raise UserError("{} is a {} built for one machine; bench exports and builds its own: give the model, "
                            "or the exported .onnx it was built from".format(o.model, parsed.kind))
        self.onnx_mode = parsed.kind == "onnx"
        self.files: Dict[Tuple[str, Tuple[int, int], bool], str] = {}
        self.source: Optional[Dict[str, Any]] = None
        self.weights_label = ""
        self.model_name = options.model
        self.default_size: Optional[Tuple[int, int]] = None
        if self.onnx_mode:
            self._describe_onnx()
        else:
            self._describe_export()

    def _describe_onnx(self) -> None:
        path = self.options.model
        info, source = _onnx_input(path)
        reference = (info or {}).get("reference") or {}
        if info is not None and info.get("precision") not in (None, "fp32") and reference.get("file"):
            path = os.path.join(os.path.dirname(path), info["reference"]["file"])  # the fp32 file it came from
            info, source = _onnx_input(path) if os.path.isfile(path) else (info, source)
        self.base = path
        self.info = info
        self.source = source
        if info is not None and info.get("input_size"):
            self.default_size = (int(info["input_size"][0]), int(info["input_size"][1]))
        self.model_name = os.path.basename(path)
        self.weights_label = _weights_label(source) if source else "as exported (no sidecar)"

    def _describe_export(self) -> None:
        from .._lazy import require

        require("torch", extra="export", purpose="exporting {} to ONNX for the benchmark (or pass an exported "
                                                   ".onnx file)".format(self.options.model))
        from ..export.origin import source_record

        self.source = source_record(self.parsed)
        config = self.parsed.config()
        if config is not None:
            self.default_size = (int(config.input_size[0]), int(config.input_size[1]))
            self.model_name = config.name
        self.weights_label = _weights_label(self.source)

    def onnx_file(self, precision: str, size: Tuple[int, int], batch: int) -> Tuple[Optional[str], str]:
        """(the ONNX file for a cell, "") or (None, why there is none)."""
        from ..export.naming import variant_path

        if not self.onnx_mode:
            return self.files.get((precision, size, batch > 1)), ""
        path = variant_path(self.base, precision)
        if not os.path.isfile(path):
            return None, "{} not found (export with --precision all)".format(os.path.basename(path))
        info, _ = _onnx_input(path)
        if info is not None and not info.get("dynamic"):
            exported = tuple(int(v) for v in info.get("input_size") or ())
            if exported and exported != tuple(size):
                return None, "{} is static at {}x{} (export it at {}x{}, or with --dynamic)".format(
                    os.path.basename(path), exported[0], exported[1], size[0], size[1])
            if batch > 1:
                return None, "{} has a static batch of 1 (export with --dynamic for batch {})".format(
                    os.path.basename(path), batch)
        return path, ""

    def export(self, cells: Sequence[Cell], progress: Callable[[str], None]) -> None:
        """Export (or reuse) the ONNX files the runnable ONNX Runtime / TensorRT cells need."""
        if self.onnx_mode:
            return
        from ..export.api import export_model
        from ..export.naming import variant_path

        wanted: Dict[Tuple[Tuple[int, int], bool], List[str]] = {}
        for cell in cells:
            if cell.status == "planned" and cell.backend != "torch":
                key = (cell.size, cell.batch > 1)
                wanted.setdefault(key, ["fp32"])
                if cell.precision not in wanted[key]:
                    wanted[key].append(cell.precision)
        for (size, dynamic), precisions in wanted.items():
            output = os.path.join(self.options.work_dir, "{}-{}x{}{}.onnx".format(
                _export_stem(self.options), size[0], size[1], "-dynamic" if dynamic else ""))
            if not self._reusable(output, precisions, size, dynamic):
                progress("exporting {} at {}x{}{} ({}) to {}".format(self.model_name, size[0], size[1],
                                                                   ", dynamic" if dynamic else "",
                                                                   ", ".join(precisions), output))
                o = self.options
                export_model(self.parsed, output, precisions=precisions, input_size=size, dynamic=dynamic,
                             calibration=o.calibration)
            else:
                progress("reusing {} ({})".format(output, ", ".join(precisions)))
            for precision in precisions:
                self.files[(precision, size, dynamic)] = variant_path(output, precision)

    def _reusable(self, output: str, precisions: Sequence[str], size: Tuple[int, int], dynamic: bool) -> bool:
        from ..export.naming import variant_path

        for precision in precisions:
            path = variant_path(output, precision)
            info, source = _onnx_input(path) if os.path.isfile(path) else (None, None)
            if info is None or source is None or self.source is None or not _same_source(source, self.source):
                return False
            if list(info.get("input_size") or []) != [size[0], size[1]] or bool(info.get("dynamic")) != dynamic:
                return False
            if info.get("upsample") != "native" or info.get("precision") != precision:
                return False
        return True


def _weights_label(source: Mapping[str, Any]) -> str:
    if str(source.get("model", "")).endswith(".safetensors"):
        return "saved model {}".format(os.path.basename(source["model"]))
    if source.get("weights"):
        return "weights {}".format(os.path.basename(source["weights"]))
    if source.get("pretrained") or source.get("backbone_weights"):
        return "trained backbones (pretrained), random readouts and decoder (seed {})".format(source.get("seed", 0))
    return "random (seed {}); latency does not depend on the weights".format(source.get("seed", 0))
