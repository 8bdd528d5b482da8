"""Cutting a pandas object into partitions of about equal work for Dask workers.

Equal row counts are not equal work: a table sorted by date or category can put all its
long texts in one slice, and the worker holding it finishes last while the others wait
(benchmarks/README.md, "Measurements behind defaults in the code"). Text rows are weighed
by their length, capped where truncation cuts them; the cuts stay contiguous, so results
concatenate back in row order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..inputs import without_string_view

if TYPE_CHECKING:
    from .task import EmbedTask

#: Characters per token, roughly, for English subword vocabularies (cost estimate only).
CHARS_PER_TOKEN = 4
#: Cost of a row besides its text (special tokens, padding, per-row work), in tokens.
ROW_COST_TOKENS = 8
#: Truncation assumed when a call leaves ``max_length`` to the model.
DEFAULT_TOKEN_CAP = 512


def row_costs(obj: pd.DataFrame | pd.Series, task: EmbedTask) -> np.ndarray:
    """Estimated work per row of ``task`` over ``obj``: tokens, or 1 per image.

    Partitions are cut by it, and progress bars count it (rows would give a wrong first
    estimate: the longest texts run first).
    """
    if task.spec.kind == "image":
        return np.ones(len(obj))
    values = obj if task.column is None else obj[task.column]
    max_length = getattr(task.options, "max_length", None)
    costs = text_costs(values, max_length)
    if task.query_column is not None:  # rerank pairs: the query's tokens too
        costs = costs + text_costs(obj[task.query_column], max_length) - ROW_COST_TOKENS
    elif task.query is not None:
        costs = costs + text_costs(pd.Series([task.query]), max_length)[0] - ROW_COST_TOKENS
    return costs


def text_costs(values: pd.Series, max_length: int | None) -> np.ndarray:
    """Estimated tokens per row: its characters over :data:`CHARS_PER_TOKEN`, capped.

    Missing and non-text cells cost one row's overhead (they are nulls or errors later).
    """
    values = without_string_view(values)  # pandas' .str has no string_view kernels
    if not _stringish(values):
        return np.full(len(values), float(ROW_COST_TOKENS))
    chars = pd.to_numeric(values.str.len(), errors="coerce").to_numpy(np.float64, na_value=0.0)
    cap = (max_length or DEFAULT_TOKEN_CAP) * CHARS_PER_TOKEN
    return ROW_COST_TOKENS + np.minimum(chars, cap) / CHARS_PER_TOKEN


def _stringish(values: pd.Series) -> bool:
    try:
        values.str  # noqa: B018 - raises AttributeError for columns that hold no strings
    except AttributeError:
        return False
    return True


def balanced_bounds(costs: np.ndarray, parts: int) -> list[tuple[int, int]]:
    """Contiguous ``(start, stop)`` row ranges, ``parts`` of them at most, of about equal cost.

    Every range holds at least one row and together they cover all rows in order.
    """
    n = len(costs)
    parts = max(1, min(parts, n))
    if n == 0:
        return [(0, 0)]
    cumulative = np.cumsum(costs, dtype=np.float64)
    targets = cumulative[-1] * np.arange(1, parts) / parts
    # cut after the row whose running total is nearest each target
    above = np.searchsorted(cumulative, targets, side="left")  # cumulative[above] >= target
    below = np.maximum(above - 1, 0)
    nearer_below = (targets - cumulative[below]) < (cumulative[above] - targets)
    cuts = np.where(nearer_below & (above > 0), below, above) + 1
    # every range at least one row: cut k lies in [k, n - parts + k]
    k = np.arange(1, parts)
    cuts = np.maximum.accumulate(np.maximum(cuts, k) - k) + k
    cuts = np.minimum(cuts, n - parts + k)
    edges = [0, *cuts.tolist(), n]
    return list(zip(edges[:-1], edges[1:], strict=True))
