"""int8 compute for any float32 graph: dynamic quantization when a worker loads it.

``session_options={"precision": "int8"}`` runs a model's products by weight matrices in
8-bit integers: ONNX Runtime's ``quantize_dynamic`` stores each weight matrix as int8 with
one scale per output channel, and each batch's activations are quantized to uint8 as it
runs (``DynamicQuantizeMatMul``: VNNI/AMX dot products where the CPU has them, AVX2 pairs
of multiply-adds where it does not). No calibration data is needed, so this works for any
graph whose weight products are ``MatMul`` (or ``Gemm``, rewritten to ``MatMul`` first).
Products whose inputs carry outlier features, which 8 bits per tensor cannot hold, stay
float32: found by running the graph once on random token ids (:mod:`.int8_plan`).

Quantizing takes seconds, so the result is written once per model file into the
rewritten-graph folder (:func:`~.graph_store.store_dir`), named by the source's SHA-256 (and
its external weight files'), the ONNX Runtime version and the settings below, and loaded as
is afterwards; a damaged copy is made again. Graphs that would not compute in int8 are
refused with :class:`~dfembed.errors.ModelLoadError`: already quantized ones, float16 ones,
and ones with no product by a weight matrix.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from ..errors import ModelLoadError
from ..models.onnx_graph import external_data_files, read_graph
from ..models.verify import content_sha256
from .cpu import int8_dot_products, is_x86
from .graph_store import short_hash, store_dir, writable
from .graphs import load_external_weights, quantized_ops, rewrite_tools_missing
from .int8_plan import (
    gemms_to_matmuls,
    int8_op_counts,
    matrices,
    outlier_products,
    weight_products,
)

log = logging.getLogger("dfembed")

#: How graphs are quantized; each choice was measured against its alternatives
#: (``benchmarks/int8.py``; the figures: benchmarks/README.md, "Measurements behind
#: defaults in the code"): int8 weights per output channel (per tensor loses too much
#: agreement with fp32); signed weights (QInt8: unsigned ran slower); the unfused graph
#: (quantizing the fused one was no faster); the embedding table (``Gather``) kept float32
#: (closer to fp32). ``reduce_range="auto"``: 7-bit weights on x86 CPUs without an int8 dot
#: product (VNNI, AMX), whose AVX2 multiply-adds sum two 8-bit products in 16 bits and
#: saturate on full-range weights; as fast, and as close to fp32.
#: ``skip_above``: a product whose input loses more than this share (relative L2 error) when
#: quantized to 8 bits on a synthetic batch stays float32: some models have outlier
#: features (all-mpnet-base-v2's FFN output projections) that 8 bits cannot hold, and the
#: threshold keeps those in float32 while quantizing every product of all-MiniLM-L6-v2.
SETTINGS: dict = {
    "weight_type": "QInt8",
    "per_channel": True,
    "reduce_range": "auto",
    "op_types": ["MatMul"],
    "MatMulConstBOnly": True,
    "skip_above": 0.12,
}


def int8_graph(path: Path, settings: dict | None = None) -> Path | bytes:
    """The int8 copy of the float32 graph at ``path``: its file, made on first use.

    Where the folder cannot be written, the graph is quantized again on every load and
    its bytes are returned instead. ``settings`` override :data:`SETTINGS` (for the
    offline model builder and measurements).

    Raises
    ------
    ModelLoadError
        ``onnx`` is missing, the graph cannot be read, it is already quantized or float16,
        or it has no product by a weight matrix to quantize.
    """
    settings = resolve_settings(settings)
    target = store_dir() / f"{_source_key(path)}-{_ort_version()}-{_recipe(settings)}.onnx"
    if target.is_file():
        return target
    keep = writable(target.parent, "int8 graphs are quantized again on every load")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=target.parent if keep else None) as tmp:
        made = Path(tmp) / "int8.onnx"
        quantize(path, made, settings)
        if not keep:
            return made.read_bytes()
        os.replace(made, target)  # whole, or not at all: other workers may be loading
    log.info(
        "dfembed: quantized %s to int8 in %.1f s (%s)", path, time.perf_counter() - started, target
    )
    return target


def quantize(path: Path, out: Path, settings: dict | None = None) -> dict[str, int]:
    """Quantize the float32 graph at ``path`` into the file ``out``; its int8 op counts, and
    how many weight products were kept in float32 (``"float32 products"``).

    The one conversion path: dfembed's ``precision="int8"`` and the offline model builder
    (``tools/offline_models.py``) both call it.

    Raises
    ------
    ModelLoadError
        As :func:`int8_graph`.
    """
    settings = resolve_settings(settings)
    try:
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:
        raise rewrite_tools_missing("int8", exc) from exc
    model = read_graph(path)  # weights later: the refusals below need only the graph
    check_quantizable(model, path)
    load_external_weights(model, path.parent)
    gemms_to_matmuls(model)
    kept = outlier_products(model, settings["skip_above"])
    options = {"MatMulConstBOnly": settings["MatMulConstBOnly"]}
    options["DefaultTensorType"] = onnx.TensorProto.FLOAT  # for outputs of fused ops
    try:
        with _quiet_quantizer():
            quantize_dynamic(
                model,
                out,
                op_types_to_quantize=list(settings["op_types"]),
                per_channel=settings["per_channel"],
                reduce_range=settings["reduce_range"],
                weight_type=QuantType[settings["weight_type"]],
                nodes_to_exclude=kept,
                extra_options=options,
            )
    except Exception as exc:  # the quantizer's failures are untyped
        raise ModelLoadError(
            f"Could not quantize {path} to int8 ({type(exc).__name__}: {exc}). Run it with "
            "precision='fp32', or quantize it yourself and load that file."
        ) from exc
    ops = int8_op_counts(onnx.load(str(out), load_external_data=False))
    if not ops:
        raise ModelLoadError(_nothing_to_quantize(path))
    if kept:
        log.info(
            "dfembed: %d of the %d weight products of %s stay float32 (their inputs lose over "
            "%.0f %% in 8 bits)",
            len(kept),
            len(weight_products(model)),
            path,
            100 * settings["skip_above"],
        )
    return {**ops, "float32 products": len(kept)}


def resolve_settings(settings: dict | None = None) -> dict:
    """:data:`SETTINGS` updated with ``settings``, ``reduce_range="auto"`` decided for this CPU."""
    settings = {**SETTINGS, **(settings or {})}
    if settings["reduce_range"] == "auto":
        settings["reduce_range"] = is_x86() and not int8_dot_products()
    return settings


def check_quantizable(model, path: Path) -> None:
    """Refuse, from the graph alone, what precision="int8" would not make compute in int8."""
    done = quantized_ops(model) or _int8_weights(model)
    if done:
        raise ModelLoadError(
            f"{path} is already quantized ({', '.join(done)}): precision='int8' quantizes "
            "float32 graphs. Run this file with precision='fp32' (it computes as it was "
            "quantized), or point dfembed at the model's float32 file."
        )
    if weight_products(model):
        return
    if matrices(model, "FLOAT16"):
        raise ModelLoadError(
            f"{path} holds float16 weights: precision='int8' quantizes float32 graphs. Use "
            "the model's float32 file, or precision='fp32'."
        )
    raise ModelLoadError(_nothing_to_quantize(path))


def _int8_weights(model) -> list[str]:
    """``["int8 weights"]`` where weight matrices are stored in 8 bits (and cast back)."""
    return ["int8 weights"] if matrices(model, "INT8") or matrices(model, "UINT8") else []


def _nothing_to_quantize(path: Path) -> str:
    return (
        f"{path} has no MatMul or Gemm by a weight matrix, so precision='int8' would not "
        "make it compute in int8: use precision='fp32'."
    )


def _source_key(path: Path) -> str:
    """The graph's SHA-256, and its external weight files' where it has any."""
    digests = [content_sha256(path)]
    digests += [content_sha256(path.parent / name) for name in external_data_files(path)]
    if len(digests) == 1:
        return digests[0][:32]
    return hashlib.sha256("\0".join(digests).encode()).hexdigest()[:32]


def _recipe(settings: dict) -> str:
    return "int8-" + short_hash(json.dumps(settings, sort_keys=True))


def _ort_version() -> str:
    import onnxruntime as ort

    return ort.__version__


class _QuantizerNoise(logging.Filter):
    """Drops the quantizer's advice (pre-processing, opset) from the root logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        return f"onnxruntime{os.sep}quantization" not in record.pathname


@contextlib.contextmanager
def _quiet_quantizer() -> Iterator[None]:
    noise = _QuantizerNoise()
    root = logging.getLogger()
    root.addFilter(noise)
    try:
        yield
    finally:
        root.removeFilter(noise)
