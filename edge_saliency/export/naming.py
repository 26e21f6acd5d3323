"""File names of an export (pure Python, no torch: the runtime and ``bench`` find the variants of an ONNX file)."""
from typing import Tuple


def variant_path(output: str, precision: str) -> str:
    """``lite.onnx`` → ``lite.onnx`` (fp32), ``lite-fp16.onnx``, ``lite-int8.onnx``."""
    stem = output[: -len(".onnx")]
    return output if precision == "fp32" else "{}-{}.onnx".format(stem, precision)


def report_paths(output: str) -> Tuple[str, str]:
    stem = output[: -len(".onnx")]
    return stem + ".accuracy.json", stem + ".accuracy.md"
