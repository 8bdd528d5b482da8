"""``dfembed.nearest``: the top-k rows of a vector column for each query, exactly."""

from __future__ import annotations

import pandas as pd

from ..spec import check_count
from . import graph
from .kinds import kind_of
from .queries import as_queries
from .report import report_skipped
from .search import no_hits, search
from .topk import Hits, tidy


def nearest(
    queries,
    column,
    k: int = 10,
    *,
    model: str | None = None,
    metric: str | None = None,
    threshold: float | None = None,
    split_every: int = 8,
):
    """The ``k`` rows of ``column`` most similar to each query, as a long table.

    Parameters
    ----------
    queries
        The query vectors, of the column's kind: a vector Series (its index labels the
        queries), a ``(queries, dim)`` array or one vector, a SciPy sparse matrix (sparse
        columns), a late-interaction Series (``query=True``); or texts (a string, a list,
        a Series) with ``model=``, embedded here in process as queries (``query=True``).
        A Dask Series is computed first: queries are sent to every partition.
    column
        A pandas or Dask vector column: dense (``df.embed.text``/``image``), sparse
        (``df.embed.sparse``) or late interaction (``df.embed.late_interaction``).
    k
        Rows per query. A query gets fewer when the column has fewer non-null rows (or
        fewer above ``threshold``): never an error, never padding.
    model
        The model to embed text queries with (the one that embedded the column).
    metric
        Dense columns: ``"cosine"`` (default) or ``"dot"``. dfembed's text models return
        unit vectors, for which the two are equal; for an unnormalized model (e.g. the
        paraphrase models), ``"cosine"`` ranks by angle and ``"dot"`` also rewards long
        vectors. Sparse columns are scored by dot product, late interaction by MaxSim.
    threshold
        Keep only rows scoring at least this (compared in float32).
    split_every
        Dask: how many partitions' results each merge task combines.

    Returns
    -------
    A DataFrame with columns ``query`` (the query's label), ``rank`` (1 = best), ``row``
    (the row's index label) and ``score``, sorted by query then rank; a lazy one-partition
    Dask DataFrame when ``column`` is Dask. Ties are broken by row order (on Dask:
    partition, then position), so the answer equals a stable sort of all scores.
    Dense scores are exact (float64 sums rounded to float32) and sparse ones are float32
    sums in a fixed order: both the same on any partitioning. MaxSim scores are
    :func:`dfembed.maxsim`'s float32 products, which may differ in the last bit between
    partitionings (and so order near-ties differently).
    Null rows are skipped: counted in ``result.attrs["skipped_rows"]`` and reported by a
    :class:`SkippedRowsWarning`.

    Raises
    ------
    InputError
        Null queries, texts without ``model=``, vectors of another width, NaN in a row.
    TypeError
        Queries of another kind than the column (dense against sparse, ...).
    """
    if not isinstance(column, pd.Series) and not _is_dask_series(column):
        raise TypeError(
            f"nearest searches one vector column (a Series), not {type(column).__name__}: "
            "pass df['vectors']."
        )
    k = check_count(k, "k", 1)
    split_every = check_count(split_every, "split_every", 2)
    found = as_queries(queries, kind_of(column.dtype), metric, model)
    hits = search(column, found, k, threshold, split_every, "nearest")
    if not graph.is_dask(column):
        return _finish(hits, found.labels)
    meta = tidy(no_hits(column._meta.index), found.labels)
    task = graph.delayed_call(
        _finish, hits, found.labels, name=graph.key("nearest-result", hits.key)
    )
    return graph.frame([task], meta)


def _finish(hits: Hits, labels: pd.Index) -> pd.DataFrame:
    return report_skipped(tidy(hits, labels), hits.skipped, "nearest")


def _is_dask_series(obj) -> bool:
    import dask.dataframe as dd

    return isinstance(obj, dd.Series)
