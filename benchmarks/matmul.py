"""The machine's measured float32 matmul rate (GFLOP/s) with numpy, ONNX Runtime and torch.

This is the yardstick of "how close to the machine's limit": a transformer encoder is
almost all matmuls, so FLOPs of real tokens per second divided by this rate says how much
of the CPU an embedding run actually used. Each function runs in a child process (see
:func:`benchmarks.common.run_in_child`) whose thread pools were sized by the parent.

Shapes: ``ffn`` is MiniLM's feed-forward matmul on a 4,096-token batch
(4096x384 @ 384x1536), ``square`` a 2048^3 product. The best of three ~0.5 s repetitions is
kept (a peak rate, as the target asks).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

SHAPES = {"ffn": (4096, 384, 1536), "square": (2048, 2048, 2048)}


def _rate(step: Callable[[], object], flops: float, seconds: float = 0.5, reps: int = 3) -> float:
    """Best GFLOP/s of ``step`` over ``reps`` repetitions of at least ``seconds`` each."""
    step()
    best = 0.0
    for _ in range(reps):
        calls, started = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - started) < seconds:
            step()
            calls += 1
        best = max(best, flops * calls / elapsed / 1e9)
    return best


def _operands(m: int, k: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    return a, b


def numpy_rate(threads: int) -> dict[str, float]:
    """numpy (its BLAS) GFLOP/s per shape; ``threads`` is set through the environment."""
    rates = {}
    for name, (m, k, n) in SHAPES.items():
        a, b = _operands(m, k, n)
        rates[name] = _rate(lambda a=a, b=b: a @ b, 2.0 * m * k * n)
    return {"threads": threads, **rates}


def ort_rate(threads: int) -> dict[str, float]:
    """ONNX Runtime MatMul GFLOP/s per shape: a one-node graph, weights as an initializer."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rates = {}
    for name, (m, k, n) in SHAPES.items():
        a, b = _operands(m, k, n)
        graph = helper.make_graph(
            [helper.make_node("MatMul", ["A", "B"], ["Y"])],
            "matmul",
            [helper.make_tensor_value_info("A", TensorProto.FLOAT, [m, k])],
            [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [m, n])],
            [numpy_helper.from_array(b, "B")],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sess = ort.InferenceSession(
            model.SerializeToString(), sess_options=so, providers=["CPUExecutionProvider"]
        )
        rates[name] = _rate(lambda s=sess, a=a: s.run(None, {"A": a}), 2.0 * m * k * n)
    return {"threads": threads, **rates}


def torch_rate(threads: int) -> dict[str, float]:
    """torch (CPU) GFLOP/s per shape with ``torch.set_num_threads(threads)``."""
    import torch

    torch.set_num_threads(threads)
    rates = {}
    with torch.inference_mode():
        for name, (m, k, n) in SHAPES.items():
            a, b = (torch.from_numpy(x) for x in _operands(m, k, n))
            rates[name] = _rate(lambda a=a, b=b: torch.mm(a, b), 2.0 * m * k * n)
    return {"threads": threads, **rates}


def best(result: dict[str, float]) -> float:
    """The best rate over the measured shapes."""
    return max(v for k, v in result.items() if k in SHAPES)
