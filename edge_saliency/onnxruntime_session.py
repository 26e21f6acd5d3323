"""ONNX Runtime session options shared by every place that opens an ONNX file (runtime, parity checks,
the engine fallback): our BilinearUpsample_TRT reference op registered when the graph has plugin nodes."""
from typing import Any, Optional

from ._lazy import require


def session_options(custom_ops: bool = False, threads: Optional[int] = None) -> Any:
    """``onnxruntime.SessionOptions`` with the plugin-node reference op registered if ``custom_ops``."""
    ort = require("onnxruntime")
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    if custom_ops:
        from .plugins.ort_op import register_reference_op

        register_reference_op(options)
    return options
