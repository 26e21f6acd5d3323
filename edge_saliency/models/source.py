"""``ModelSource``: what a model string names, decided once.

Every command and API that takes a model (``predict``, ``eval``, ``run``, ``export``, ``bench``,
``create_model``, ``create_runner``) parses it here, into one of these kinds:

==============  =====================================================================================
kind            what it is
==============  =====================================================================================
``preset``      a preset name (``emlnet-lite``), random weights unless ``weights`` is given
``config``      a model config ``.json`` (``ModelConfig``), with optional ``weights``
``safetensors`` a model saved by edge-saliency (its config in ``<file>.json`` or in the file's metadata)
``official``    the three released EML-Net checkpoints (res_imagenet.pth, res_places.pth, res_decoder.pth)
``onnx``        an exported ONNX file (fp32, fp16, int8), with its sidecar ``<file>.json`` when it has one
``onnxruntime`` an ONNX Runtime artifact made by ``build-engine`` (sidecar kind ``onnxruntime``)
``engine``      a TensorRT engine (``.engine`` / ``.plan`` / ``.trt``, or sidecar kind ``engine``)
==============  =====================================================================================

The first four are PyTorch models (:func:`edge_saliency.models.build.build_model` creates them, with their
weights, and records the weights' sha256); the others are files a runtime loads.
Its serialised form is the ``source`` record that
the ONNX sidecar holds (``info["source"]``, see :mod:`edge_saliency.export.api`): :meth:`ModelSource.record`
writes it, :meth:`ModelSource.from_record` reads it back, so an ONNX file or an engine knows the PyTorch model
it came from (:attr:`ModelSource.origin`).

Pure Python: parsing, :meth:`ModelSource.config`, the precision, input size and pre-processing need no torch
(a ``.safetensors`` header is read as JSON); only building the model imports torch.

"""
import dataclasses
import os
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from ..config import ModelConfig
from ..engine.onnx_info import file_weights_precision
from ..errors import UnknownNameError, UserError, WeightsError
from ..files.hashing import file_sha256
from ..files.sidecar import Sidecar, read_sidecar, sidecar_path
from ..system import package_version
from .saved import saved_config

TORCH_KINDS = ("preset", "config", "safetensors", "official")
FILE_KINDS = ("onnx", "onnxruntime", "engine")
KINDS = TORCH_KINDS + FILE_KINDS
ENGINE_EXTENSIONS = (".engine", ".plan", ".trt")
MODEL_EXTENSIONS = (".onnx", ".safetensors") + ENGINE_EXTENSIONS
CHECKPOINT_EXTENSIONS = (".pth", ".pt", ".tar", ".bin", ".ckpt")
OFFICIAL_PRESET = "emlnet-resnet50-official"
OFFICIAL_FILES = ("imagenet", "places", "decoder")
_SIDECAR_KINDS = {"weights": "safetensors", "onnx": "onnx", "onnxruntime": "onnxruntime", "engine": "engine"}
# the kinds a file of each extension can be (a sidecar may name the kind of a file with another extension)
_EXTENSION_KINDS = {".onnx": ("onnx", "onnxruntime"), ".safetensors": ("safetensors",),
                    **{e: ("engine",) for e in ENGINE_EXTENSIONS}}
_EXTENSION_NAMES = {".onnx": "an ONNX file", ".safetensors": "a safetensors file",
                    **{e: "a TensorRT engine" for e in ENGINE_EXTENSIONS}}


def _presets() -> List[str]:
    from .registry import list_presets

    return list_presets()


def _is_path_like(text: str) -> bool:
    return os.sep in text or "/" in text or os.path.splitext(text)[1].lower() in MODEL_EXTENSIONS + (
        ".json",) + CHECKPOINT_EXTENSIONS


