"""Lazy imports of heavy optional packages (after Polygraphy's mod/importer).

``import edge_saliency`` imports numpy only. Everything else is imported at the point of use through
:func:`require`, so a missing package becomes one line that names the pip extra to install.
"""
import importlib
from types import ModuleType
from typing import Dict, Optional

from .errors import MissingDependencyError

# top-level module -> the pip extra that installs it ("": the base install)
_EXTRAS: Dict[str, str] = {
    "torch": "export",
    "torchvision": "export",
    "timm": "export",
    "onnx": "export",
    "onnxsim": "export",
    "onnxconverter_common": "export",
    "onnxruntime_extensions": "export",
    "safetensors": "export",
    "scipy": "train",
    "skimage": "export",  # scikit-image: real photos (parity checks, sample clip)
    "matplotlib": "bench",  # the PNG plot of `edge-saliency bench`
    "tensorrt": "tensorrt",
    "cuda": "tensorrt",
    "onnxruntime": "",  # part of the base install
    "cv2": "",  # part of the base install
    "tqdm": "",  # part of the base install (progress bars)
}
# packages that modes of the base install may need, installed by their own pip name (torchvision, in the
# export extra, brings them too)
_OWN_PACKAGES: Dict[str, str] = {
    "PIL": "Pillow",  # the pillow-bilinear pre-processing (the official EML-Net input)
}


def install_hint(module: str, extra: Optional[str] = None) -> str:
    top = module.split(".")[0]
    if extra is None and top in _OWN_PACKAGES:
        return "pip install {}".format(_OWN_PACKAGES[top])
    extra = _EXTRAS.get(top, "") if extra is None else extra
    if extra:
        return 'pip install "edge-saliency[{}]"'.format(extra)
    return "pip install edge-saliency (it is part of the base install)"


def require(module: str, extra: Optional[str] = None, purpose: str = "") -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming the extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        what = " for {}".format(purpose) if purpose else ""
        raise MissingDependencyError(
            "edge-saliency needs the Python package '{}'{} ({}); install it with: {}".format(
                module.split(".")[0], what, exc, install_hint(module, extra)
            )
        ) from exc
