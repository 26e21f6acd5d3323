"""The selftest's two tiny ONNX graphs, serialised here without the ``onnx`` package (which only the ``[export]``
extra brings), so that ``selftest`` checks a base install with what a base install has.

x (1×2×5×7 float) → bilinear resize to 16×24 (half-pixel) → y, as ONNX ``Resize`` (opset 17) or as our
``BilinearUpsample_TRT`` plugin node. The bytes are the ModelProto protobuf encoding (field numbers from
onnx.proto); tests/prediction/test_selftest_graphs.py checks them against ``onnx.helper``'s model of the same
graph, field by field, and runs them.
"""
import struct
from typing import List, Sequence, Tuple

from ..plugins import upsample_op

IN_SHAPE = (1, 2, 5, 7)
OUT_HW = (16, 24)
IR_VERSION = 8  # what onnx 1.13+ writes for opset 17
_FLOAT, _INT64 = 1, 7  # TensorProto.DataType
_ATTR_FLOAT, _ATTR_INT, _ATTR_STRING = 1, 2, 3  # AttributeProto.AttributeType


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # int64 as protobuf writes it (two's complement)
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _int(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(value)


def _bytes(field: int, data: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def _str(field: int, text: str) -> bytes:
    return _bytes(field, text.encode("utf-8"))


def _float(field: int, value: float) -> bytes:
    return _varint(field << 3 | 5) + struct.pack("<f", value)


def _attribute(name: str, value: object) -> bytes:
    if isinstance(value, str):
        return _str(1, name) + _bytes(4, value.encode("utf-8")) + _int(20, _ATTR_STRING)
    if isinstance(value, float):
        return _str(1, name) + _float(2, value) + _int(20, _ATTR_FLOAT)
    return _str(1, name) + _int(3, int(value)) + _int(20, _ATTR_INT)  # type: ignore[call-overload]


def _value_info(name: str, shape: Sequence[int]) -> bytes:
    dims = b"".join(_bytes(1, _int(1, d)) for d in shape)
    tensor_type = _int(1, _FLOAT) + _bytes(2, dims)
    return _str(1, name) + _bytes(2, _bytes(1, tensor_type))


def _node(inputs: Sequence[str], outputs: Sequence[str], op_type: str, domain: str,
          attributes: Sequence[Tuple[str, object]]) -> bytes:
    data = b"".join(_str(1, i) for i in inputs) + b"".join(_str(2, o) for o in outputs) + _str(4, op_type)
    data += b"".join(_bytes(5, _attribute(n, v)) for n, v in sorted(attributes))  # as onnx.helper orders them
    return data + (_str(7, domain) if domain else b"")


def tiny_upsample_onnx(plugin: bool) -> bytes:
    """The serialised model: the native ``Resize`` graph, or the plugin-node graph."""
    out_shape = [IN_SHAPE[0], IN_SHAPE[1], *OUT_HW]
    initializers: List[bytes] = []
    if plugin:
        node = _node(["x"], ["y"], upsample_op.OP_TYPE, upsample_op.DOMAIN, [
            ("output_height", OUT_HW[0]), ("output_width", OUT_HW[1]), ("scale_height", 0.0),
            ("scale_width", 0.0), ("align_corners", 0), ("plugin_version", upsample_op.PLUGIN_VERSION),
            ("plugin_namespace", upsample_op.PLUGIN_NAMESPACE)])
        opsets = [("", 17), (upsample_op.DOMAIN, 1)]
    else:
        node = _node(["x", "", "", "sizes"], ["y"], "Resize", "", [
            ("coordinate_transformation_mode", "half_pixel"), ("mode", "linear")])
        packed = b"".join(_varint(v) for v in out_shape)
        initializers.append(_int(1, 4) + _int(2, _INT64) + _bytes(7, packed) + _str(8, "sizes"))
        opsets = [("", 17)]
    graph = _bytes(1, node) + _str(2, "selftest") + b"".join(_bytes(5, t) for t in initializers)
    graph += _bytes(11, _value_info("x", IN_SHAPE)) + _bytes(12, _value_info("y", out_shape))
    model = _int(1, IR_VERSION) + _bytes(7, graph)
    return model + b"".join(_bytes(8, _str(1, d) + _int(2, v)) for d, v in opsets)
