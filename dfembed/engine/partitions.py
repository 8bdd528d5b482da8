"""Cutting a pandas object into partitions of about equal work for Dask workers.

Equal row counts are not equal work: a table sorted by date or category can put all its
long texts in one slice, and the worker holding it finishes last while the others wait
(benchmarks/README.md, "Measurements behind defaults in the code"). Rows are weighed by
their kind's cost function (:mod:`dfembed.encoders.costs`: text by its length, capped
where truncation cuts it); the cuts stay contiguous, so results concatenate back in row
order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..encoders.costs import (  # noqa: F401 - the cost model's names, imported from here too
    CHARS_PER_TOKEN,
    DEFAULT_TOKEN_CAP,
    ROW_COST_TOKENS,
    text_costs,
)

if TYPE_CHECKING:
    from .task import EmbedTask


def row_costs(obj: pd.DataFrame | pd.Series, task: EmbedTask) -> np.ndarray:
    """Estimated work per row of ``task`` over ``obj``, as its kind counts it (tokens, or 1
    per image).

    Partitions are cut by it, and progress bars count it (rows would give a wrong first
    estimate: the longest texts run first).
    """
    cost = task.kind.cost
    values = obj if task.column is None else obj[task.column]
    max_length = getattr(task.options, "max_length", None)
    costs = cost(values, max_length)
    if task.query_column is not None:  # rerank pairs: the query's tokens too
        costs = costs + cost(obj[task.query_column], max_length) - ROW_COST_TOKENS
    elif task.query is not None:
        costs = costs + cost(pd.Series([task.query]), max_length)[0] - ROW_COST_TOKENS
    return costs


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
