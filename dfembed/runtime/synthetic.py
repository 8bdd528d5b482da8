"""Made-up inputs for a text graph: random token ids, full attention masks, zero types.

Both measurements that run a graph before its sessions exist use them: whether graph
fusion pays on this CPU (:mod:`.fusion_choice`) and which products int8 would spoil
(:mod:`.quantize`). Random ids stand in for text well enough for both: speed does not
depend on which tokens run, and the outlier features that make some activations hard to
quantize show for any input (benchmarks/README.md, "Measurements behind defaults in the
code").
"""

from __future__ import annotations

import numpy as np


class Unmeasurable(ValueError):
    """The graph takes an input whose values cannot be made up (not token ids)."""


def token_ids(rows: int, length: int, vocab: int, seed: int = 0) -> np.ndarray:
    """``(rows, length)`` random ids from the upper part of a ``vocab``-sized vocabulary
    (the lower ids of BERT-style vocabularies are special and unused tokens)."""
    rng = np.random.default_rng(seed)
    return rng.integers(min(1000, vocab // 2), vocab, (rows, length), dtype=np.int64)


def token_feed(inputs, ids: np.ndarray) -> dict[str, np.ndarray]:
    """A feed for a session's ``inputs``: ``ids`` as token ids, ones as masks, zeros else.

    Raises
    ------
    Unmeasurable
        An input is not an integer tensor (pixels, embeddings).
    """
    return {arg.name: _value(arg, ids) for arg in inputs}


def _value(arg, ids: np.ndarray) -> np.ndarray:
    if arg.type not in ("tensor(int64)", "tensor(int32)"):
        raise Unmeasurable(f"cannot make up values for input {arg.name} ({arg.type})")
    dtype = np.int64 if arg.type == "tensor(int64)" else np.int32
    if "mask" in arg.name:
        return np.ones_like(ids, dtype=dtype)
    if "input_ids" in arg.name:
        return ids.astype(dtype)
    return np.zeros_like(ids, dtype=dtype)  # token types, and anything else
