"""``minilm-dynq8``: all-MiniLM-L6-v2 dynamically quantized to int8 compute.

The folder is built by ``tools.offline_models`` from ``minilm-fp32`` with onnxruntime's
``quantize_dynamic`` (a no-op when it is already built). These tests load it through dfembed
like any local folder and check that it really multiplies in int8 (integer MatMul nodes, no
float product by a weight left, also after ONNX Runtime's own graph optimizations) and that
it agrees with the fp32 export on 200 real texts: per row, and in its nearest neighbours.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import dfembed
from tools.offline_models import INT8_COMPUTE_OPS

onnx = pytest.importorskip(
    "onnx",
    reason="minilm-dynq8 is built with onnxruntime.quantization, which needs the onnx package "
    "(dfembed's test extras: pip install -e '.[test]')",
)

#: Op types that multiply integers; a file that stores int8 weights but casts them back to
#: float32 before a float MatMul (like ``minilm-int8``) has none of them.
INT8_OPS = set(INT8_COMPUTE_OPS)
FLOAT_PRODUCTS = {"MatMul", "Gemm", "FusedMatMul", "Attention"}
TEXTS_PER_CORPUS = 100


@pytest.fixture(scope="module")
def minilm_dynq8(minilm_fp32: str) -> str:
    """The dynamically quantized folder (built after ``minilm-fp32``, which it is made from)."""
    from tools.offline_models import build

    return str(build("minilm-dynq8"))


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """200 real texts, seeded: Rotten Tomatoes snippets (short) and stdlib docstrings (long)."""
    from tools.datasets import rotten_tomatoes, stdlib_docstrings

    rng = np.random.default_rng(7)
    out = []
    for frame in (rotten_tomatoes(), stdlib_docstrings()):
        pool = frame["text"].drop_duplicates().tolist()
        out += [pool[i] for i in rng.choice(len(pool), TEXTS_PER_CORPUS, replace=False)]
    return out


@pytest.fixture(scope="module")
def vectors(minilm_fp32: str, minilm_dynq8: str, texts: list[str]) -> dict[str, np.ndarray]:
    """Both models' vectors for :func:`texts`, through ``df.embed.text``."""
    frame = pd.DataFrame({"col": texts})
    return {
        name: dfembed.to_numpy(frame.embed.text("col", model=folder))
        for name, folder in (("fp32", minilm_fp32), ("int8", minilm_dynq8))
    }


def _constant_float_products(graph: Any) -> list[str]:
    """Float products (MatMul, Gemm, ...) with an operand computed from initializers only.

    Such an operand is a weight, whether stored as float32 or as int8 and dequantized in
    the graph (Cast/Mul/DequantizeLinear of an initializer): a float MatMul by it means the
    weights are multiplied in float32.
    """
    constant = {init.name for init in graph.initializer}
    found = []
    for node in graph.node:
        inputs = [name for name in node.input if name]
        if node.op_type == "Constant" or (inputs and all(name in constant for name in inputs)):
            constant.update(node.output)
        elif node.op_type in FLOAT_PRODUCTS and any(name in constant for name in inputs):
            found.append(node.name or node.op_type)
    return found


def _count(graph: Any, ops: set[str]) -> int:
    return sum(node.op_type in ops for node in graph.node)


