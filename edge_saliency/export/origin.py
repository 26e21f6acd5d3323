"""The PyTorch model an export comes from: its ``source`` record (what the sidecar keeps), and the model rebuilt from
that record."""
from typing import Any, Dict, Mapping

from ..errors import UserError
from ..models.build import build_model
from ..models.emlnet import EMLNet
from ..models.source import ModelSource


def source_record(source: ModelSource) -> Dict[str, Any]:
    """The ``source`` record (:meth:`ModelSource.record`): everything :func:`rebuild_model` needs, checked here,
    before any slow step. Only PyTorch models export: a preset, a config .json or a saved .safetensors."""
    if not source.is_torch:
        raise UserError("{} is a {} file; export takes the PyTorch model: a preset, a config .json or a saved "
                        ".safetensors{}".format(source.name, source.kind, _origin_hint(source)))
    return source.record()


def _origin_hint(source: ModelSource) -> str:
    origin = source.origin
    return " (it was exported from {})".format(origin.name) if origin is not None else ""


def rebuild_model(source: Mapping[str, Any]) -> EMLNet:
    """The PyTorch model a ``source`` record describes (random parts re-drawn from its seed; the weights checked
    against their recorded sha256)."""
    return build_model(ModelSource.from_record(source))
