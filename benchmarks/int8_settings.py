"""How ``precision="int8"`` quantizes: its settings against the alternatives, on this CPU.

Each variant is made by dfembed's own conversion (:func:`dfembed.runtime.quantize.int8_graph`
with other settings) from fp32 all-MiniLM-L6-v2, into a temporary folder. Reported:

- speed: every variant's session and the fp32 one in one process, one pass each per round
  over real batches (dfembed's: sorted, 1,024-token budget) of Rotten Tomatoes snippets and
  stdlib docstrings, in an order rotated round by round; fp32 seconds ÷ the variant's,
  median over rounds;
- agreement: cosine of each variant's mean-pooled vectors with fp32's on the same texts;
- saturation: a random 64 -> 32 linear layer (a ``Gemm``, rewritten to ``MatMul``) on
  random inputs, largest error as a share of the output's range. x86 CPUs without VNNI or
  AMX add pairs of 8-bit products in 16 bits, which full-range int8 weights can overflow.

Run::

    .venv/bin/python -m benchmarks.int8_settings            # 8 rounds, ~10 minutes
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from . import common

#: name -> settings passed to int8_graph (``None``: the fp32 graph itself), and whether the
#: fused graph is quantized instead of the model's own.
VARIANTS: dict[str, tuple[dict | None, bool]] = {
    "fp32": (None, False),
    "int8 (dfembed)": ({}, False),
    "full-range int8 weights": ({"reduce_range": False}, False),
    "uint8 weights": ({"weight_type": "QUInt8", "reduce_range": False}, False),
    "per-tensor scales": ({"per_channel": False}, False),
    "attention products too": ({"MatMulConstBOnly": False}, False),
    "embedding table too": ({"op_types": ["MatMul", "Gather"]}, False),
    "fused graph (QAttention)": ({"op_types": ["MatMul", "Attention"]}, True),
}


def _session(path, threads: int):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def _batches(texts: list[str], tokenizer_json: Path) -> list[tuple[dict, np.ndarray]]:
    """Feeds and positions of dfembed's batches: sorted, at most 1,024 padded tokens."""
    from tokenizers import Tokenizer

    from dfembed.runtime.batching import plan_batches

    tok = Tokenizer.from_file(str(tokenizer_json))
    tok.no_padding()
    tok.enable_truncation(256)
    enc = tok.encode_batch(texts)
    lengths = np.array([len(e.ids) for e in enc])
    out = []
    for pos in plan_batches(lengths, 1024, None):
        ids = np.zeros((len(pos), lengths[pos].max()), np.int64)
        for row, i in enumerate(pos):
            ids[row, : lengths[i]] = enc[i].ids
        mask = (ids > 0).astype(np.int64)
        out.append(({"input_ids": ids, "attention_mask": mask, "token_type_ids": 0 * ids}, pos))
    return out


def _vectors(session, batches, n: int) -> np.ndarray:
    out = np.zeros((n, 384), np.float32)
    for feed, pos in batches:
        hidden = session.run(None, feed)[0]
        mask = feed["attention_mask"][..., None]
        out[pos] = (hidden * mask).sum(1) / mask.sum(1)
    return out


def saturation(settings: dict) -> float:
    """Largest error of a quantized random linear layer, as a share of its output's range."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from dfembed.runtime import quantize

    rng = np.random.default_rng(0)
    w = rng.normal(size=(32, 64)).astype(np.float32)
    node = helper.make_node("Gemm", ["x", "w"], ["y"], transB=1)
    graph = helper.make_graph(
        [node],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 32])],
        [numpy_helper.from_array(w, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "linear.onnx"
        onnx.save(model, str(path))
        made = quantize.int8_graph(path, settings)
        x = rng.normal(size=(256, 64)).astype(np.float32)
        got = _session(made, 1).run(None, {"x": x})[0]
    want = x @ w.T
    return float(np.abs(got - want).max() / np.abs(want).max())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.int8_settings")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--texts", type=int, default=300, help="snippets (docstrings: half)")
    args = parser.parse_args(argv)
    common.set_thread_env(args.threads)
    os.environ["DFEMBED_FUSED_DIR"] = tempfile.mkdtemp(prefix="dfembed-int8-settings-")
    from dfembed.runtime import quantize
    from dfembed.runtime.fusion import fused_graph
    from tools.datasets import rotten_tomatoes, stdlib_docstrings
    from tools.offline_models import build

    folder = build("minilm-fp32")
    source = folder / "model.onnx"
    fused = fused_graph(source, folder / "config.json")
    print(common.header("int8 settings on this CPU: all-MiniLM-L6-v2, 2 threads"))
    print(f"dfembed's settings here: {quantize.resolve_settings()}\n")
    paths, made_s = {}, {}
    for name, (settings, on_fused) in VARIANTS.items():
        started = time.perf_counter()
        paths[name] = (
            source
            if settings is None
            else quantize.int8_graph(fused if on_fused else source, settings)
        )
        made_s[name] = time.perf_counter() - started
    sessions = {name: _session(path, args.threads) for name, path in paths.items()}
    corpora = {
        "rotten-tomatoes": rotten_tomatoes()["text"].drop_duplicates().tolist()[: args.texts],
        "docstrings": stdlib_docstrings()["text"].tolist()[: args.texts // 2],
    }
    speed: dict[str, dict[str, float]] = {name: {} for name in VARIANTS}
    cos_min: dict[str, float] = {}
    cos_mean: dict[str, float] = {}
    every = {name: [] for name in VARIANTS}
    for corpus, texts in corpora.items():
        batches = _batches(texts, folder / "tokenizer.json")
        vectors = {n: _vectors(s, batches, len(texts)) for n, s in sessions.items()}  # warm-up
        for name, v in vectors.items():
            every[name].append(common.cosines(vectors["fp32"], v))
        seconds: dict[str, list[float]] = {name: [] for name in VARIANTS}
        names = list(VARIANTS)
        for r in range(args.rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                started = time.perf_counter()
                for feed, _ in batches:
                    sessions[name].run(None, feed)
                seconds[name].append(time.perf_counter() - started)
        base = np.array(seconds["fp32"])
        for name in VARIANTS:
            speed[name][corpus] = float(np.median(base / np.array(seconds[name])))
        print(f"  {corpus}: {args.rounds} rounds, load average {os.getloadavg()[0]:.1f}")
    for name in VARIANTS:
        cos = np.concatenate(every[name])
        cos_min[name], cos_mean[name] = float(cos.min()), float(cos.mean())
    rows = []
    for name, (settings, _) in VARIANTS.items():
        sat = saturation(settings) if settings is not None else 0.0
        mb = paths[name].stat().st_size / 2**20
        rows.append([name, speed[name]["rotten-tomatoes"], speed[name]["docstrings"],
                     cos_min[name], cos_mean[name], 100 * sat, mb, made_s[name]])  # fmt: skip
    print(
        f"\n{len(corpora['rotten-tomatoes'])} snippets + {len(corpora['docstrings'])} "
        "docstrings; × = fp32 seconds ÷ the variant's (median over rounds); cos vs fp32 "
        "over both; saturation: largest error of a random 64->32 layer, % of its output "
        "range\n"
    )
    headers = ["variant", "snippets ×", "docstrings ×", "min cos", "mean cos"]
    headers += ["saturation %", "MB", "made in s"]
    print(common.table(headers, rows, [0, 2, 2, 4, 5, 1, 0, 1]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
