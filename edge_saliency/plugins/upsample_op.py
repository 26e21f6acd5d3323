"""The ``BilinearUpsample_TRT`` ONNX node: the one contract between the exporter, the ONNX Runtime reference
op and the CUDA / TensorRT plugin.

Node: op_type ``BilinearUpsample_TRT``, domain ``ai.onnx.contrib`` (ONNX Runtime extensions run it on the
CPU; TensorRT's parser ignores the domain and maps the node to the plugin by op_type). One input X,
N×C×H×W float32 or float16; one output Y, N×C×H'×W', same dtype.

Attributes (every one is a field the plugin creator lists in getFieldNames()):

- ``output_height``, ``output_width`` (int): the output size when both are > 0 (static export);
- ``scale_height``, ``scale_width`` (float): used when the output size is 0 (dynamic export):
  H' = floor(H × scale_height), W' likewise; source coordinates use 1 / scale, as
  ``torch.nn.functional.interpolate(scale_factor=..., recompute_scale_factor=False)`` does. For the integer
  strides of EML-Net (2, 4, 8, 16, 32) this equals the size-based result exactly;
- ``align_corners`` (int 0 / 1);
- ``plugin_version`` "1", ``plugin_namespace`` "" (strings the TensorRT ONNX parser reads).

Numerics: those of ``torch.nn.functional.interpolate(mode="bilinear")`` (fp16 computed in fp32).
"""
import math
from typing import Sequence, Tuple

from ..maths.resampling import bilinear_resize  # the node's numerics (numpy reference)

OP_TYPE = "BilinearUpsample_TRT"
DOMAIN = "ai.onnx.contrib"
PLUGIN_VERSION = "1"
PLUGIN_NAMESPACE = ""
INT_ATTRIBUTES = ("output_height", "output_width", "align_corners")
FLOAT_ATTRIBUTES = ("scale_height", "scale_width")
STRING_ATTRIBUTES = ("plugin_version", "plugin_namespace")


def output_size(
    input_hw: Sequence[int], output_hw: Sequence[int] = (0, 0), scales: Sequence[float] = (0.0, 0.0)
) -> Tuple[int, int]:
    """(H', W') from the attributes, as the plugin's getOutputShapes computes it."""
    if output_hw[0] > 0 and output_hw[1] > 0:
        return int(output_hw[0]), int(output_hw[1])
    if scales[0] <= 0 or scales[1] <= 0:
        raise ValueError("BilinearUpsample_TRT needs output_height/output_width > 0 or positive scales")
    return int(math.floor(input_hw[0] * scales[0])), int(math.floor(input_hw[1] * scales[1]))


__all__ = ["DOMAIN", "FLOAT_ATTRIBUTES", "INT_ATTRIBUTES", "OP_TYPE", "PLUGIN_NAMESPACE", "PLUGIN_VERSION",
           "STRING_ATTRIBUTES", "bilinear_resize", "output_size"]
