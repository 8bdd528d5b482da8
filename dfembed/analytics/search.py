"""The search every analytics call shares: each partition's best rows, merged exactly.

On a pandas column this is one call of :func:`partition_hits`. On a Dask column each
partition is scored against all queries and keeps its own best rows (memory per task:
the partition plus a bounded ``[queries, rows]`` block of scores), and a tree of merges
(:func:`.graph.tree`) combines them ``split_every`` at a time. The merge breaks ties by
(partition number, position): row order, as a stable sort of the whole column would.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from . import graph
from .kinds import search_series
from .queries import Queries
from .topk import Hits, merge


def partition_hits(
    part: pd.Series | pd.DataFrame,
    number: int,
    queries: Queries | None,
    k: int | None,
    threshold: float | None,
    column=None,
) -> Hits:
    """The best rows of one partition for every query.

    ``part`` is a vector Series, or a DataFrame whose ``column`` holds the vectors: then the
    matched rows' other columns are carried along (for a similarity join). ``queries`` is
    None where there are none (a join's left partition of null vectors only).
    """
    if queries is None:
        return no_hits(part.index, None if column is None else part.drop(columns=[column]))
    series = part if column is None else part[column]
    qi, pos, score, skipped = search_series(series, queries, k, threshold)
    if column is None:
        rows = pd.DataFrame(index=part.index[pos])
    else:
        rows = part.drop(columns=[column]).iloc[pos]
    return Hits(qi, score, np.full(len(qi), number, dtype=np.int64), pos, rows, skipped)


def no_hits(index: pd.Index, columns: pd.DataFrame | None = None) -> Hits:
    """Hits of nothing, with the row labels' dtype (and carried columns) of a real result."""
    rows = pd.DataFrame(index=index[:0]) if columns is None else columns.iloc[:0]
    zero = np.zeros(0, dtype=np.int64)
    return Hits(zero, np.zeros(0, dtype=np.float32), zero, zero, rows)


def search(
    vectors: pd.Series | pd.DataFrame,
    queries,
    k: int | None,
    threshold: float | None,
    split_every: int,
    what: str,
    column=None,
    partitions=None,
):
    """Search a pandas or Dask column: :class:`Hits` (pandas) or a task giving them (Dask).

    ``queries`` is a :class:`Queries` or, on Dask, a task that returns one. ``partitions``
    are the column's partitions as tasks (``to_delayed()``) when already at hand; a pandas
    frame handed over as one task (a join's right side when the left is Dask) is searched
    as a single partition.
    """
    if partitions is None and graph.is_dask(vectors):
        partitions = vectors.to_delayed()
    if partitions is None:
        return partition_hits(vectors, 0, queries, k, threshold, column)
    parts = (partitions[0].key, len(partitions), queries, k, threshold, column)
    if isinstance(queries, Queries):
        queries = graph.literal(queries, "queries")
    leaves = graph.per_partition(
        partition_hits, partitions, graph.key(what, *parts), queries, k, threshold, column
    )
    return graph.tree(partial(merge, k=k), leaves, graph.key(f"{what}-merge", *parts), split_every)
