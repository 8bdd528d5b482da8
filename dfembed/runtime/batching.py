"""The one batching path every kind of model goes through.

Inputs are deduplicated, sorted by length, cut into batches whose padded size fits a
token budget, run, and scattered back so callers always get outputs in input order.
Sorting keeps padding (wasted compute) small; the budget keeps the largest batch's memory
bounded whatever the text lengths.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Sequence

import numpy as np

#: Padded tokens per model run: on a CPU, small batches keep their activations in cache, so
#: they run faster and in less memory than large ones (benchmarks/README.md, "Token budget
#: sweep"). On a GPU, where large batches are cheap, raise it.
DEFAULT_TOKEN_BUDGET = 1024
DEFAULT_MAX_BATCH = 512


def dedup(keys: Sequence[Hashable]) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the first occurrence of each distinct key, and each input's group.

    ``inverse[i]`` is the index into ``first`` of input ``i``'s key, so
    ``unique_outputs[inverse]`` restores one output per input.
    """
    seen: dict[Hashable, int] = {}
    inverse = np.fromiter((seen.setdefault(k, len(seen)) for k in keys), np.intp, len(keys))
    # Groups are numbered in order of first appearance, so an input starts a new group
    # exactly where the running maximum of ``inverse`` grows. (Scattering positions into
    # ``first`` instead would rely on which of repeated fancy-index writes NumPy keeps,
    # which it does not specify.)
    grows = np.diff(np.maximum.accumulate(inverse), prepend=-1) > 0
    return np.flatnonzero(grows), inverse


def plan_batches(
    lengths: np.ndarray,
    token_budget: int = DEFAULT_TOKEN_BUDGET,
    max_batch: int | None = DEFAULT_MAX_BATCH,
) -> list[np.ndarray]:
    """Cut inputs into batches, longest first, each at most ``token_budget`` padded tokens.

    A batch's padded size is ``rows * longest row``; an input longer than the budget on
    its own still gets a batch of one.
    """
    if len(lengths) == 0:
        return []
    order = np.argsort(-np.asarray(lengths), kind="stable")
    cap = max_batch or len(order)
    batches: list[np.ndarray] = []
    start = 0
    while start < len(order):
        longest = max(int(lengths[order[start]]), 1)
        rows = max(1, min(cap, token_budget // longest))
        batches.append(order[start : start + rows])
        start += rows
    return batches


#: ``on_batch(rows, tokens, seconds)``: told after each batch (progress bars, metrics).
OnBatch = Callable[[int, int, float], None]


def run_batched(
    lengths: np.ndarray,
    run: Callable[[np.ndarray], Sequence | np.ndarray],
    token_budget: int = DEFAULT_TOKEN_BUDGET,
    max_batch: int | None = DEFAULT_MAX_BATCH,
    on_batch: OnBatch | None = None,
) -> np.ndarray:
    """Call ``run(positions)`` per batch and put its outputs back in input order.

    ``run`` returns one output per position: rows of an array (gathered into one array)
    or arbitrary objects (gathered into an object array). ``on_batch(rows, tokens,
    seconds)`` is called after each batch, for progress bars and metrics.
    """
    out: np.ndarray | None = None
    for positions in plan_batches(lengths, token_budget, max_batch):
        started = time.perf_counter()
        result = run(positions)
        seconds = time.perf_counter() - started
        if out is None:
            out = _allocate(result, len(lengths))
        if out.dtype == object:
            for pos, value in zip(positions, result, strict=True):
                out[pos] = value
        else:
            out[positions] = result
        if on_batch is not None:
            on_batch(len(positions), int(np.sum(lengths[positions])), seconds)
    return out if out is not None else np.empty((0,), dtype=np.float32)


def _allocate(first: Sequence | np.ndarray, n: int) -> np.ndarray:
    if isinstance(first, np.ndarray) and first.dtype != object:
        return np.empty((n, *first.shape[1:]), dtype=first.dtype)
    return np.empty(n, dtype=object)