@dataclasses.dataclass
class ModelSource:
    """One model, as a user named it. Build it with :meth:`parse` (a model string), :meth:`official_checkpoints`
    or :meth:`from_record` (a sidecar's ``source`` record); paths are absolute."""

    kind: str  # one of KINDS
    name: str  # what the user gave: a preset name or the path as given
    path: Optional[str] = None  # the model file (None for a preset or the official checkpoints)
    weights: Optional[str] = None  # weights for a preset / config (a .safetensors or weights-only torch file)
    pretrained: bool = False  # trained backbones (preset / config only)
    backbone_weights: Dict[str, str] = dataclasses.field(default_factory=dict)
    seed: int = 0  # random initialisation of what no weights cover
    official: Optional[Dict[str, str]] = None  # {"imagenet", "places", "decoder"} -> checkpoint path
    sidecar: Optional[Sidecar] = None  # the file's sidecar, when it has one
    weights_sha256: Optional[str] = None  # recorded by build_model() / record() (or read from a record)

    # -- parsing ----------------------------------------------------------------------------------------
    @classmethod
    def parse(cls, model: Union[str, "ModelSource"], weights: Optional[str] = None, pretrained: bool = False,
              backbone_weights: Optional[Mapping[str, str]] = None, seed: int = 0,
              flag: Optional[str] = None) -> "ModelSource":
        """The source ``model`` names (see the module docstring); ``weights`` / ``pretrained`` /
        ``backbone_weights`` only go with a preset or a config. One-line errors for what cannot be a model
        (naming ``flag``, e.g. ``--model``, when the model came from one)."""
        if isinstance(model, ModelSource):
            return model
        if not isinstance(model, str) or not model:
            raise UserError("a model is a preset name or a file path, got {!r}".format(model))
        backbone = dict(backbone_weights or {})
        if model in _presets() and not os.path.exists(model):
            source = cls("preset", model, weights=_abs(weights), pretrained=pretrained, backbone_weights=backbone,
                         seed=seed)
            source._check_weight_files()
            return source
        source = cls._file(model, flag)
        if source.kind == "config":
            source.weights, source.pretrained, source.backbone_weights, source.seed = (
                _abs(weights), pretrained, backbone, seed)
            source._check_weight_files()
        elif weights or pretrained or backbone:
            given = ", ".join(f for f, v in (("--weights", weights), ("--pretrained", pretrained),
                                             ("--backbone-weights", backbone)) if v)
            raise UserError("{} holds its weights; {} go{} with a preset name or a config .json".format(
                model, given, "es" if "," not in given else ""))
        return source

    @classmethod
    def _file(cls, model: str, flag: Optional[str]) -> "ModelSource":
        extension = os.path.splitext(model)[1].lower()
        if os.path.isdir(model):
            found = sorted(n for n in os.listdir(model) if os.path.splitext(n)[1].lower() in MODEL_EXTENSIONS)
            raise UserError("{} {} is a folder; give the model file in it{}".format(
                flag or "model", model, " ({})".format(", ".join(found[:5])) if found else
                " (it holds no .onnx, .engine or .safetensors)"))
        if not os.path.isfile(model):
            if _is_path_like(model):
                raise UserError("model file not found: {}".format(model))
            files = "(or give a model file: .safetensors, .onnx, .engine, a config .json)"
            if flag:
                raise UnknownNameError("{} {}: no such file, and not a preset; presets: {} {}".format(
                    flag, model, ", ".join(_presets()), files))
            raise UnknownNameError("unknown preset {!r}; valid presets: {} {}".format(
                model, ", ".join(_presets()), files))
        path = os.path.abspath(model)
        if extension == ".json":
            artifact = model[: -len(".json")]
            if os.path.splitext(artifact)[1].lower() in MODEL_EXTENSIONS:
                raise UserError("{} is the sidecar of {}; give the model file itself".format(model, artifact))
            return cls("config", model, path=path)
        sidecar = read_sidecar(model, required=False)
        if sidecar is not None and sidecar.kind in _SIDECAR_KINDS:
            kind = _SIDECAR_KINDS[sidecar.kind]
            named = _EXTENSION_KINDS.get(extension, ())
            if named and kind not in named:
                raise UserError("{} and its sidecar disagree: the file is {} ({}), the sidecar {}.json says kind "
                                "'{}'; rebuild or re-export it, or remove the wrong sidecar".format(
                                    model, _EXTENSION_NAMES[extension], extension, model, sidecar.kind))
            return cls(kind, model, path=path, sidecar=sidecar)
        if extension in CHECKPOINT_EXTENSIONS:
            raise UserError("{} is a PyTorch checkpoint: give a preset (or config .json) with --weights {}, or "
                            "convert the released EML-Net files first: edge-saliency convert-official IMAGENET "
                            "PLACES DECODER".format(model, model))
        if extension in ENGINE_EXTENSIONS:
            return cls("engine", model, path=path, sidecar=sidecar)
        if extension == ".onnx":
            return cls("onnx", model, path=path, sidecar=sidecar)
        if extension == ".safetensors":
            return cls("safetensors", model, path=path, sidecar=sidecar)
        raise UserError("cannot tell what kind of model {} is: expected a preset name ({}), a config .json, a "
                        ".safetensors (with its sidecar), an .onnx or an .engine / .plan".format(
                            model, ", ".join(_presets())))

    @classmethod
    def official_checkpoints(cls, imagenet: str, places: str, decoder: str) -> "ModelSource":
        """The three released EML-Net checkpoints (read with ``torch.load(weights_only=True)`` by :meth:`build`)."""
        files = dict(zip(OFFICIAL_FILES, (imagenet, places, decoder)))
        for role, path in files.items():
            if not os.path.isfile(path):
                raise WeightsError("{} checkpoint not found: {}".format(role, path))
        return cls("official", OFFICIAL_PRESET, official={k: os.path.abspath(v) for k, v in files.items()})

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> "ModelSource":
        """The source a sidecar's ``source`` record describes (the inverse of :meth:`record`)."""
        if not isinstance(record, Mapping) or "model" not in record:
            raise UserError("not a model source record: {!r}".format(record))
        model = str(record["model"])
        if record.get("official"):
            source = cls("official", model, official={k: str(v) for k, v in dict(record["official"]).items()})
        elif model.endswith(".safetensors"):
            source = cls("safetensors", model, path=model)
        elif model.endswith(".json"):
            source = cls("config", model, path=model)
        else:
            source = cls("preset", model)
        source.weights = record.get("weights")
        source.pretrained = bool(record.get("pretrained"))
        source.backbone_weights = dict(record.get("backbone_weights") or {})
        source.seed = int(record.get("seed", 0))
        source.weights_sha256 = record.get("weights_sha256")
        return source

    def _check_weight_files(self) -> None:
        if self.weights is not None and not os.path.isfile(self.weights):
            raise WeightsError("weights file not found: {}".format(self.weights))
        for key, path in self.backbone_weights.items():
            if not os.path.isfile(path):
                raise WeightsError("backbone weights for '{}' not found: {}".format(key, path))
        self.backbone_weights = {k: os.path.abspath(v) for k, v in self.backbone_weights.items()}

    def with_weights(self, weights: str) -> "ModelSource":
        """This preset or config with the trained ``weights`` (a copy; the file checked), for commands that parse
        several model strings first and learn only then which of them take ``--weights``."""
        if self.kind not in ("preset", "config"):
            raise UserError("{} holds its weights; --weights goes with a preset name or a config .json".format(
                self.name))
        source = dataclasses.replace(self, weights=_abs(weights), weights_sha256=None)
        source._check_weight_files()
        return source

    # -- what it is, without torch ----------------------------------------------------------------------
    @property
    def is_torch(self) -> bool:
        """A PyTorch model (built by :func:`~edge_saliency.models.build.build_model`), not a file a runtime loads."""
        return self.kind in TORCH_KINDS

    @property
    def weights_file(self) -> Optional[str]:
        """The file holding the trained weights: the ``.safetensors`` itself, or ``weights``."""
        return self.path if self.kind == "safetensors" else self.weights

    @property
    def trained(self) -> bool:
        """Whether any trained weights are in it (a preset without weights has random readouts and decoder)."""
        if self.kind in ("safetensors", "official"):
            return True
        if self.is_torch:
            return bool(self.weights or self.pretrained or self.backbone_weights)
        origin = self.origin
        return origin.trained if origin is not None else True  # an unknown file: assume its maker trained it

    def config(self) -> Optional[ModelConfig]:
        """The model config (no torch): the preset's, the .json's, the one saved with the weights, or the one in
        the file's sidecar; None for an ONNX file / engine without sidecar."""
        from .registry import get_preset

        if self.kind in ("preset", "config"):
            config = get_preset(self.name) if self.kind == "preset" else ModelConfig.load(self.path or "")
            trained = self.trained_config()
            if trained is not None:  # the weights were trained at their own size and pre-processing
                config = dataclasses.replace(config, input_size=trained.input_size, preprocess=trained.preprocess)
            return config
        if self.kind == "official":
            return get_preset(OFFICIAL_PRESET)
        if self.sidecar is not None and self.sidecar.model is not None:
            return self.sidecar.model
        if self.kind == "safetensors":
            assert self.path is not None
            saved = saved_config(self.path)
            if saved is None:
                raise WeightsError("no model config for {}: expected {} or config metadata in the file".format(
                    self.path, sidecar_path(self.path)))
            return saved
        return None

    def trained_config(self) -> Optional[ModelConfig]:
        """The config saved with ``weights`` (a ``.safetensors`` written by edge-saliency), if any: a preset with
        such weights runs at the size and with the pre-processing they were trained with."""
        if not self.weights or not self.weights.endswith(".safetensors"):
            return None
        return saved_config(self.weights)

    @property
    def size_origin(self) -> str:
        """Where :attr:`input_size` comes from, for the line that says which size a command uses."""
        if self.kind == "onnx" and self.info.get("input_size"):
            return "the ONNX file's export size"
        if self.kind in ("preset", "config") and self.trained_config() is not None:
            return "saved with the weights {}".format(os.path.basename(self.weights or ""))
        if self.kind == "preset":
            return "the preset's"
        return "the model's config"

    @property
    def info(self) -> Dict[str, Any]:
        return dict(self.sidecar.info) if self.sidecar is not None else {}

    @property
    def precision(self) -> str:
        """The precision the weights really have: fp32 for PyTorch models; the ONNX file's recorded precision; for
        an ONNX Runtime artifact what its optimised weights are (CPU optimisation stores an fp16 file's weights as
        fp32), not the precision of the file it was built from."""
        if self.is_torch:
            return "fp32"
        info = self.info
        if self.kind == "onnxruntime":
            if info.get("weights_precision"):
                return str(info["weights_precision"])
            real = file_weights_precision(self.path)
            if real is not None:
                return real
        if info.get("precision") in ("fp32", "fp16", "int8"):
            return str(info["precision"])
        if self.kind == "onnx":
            return file_weights_precision(self.path) or "fp32"
        return "fp32"

    @property
    def input_size(self) -> Optional[Tuple[int, int]]:
        """(H, W) the model was made for: the ONNX export size, else its config's input size."""
        size = self.info.get("input_size") if self.kind == "onnx" else None
        if not size:
            config = self.config()
            size = config.input_size if config is not None else None
        return (int(size[0]), int(size[1])) if size else None

    @property
    def preprocess(self) -> Optional[str]:
        """The model's own pre-processing mode (:mod:`edge_saliency.maths.preprocess`); None when unknown."""
        config = self.config()
        return config.preprocess if config is not None else None

    @property
    def origin(self) -> Optional["ModelSource"]:
        """The PyTorch model an ONNX file / artifact / engine was exported from (its sidecar's ``source``)."""
        if self.is_torch:
            return self
        info = self.info
        record = info.get("source")
        if record is None:  # an artifact or engine: the source of the ONNX file it was built from
            record = ((info.get("onnx") or {}).get("export") or {}).get("source")
        return ModelSource.from_record(record) if record else None

    def inputs(self) -> List[str]:
        """Every file this source reads (for checking that no output overwrites one)."""
        files = [self.path, sidecar_path(self.path) if self.path else None, self.weights]
        files += list(self.backbone_weights.values()) + list((self.official or {}).values())
        return [f for f in files if f]

    def describe(self) -> str:
        """One line: ``lite.onnx (onnx, int8, 96x128, opencv-area)``."""
        size = self.input_size
        parts = [self.kind, self.precision] + (["{}x{}".format(*size)] if size else [])
        parts += [self.preprocess] if self.preprocess else []
        if self.weights:
            parts.append("weights " + os.path.basename(self.weights))
        return "{} ({})".format(self.name, ", ".join(parts))

    def checksums(self) -> Dict[str, Any]:
        """``{"model": {"file", "sha256"}, "weights": {"file", "sha256"} | None}`` of the files it is made of."""
        model = {"file": self.path, "sha256": file_sha256(self.path)} if self.path else (
            {"preset": self.name} if self.kind == "preset" else {"files": self.official})
        weights: Optional[Dict[str, Any]] = None
        if self.weights and self.kind != "safetensors":
            weights = {"file": self.weights, "sha256": self.weights_sha256 or file_sha256(self.weights)}
        elif self.official:
            weights = {"files": {k: {"file": v, "sha256": file_sha256(v)} for k, v in self.official.items()}}
        return {"model": model, "weights": weights}

    # -- the serialised form --------------------------------------------------------------------------
    def record(self) -> Dict[str, Any]:
        """The ``source`` record of the sidecars: everything :meth:`build` needs, with the weights' sha256 and the
        torch / timm versions when they are installed (random weights depend on them)."""
        if not self.is_torch:
            origin = self.origin
            if origin is None:
                raise UserError("{} does not record the PyTorch model it came from".format(self.name))
            return origin.record()
        weights_file = self.weights_file
        record: Dict[str, Any] = {
            "model": self.path if self.kind in ("safetensors", "config") else self.name,
            "weights": self.weights,
            "weights_sha256": self.weights_sha256 or (file_sha256(weights_file) if weights_file else None),
            "pretrained": bool(self.pretrained),
            "backbone_weights": dict(self.backbone_weights),
            "seed": int(self.seed),
            "trained": self.trained,
        }
        if self.official:
            record["official"] = dict(self.official)
            record["official_sha256"] = {k: file_sha256(v) for k, v in self.official.items()}
        for package in ("torch", "timm"):
            record[package] = package_version(package)
        return record

    # -- the PyTorch model ------------------------------------------------------------------------------
    def check_weights_unchanged(self) -> None:
        """The weights file still exists and has the sha256 recorded for it (a record read back from a sidecar)."""
        if not self.weights_sha256:
            return
        path = self.weights_file
        if not path or not os.path.isfile(path):
            raise WeightsError("the weights this model was exported from are gone: {}".format(path))
        if file_sha256(path) != self.weights_sha256:
            raise WeightsError("{} changed since the export (sha256 differs)".format(path))



def _abs(path: Optional[str]) -> Optional[str]:
    return os.path.abspath(path) if path else None

