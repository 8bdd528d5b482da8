"""What int8 quantization does to a float32 graph: which products it rewrites, which it
keeps in float32, and how to tell that the result multiplies in integers."""

from __future__ import annotations

import logging

from .synthetic import token_feed, token_ids

log = logging.getLogger("dfembed")

#: Op types that multiply integers, after quantization or ONNX Runtime's fusions of it.
INT8_OPS = frozenset(
    {"MatMulInteger", "DynamicQuantizeMatMul", "MatMulIntegerToFloat", "QAttention", "QGemm"}
)
_WEIGHT_PRODUCTS = ("MatMul", "Gemm")


def matrices(model, dtype: str) -> set[str]:
    """Names of the 2-D initializers of ``model`` of ONNX type ``dtype`` (``"FLOAT"``, ...)."""
    import onnx

    code = getattr(onnx.TensorProto, dtype)
    return {t.name for t in model.graph.initializer if t.data_type == code and len(t.dims) == 2}


def weight_products(model) -> list:
    """The MatMul and Gemm nodes of ``model`` that multiply by a float32 weight matrix."""
    weights = matrices(model, "FLOAT")
    return [
        node
        for node in model.graph.node
        if node.op_type in _WEIGHT_PRODUCTS and len(node.input) > 1 and node.input[1] in weights
    ]


def int8_op_counts(model) -> dict[str, int]:
    """How many nodes of each integer-product op type ``model`` has."""
    counts: dict[str, int] = {}
    for node in model.graph.node:
        if node.op_type in INT8_OPS:
            counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts


def gemms_to_matmuls(model) -> int:
    """Rewrite each ``Gemm`` by a weight matrix as ``MatMul`` (+ ``Add``), in place.

    Dynamic quantization only quantizes ``MatMul``; a ``Gemm`` (what older exporters write
    for a linear layer on 2-D inputs) would otherwise stay in float32. ``alpha``, ``beta``
    and ``transB`` are folded into the weights; a Gemm that transposes its input, or whose
    bias is computed, is left alone. Returns how many were rewritten.
    """
    from onnx import helper, numpy_helper

    inits = {t.name: t for t in model.graph.initializer}
    nodes, rewritten = [], 0
    for node in model.graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        bias = node.input[2] if len(node.input) > 2 and node.input[2] else None
        if (
            node.op_type != "Gemm"
            or attrs.get("transA", 0)
            or node.input[1] not in inits
            or (bias is not None and bias not in inits)
        ):
            nodes.append(node)
            continue
        weight = numpy_helper.to_array(inits[node.input[1]])
        weight = (weight.T if attrs.get("transB", 0) else weight) * attrs.get("alpha", 1.0)
        name = f"{node.input[1]}_as_matmul_{rewritten}"
        model.graph.initializer.append(numpy_helper.from_array(weight.astype("float32"), name))
        product = node.output[0] if bias is None else f"{node.output[0]}_matmul"
        nodes.append(helper.make_node("MatMul", [node.input[0], name], [product], node.name))
        if bias is not None:
            scaled = numpy_helper.to_array(inits[bias]) * attrs.get("beta", 1.0)
            model.graph.initializer.append(
                numpy_helper.from_array(scaled.astype("float32"), f"{name}_bias")
            )
            nodes.append(helper.make_node("Add", [product, f"{name}_bias"], [node.output[0]]))
        rewritten += 1
    if rewritten:
        del model.graph.node[:]
        model.graph.node.extend(nodes)
    return rewritten


def outlier_products(model, threshold: float) -> list[str]:
    """Names of the weight products whose input loses more than ``threshold`` (relative L2
    error) when quantized to uint8 per tensor, as dynamic quantization does, on a batch of
    random token ids. ``[]`` where the graph does not take token ids or cannot be run so."""
    import onnx
    import onnxruntime as ort

    products = weight_products(model)
    for i, node in enumerate(products):  # quantize_dynamic excludes nodes by name
        node.name = node.name or f"dfembed_product_{i}"
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    inputs = sorted({node.input[0] for node in products})
    known = {o.name for o in probe.graph.output}
    probe.graph.output.extend(
        onnx.helper.make_empty_tensor_value_info(x) for x in inputs if x not in known
    )
    try:
        so = ort.SessionOptions()
        so.log_severity_level = 3
        session = ort.InferenceSession(
            probe.SerializeToString(), so, providers=["CPUExecutionProvider"]
        )
        feed = token_feed(session.get_inputs(), token_ids(16, 32, _vocabulary(model)))
        values = dict(zip(inputs, session.run(inputs, feed), strict=True))
    except Exception as exc:  # Unmeasurable, over 2 GB, ORT's untyped errors: all quantized
        log.info("dfembed: quantizing every weight product (no outlier check: %s)", exc)
        return []
    return [n.name for n in products if _uint8_error(values[n.input[0]]) > threshold]


def _uint8_error(x) -> float:
    """Relative L2 error of ``x`` quantized to uint8 over its range (and 0), per tensor."""
    import numpy as np

    x = np.asarray(x, dtype=np.float64)
    low, high = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
    norm = float(np.linalg.norm(x))
    if high == low or norm == 0.0:
        return 0.0
    scale = (high - low) / 255
    zero = np.round(-low / scale)
    back = (np.clip(np.round(x / scale) + zero, 0, 255) - zero) * scale
    return float(np.linalg.norm(back - x)) / norm


def _vocabulary(model) -> int:
    """Rows of the embedding table that the ``input_ids`` input indexes (1,000 if none)."""
    tables = {t.name: t for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Gather" and node.input[0] in tables and "input_ids" in node.input[1]:
            return int(tables[node.input[0]].dims[0])
    return 1000
