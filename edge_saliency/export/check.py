"""Checking an exported ONNX file: its sidecar and metadata read back, the PyTorch model it came from rebuilt, and its
maps compared with that model's."""
import json
import logging
import os
from typing import Any, Dict, Optional, Tuple

import torch

from .._lazy import require
from ..config import ModelConfig
from ..errors import UserError
from ..files.sidecar import read_sidecar, sidecar_path
from ..maths.preprocess import mode_of
from ..models.saved import CONFIG_METADATA_KEY
from . import evaluate, graph
from .api import SOURCE_METADATA_KEY, _check_variant
from .frames import load_frames
from .origin import rebuild_model
from .progress import Step

log = logging.getLogger("edge_saliency")


def _describe(path: str) -> Tuple[Dict[str, Any], Optional[ModelConfig]]:
    """``info`` and config from the sidecar, else from the ONNX metadata."""
    sidecar = read_sidecar(path, required=False)
    if sidecar is not None:
        return sidecar.info, sidecar.model
    onnx = require("onnx", purpose="reading ONNX files")
    meta = graph.read_metadata(onnx.load(path, load_external_data=False))
    if CONFIG_METADATA_KEY not in meta or SOURCE_METADATA_KEY not in meta:
        raise UserError("{} has no sidecar ({}) and no edge-saliency metadata: it was not exported by "
                        "edge-saliency, so the model to compare with is unknown".format(path, sidecar_path(path)))
    config = ModelConfig.from_json(meta[CONFIG_METADATA_KEY])
    proto = onnx.load(path, load_external_data=False)
    spec = graph.io_spec(proto)
    dims = spec["inputs"][0]["shape"]
    dynamic = not all(isinstance(d, int) for d in dims)
    info = {"precision": meta.get(graph.METADATA_PREFIX + "precision", "fp32"),
            "source": json.loads(meta[SOURCE_METADATA_KEY]), "dynamic": dynamic,
            "input_size": list(config.input_size)}
    return info, config


def check_onnx(path: str, eval_frames: Optional[str] = None) -> Dict[str, Any]:
    """Re-run the parity check of an exported ONNX file against the PyTorch model it came from (rebuilt
    from the ``source`` its sidecar or metadata records). Raises :class:`ParityError` when it fails;
    returns the parity result with the accuracy row."""
    if not os.path.isfile(path):
        raise UserError("ONNX file not found: {}".format(path))
    info, config = _describe(path)
    precision = info.get("precision", "fp32")
    source = info.get("source")
    if not source:
        raise UserError("{} does not record the model it was exported from; re-export it".format(path))
    size = info.get("input_size") or [480, 640]
    if source.get("torch") and source["torch"] != torch.__version__ and not source.get("trained"):
        log.warning("%s was exported with torch %s (now %s): random weights may be drawn differently",
                    path, source["torch"], torch.__version__)
    inputs = evaluate.eval_inputs(size, mode_of(config), bool(info.get("dynamic")),
                                  load_frames(eval_frames) if eval_frames else None)
    with Step("rebuilding the PyTorch model"):
        net = rebuild_model(source)
    references, exact = evaluate.torch_outputs(net, inputs, exact=True)
    with open(path, "rb") as f:
        data = f.read()
    result = _check_variant(precision, data, inputs, references, exact,
                            precision == "fp32" or bool(source.get("trained")))
    result["precision"] = precision
    return result
