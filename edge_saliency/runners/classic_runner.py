"""Classic saliency without weights: OpenCV-contrib's spectral residual (Hou & Zhang, CVPR 2007) or
fine-grained (Montabone & Soto) static saliency. Runs on any machine; no model file needed."""
from typing import Any, Tuple

import numpy as np

from .._lazy import require
from ..errors import MissingDependencyError, UserError
from ..maths.preprocess import LINEAR
from .base import Runner

METHODS = ("spectral-residual", "fine-grained")
DEFAULT_SIZE: Tuple[int, int] = (240, 320)


class ClassicRunner(Runner):
    """OpenCV's classic saliency (spectral residual or fine grained) behind the runner interface: no model, no
    weights."""
    backend = "classic"

    def __init__(self, method: str = "spectral-residual") -> None:
        if method not in METHODS:
            raise UserError("classic method must be one of {}, got {!r}".format(", ".join(METHODS), method))
        super().__init__(method)
        self.method = method
        self.input_shape = (-1, 3, -1, -1)
        self.preferred_size = DEFAULT_SIZE
        self.preprocess = LINEAR  # no model trained on any input: the fastest resize
        self._algorithm: Any = None

    def _activate(self) -> None:
        cv2 = require("cv2", purpose="the classic saliency backend")
        if not hasattr(cv2, "saliency"):
            raise MissingDependencyError(
                "the classic backend needs OpenCV's contrib modules (cv2.saliency): pip install "
                "opencv-contrib-python-headless (on Jetson: build OpenCV with contrib, or use a model)")
        if self.method == "spectral-residual":
            self._algorithm = cv2.saliency.StaticSaliencySpectralResidual_create()
        else:
            self._algorithm = cv2.saliency.StaticSaliencyFineGrained_create()

    def _infer(self, x: np.ndarray) -> np.ndarray:
        cv2 = require("cv2")
        maps = np.empty((x.shape[0], 1, x.shape[2], x.shape[3]), dtype=np.float32)
        for i in range(x.shape[0]):
            rgb = np.ascontiguousarray(x[i].transpose(1, 2, 0))
            image = cv2.cvtColor(np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_RGB2BGR)
            ok, saliency = self._algorithm.computeSaliency(image)
            if not ok:
                raise UserError("OpenCV {} saliency failed on a {}x{} image".format(self.method, *x.shape[2:]))
            saliency = np.asarray(saliency, dtype=np.float32)
            if saliency.max() > 1.0:  # fine-grained returns 0..255
                saliency = saliency / np.float32(255.0)
            maps[i, 0] = saliency
        return maps

    def describe(self) -> str:
        return "classic ({} saliency, OpenCV, no weights)".format(self.method)

    def _deactivate(self) -> None:
        self._algorithm = None
