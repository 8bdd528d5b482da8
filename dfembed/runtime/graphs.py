"""Facts about an ONNX graph that decide which rewrites (fp16, fusion) may apply to it."""

from __future__ import annotations

#: Operators of graphs that compute in int8: their float inputs must stay float32.
QUANTIZED_OPS = frozenset(
    {
        "DynamicQuantizeLinear",
        "QuantizeLinear",
        "DequantizeLinear",
        "MatMulInteger",
        "QLinearMatMul",
        "DynamicQuantizeMatMul",
        "MatMulIntegerToFloat",
        "MatMulNBits",
    }
)


def quantized_ops(model) -> list[str]:
    """The int8-compute operators ``model`` uses (empty for float graphs)."""
    return sorted({node.op_type for node in model.graph.node} & QUANTIZED_OPS)


def has_external_data(model) -> bool:
    """Whether weights live in separate files (models over protobuf's 2 GB limit)."""
    import onnx

    return any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer)


def has_float32_weights(model) -> bool:
    import onnx

    return any(t.data_type == onnx.TensorProto.FLOAT for t in model.graph.initializer)
