"""What int8 quantization does to a float32 graph: :mod:`dfembed.runtime.int8_plan`.

Small hand-made graphs; ``tests/runtime/test_quantize.py`` quantizes real models with them.
"""

from __future__ import annotations

import numpy as np
import pytest

from dfembed.runtime import int8_plan

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

RNG = np.random.default_rng(0)


def _model(nodes, initializers, outputs=("y",)):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", 3])
    ys = [helper.make_tensor_value_info(y, TensorProto.FLOAT, None) for y in outputs]
    inits = [numpy_helper.from_array(v.astype(np.float32), k) for k, v in initializers.items()]
    graph = helper.make_graph(nodes, "g", [x], ys, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    return model


def _run(model, x):
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def test_weight_products_are_products_by_a_float_matrix_only():
    model = _model(
        [
            helper.make_node("MatMul", ["x", "w"], ["h"], name="by_weight"),
            helper.make_node("MatMul", ["h", "h_t"], ["y"], name="two_activations"),
            helper.make_node("Transpose", ["h"], ["h_t"]),
            helper.make_node("Gemm", ["x", "w"], ["g"], name="gemm"),
        ],
        {"w": RNG.normal(size=(3, 3)), "bias": np.ones(3)},
    )
    assert int8_plan.matrices(model, "FLOAT") == {"w"}  # 1-D tensors are not matrices
    assert [n.name for n in int8_plan.weight_products(model)] == ["by_weight", "gemm"]


def test_a_gemm_by_a_weight_becomes_matmul_plus_add_with_the_same_output():
    w, bias = RNG.normal(size=(4, 3)), RNG.normal(size=4)
    gemm = helper.make_node("Gemm", ["x", "w", "b"], ["y"], alpha=0.5, beta=2.0, transB=1)
    model = _model([gemm], {"w": w, "b": bias})
    x = RNG.normal(size=(2, 3)).astype(np.float32)
    before = _run(model, x)
    assert int8_plan.gemms_to_matmuls(model) == 1
    assert [n.op_type for n in model.graph.node] == ["MatMul", "Add"]
    np.testing.assert_allclose(_run(model, x), before, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(before, x @ (w.T * 0.5) + 2.0 * bias, rtol=1e-5, atol=1e-6)


def test_a_gemm_that_transposes_its_input_is_left_alone():
    gemm = helper.make_node("Gemm", ["x", "w"], ["y"], transA=1)
    model = _model([gemm], {"w": RNG.normal(size=(3, 3))})
    assert int8_plan.gemms_to_matmuls(model) == 0
    assert [n.op_type for n in model.graph.node] == ["Gemm"]


def test_int8_op_counts_count_integer_products_only():
    model = _model(
        [
            helper.make_node("MatMulInteger", ["a", "b"], ["c"]),
            helper.make_node("MatMulInteger", ["c", "b"], ["d"]),
            helper.make_node("DynamicQuantizeMatMul", ["x", "b", "s"], ["y"]),
            helper.make_node("MatMul", ["x", "w"], ["z"]),
        ],
        {},
    )
    assert int8_plan.int8_op_counts(model) == {"MatMulInteger": 2, "DynamicQuantizeMatMul": 1}


def test_uint8_error_grows_with_an_outlier_that_stretches_the_range():
    spread = np.random.default_rng(1).normal(size=(64, 32))
    outlier = spread.copy()
    outlier[3, 5] = 1000.0  # one value far outside the others: 8 bits over its whole range
    assert int8_plan._uint8_error(spread) < 0.01
    assert int8_plan._uint8_error(outlier) > 4 * int8_plan._uint8_error(spread)
    assert int8_plan._uint8_error(np.zeros(5)) == 0.0
