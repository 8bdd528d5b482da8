"""Transformer graph fusions: a BERT-family graph rewritten once, kept on disk, reused.

ONNX Runtime's transformer optimizer replaces each layer's chains of small operators
(bias + GELU, residual add + layer norm, attention, ...) with fused kernels: the same
vectors to rounding, faster on some CPUs and not on others (:mod:`.fusion_choice` decides;
``benchmarks/fusion.py``, benchmarks/README.md "Graph fusion A/B"). Fusing takes seconds,
more than it saves on a short job, so the fused graph is written once under
:func:`fusion_dir`, named by the source file's SHA-256 and the ONNX Runtime version, and
every later session on any worker of that machine loads it directly.

Fusion is an optimization, never a requirement: a graph that is not BERT-family, is
quantized, keeps its weights in external files, or cannot be fused runs as it is, and a
marker beside the fused files says so, so the attempt (and its INFO log line) happens once
per machine. Where the folder cannot be written, nothing is fused at all: the seconds spent
would be lost with the process.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from ..errors import ModelLoadError
from ..models.files import read_json
from ..models.onnx_graph import read_graph
from ..models.verify import content_sha256
from .graph_store import store_dir, writable, write_atomic
from .graphs import has_external_data, quantized_ops

log = logging.getLogger("dfembed")

#: ``model_type`` values of config.json whose graphs the "bert" optimizer understands.
FUSABLE_TYPES = frozenset({"bert", "roberta", "xlm-roberta", "camembert", "electra"})
#: Bumped when the fusion settings below change, so older fused files are not reused. v2:
#: graphs with external weights are no longer fused (v1 fused them under the graph's hash
#: alone, so two folders with one graph and different weight files shared a fused file).
_RECIPE = "bert-opt1-v2"


def fusion_dir() -> Path:
    """Where fused graphs are kept (``DFEMBED_FUSED_DIR`` overrides)."""
    return store_dir()


def fusable(config_path: Path | None) -> tuple[int, int] | None:
    """``(num_heads, hidden_size)`` when config.json describes a BERT-family encoder."""
    if config_path is None or not config_path.is_file():
        return None
    try:
        config = read_json(config_path, "")
        heads, hidden = int(config["num_attention_heads"]), int(config["hidden_size"])
    except (OSError, ModelLoadError, ValueError, KeyError, TypeError):
        return None  # fusion is optional: a config it cannot read only leaves it off
    if config.get("model_type") not in FUSABLE_TYPES or heads <= 0 or hidden % heads:
        return None
    return heads, hidden


def fused_graph(path: Path, config_path: Path | None) -> Path | None:
    """The fused copy of the graph at ``path``, built on first use; ``None``: run ``path``.

    Parameters
    ----------
    path
        The model's ONNX file (float32 or float16 weights; quantized graphs and graphs with
        external weight files are left alone).
    config_path
        The model's config.json, which says whether it is BERT-family and its head count.
    """
    shape = fusable(config_path)
    if shape is None:
        return None
    import onnxruntime as ort

    target = fusion_dir() / f"{content_sha256(path)[:32]}-{ort.__version__}-{_RECIPE}.onnx"
    unfused = target.with_suffix(".unfused")  # this graph was tried once and is run as is
    if target.is_file():
        return target
    if unfused.is_file() or not writable(target.parent, "graph fusion is off"):
        return None
    try:
        built = _build(path, target, *shape)
    except ImportError:  # onnx missing: try again once it is installed
        return None
    except Exception as exc:  # the optimizer's failures are untyped; fusion is optional
        # optional, and nothing the user can fix: said at INFO, once per machine (marker)
        log.info("dfembed: running %s unfused (graph fusion failed: %s)", path, exc)
        built = None
    if built is None:
        with contextlib.suppress(OSError):  # the folder went read-only: tried again next time
            unfused.touch()
    return built


def _build(path: Path, target: Path, heads: int, hidden: int) -> Path | None:
    from onnxruntime.transformers.optimizer import optimize_model

    model = read_graph(path)  # without external weights: loading them would hide them
    if has_external_data(model):
        # Not fused, rather than fused under a name that hashes every weight file too:
        # such graphs are mostly over protobuf's 2 GB limit, which the fused file (written
        # as one message) could not hold, and hashing gigabytes would slow every load.
        log.info("dfembed: running %s unfused (graph fusion skips external weights)", path)
        return None
    if quantized_ops(model):
        return None
    before = len(model.graph.node)
    optimized = optimize_model(
        model, model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=1
    )
    fused = optimized.model
    if len(fused.graph.node) >= before:  # nothing recognised: keep the source
        return None
    write_atomic(target, fused.SerializeToString())
    return target
