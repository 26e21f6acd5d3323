"""Building the PyTorch EML-Net a :class:`~edge_saliency.models.source.ModelSource` names, with its weights.

Apart from the source so that parsing a model string never reaches the modules that import torch."""
import dataclasses
from typing import Any, Optional, Tuple

from .._lazy import require
from ..config import check_input_size
from ..errors import UserError
from ..files.hashing import file_sha256
from .source import OFFICIAL_FILES, ModelSource


def build_model(source: ModelSource, input_size: Optional[Tuple[int, int]] = None) -> Any:
    """The PyTorch EML-Net (eval mode) of ``source`` with its weights; random parts drawn from its ``seed``.
    ``input_size`` replaces the config's nominal input size. Records the weights' sha256 in
    ``source.weights_sha256``. An ONNX file or engine builds the PyTorch model it records as its origin."""
    if not source.is_torch:
        origin = source.origin
        if origin is None:
            raise UserError("{} is a {} file that does not record the PyTorch model it came from".format(
                source.name, source.kind))
        return build_model(origin, input_size)
    # torch first, for the error naming the extra; the modules below import it
    torch = require("torch", extra="export", purpose="PyTorch models")
    source.check_weights_unchanged()
    torch.manual_seed(int(source.seed))
    if source.kind == "official":
        from .official import load_official_emlnet

        assert source.official is not None
        model = load_official_emlnet(*(source.official[k] for k in OFFICIAL_FILES))
    elif source.kind == "safetensors":
        from .weights import load_model

        assert source.path is not None
        model = load_model(source.path)
    else:
        from .factory import create_model

        config = source.config()
        assert config is not None
        model = create_model(config, pretrained=source.pretrained,
                             backbone_weights=source.backbone_weights or None, weights=source.weights)
    if source.weights_file and not source.weights_sha256:
        source.weights_sha256 = file_sha256(source.weights_file)
    if input_size is not None:
        model.config = dataclasses.replace(model.config, input_size=check_input_size(input_size))
    return model.eval()