def _optimized_graph(folder: str, tmp_path: Path) -> Any:
    """The graph ONNX Runtime actually runs (all optimizations, as dfembed loads it)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.optimized_model_filepath = str(tmp_path / "optimized.onnx")
    so.log_severity_level = 3  # it warns that such a file is specific to this machine
    ort.InferenceSession(f"{folder}/model.onnx", so, providers=["CPUExecutionProvider"])
    return onnx.load(so.optimized_model_filepath).graph


def test_graph_multiplies_in_int8(minilm_dynq8: str, tmp_path: Path) -> None:
    layers = json.loads(Path(minilm_dynq8, "config.json").read_text())["num_hidden_layers"]
    stored = onnx.load(f"{minilm_dynq8}/model.onnx").graph
    for where, graph in (("file", stored), ("optimized", _optimized_graph(minilm_dynq8, tmp_path))):
        # at least the attention output and both FFN products of every layer
        assert _count(graph, INT8_OPS) >= 3 * layers, (where, _count(graph, INT8_OPS))
        assert _constant_float_products(graph) == [], where
    eight_bit = (onnx.TensorProto.INT8, onnx.TensorProto.UINT8)
    int8_weights = [i for i in stored.initializer if i.data_type in eight_bit]
    assert len(int8_weights) >= 3 * layers


def test_weight_only_int8_is_not_int8_compute(minilm_int8: str) -> None:
    """The check above fails on ``minilm-int8`` (int8 storage, float32 MatMuls)."""
    graph = onnx.load(f"{minilm_int8}/model.onnx").graph
    assert _count(graph, INT8_OPS) == 0
    assert len(_constant_float_products(graph)) >= 36


def test_descriptor_says_how_it_was_made(minilm_fp32: str, minilm_dynq8: str) -> None:
    fp32 = json.loads(Path(minilm_fp32, "dfembed.json").read_text())
    int8 = json.loads(Path(minilm_dynq8, "dfembed.json").read_text())
    for key in ("kind", "output_name", "dim", "pooling", "normalize", "max_length", "input_names"):
        assert int8[key] == fp32[key], key
    assert (int8["kind"], int8["pooling"], int8["dim"], int8["max_length"]) == (
        "text",
        "mean",
        384,
        256,
    )
    assert int8["normalize"] is True
    assert int8["derived_from"] == "minilm-fp32"
    q = int8["quantization"]
    assert q["tool"] == "onnxruntime.quantization.quantize_dynamic"
    assert q["settings"]["weight_type"] == "QInt8"
    assert isinstance(q["settings"]["per_channel"], bool)
    assert q["onnxruntime"] and q["int8_ops"]
    for name in ("tokenizer.json", "vocab.txt", "config.json"):
        assert Path(minilm_dynq8, name).read_bytes() == Path(minilm_fp32, name).read_bytes()


@pytest.mark.slow
def test_agrees_with_fp32_per_row(vectors: dict[str, np.ndarray], texts: list[str]) -> None:
    fp32, int8 = vectors["fp32"], vectors["int8"]
    assert int8.shape == fp32.shape == (len(texts), 384)
    np.testing.assert_allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-4)
    cos = np.einsum("ij,ij->i", fp32, int8)
    worst = int(cos.argmin())
    assert cos.min() >= 0.95, f"cos {cos.min():.4f} for {texts[worst][:80]!r}"
    assert cos.mean() >= 0.98, cos.mean()


def _neighbours(v: np.ndarray, k: int) -> np.ndarray:
    sims = v @ v.T
    np.fill_diagonal(sims, -np.inf)
    return np.argsort(-sims, axis=1, kind="stable")[:, :k]


@pytest.mark.slow
def test_nearest_neighbours_agree(vectors: dict[str, np.ndarray]) -> None:
    fp32, int8 = vectors["fp32"], vectors["int8"]
    a, b = _neighbours(fp32, 10), _neighbours(int8, 10)
    overlap = np.mean([len(set(x) & set(y)) / 10 for x, y in zip(a, b, strict=True)])
    top1_in_top5 = np.mean([x[0] in y[:5] for x, y in zip(a, b, strict=True)])
    assert overlap >= 0.8, overlap
    assert top1_in_top5 >= 0.95, top1_in_top5
    # the ranking of all pairwise similarities (Spearman: Pearson of the ranks)
    upper = np.triu_indices(len(fp32), 1)
    ranks = [np.argsort(np.argsort((v @ v.T)[upper])) for v in (fp32, int8)]
    assert np.corrcoef(*ranks)[0, 1] >= 0.98
