"""What a search is asked with: query vectors of the same kind as the searched column.

Users hand over a vector column, a NumPy array, a SciPy sparse matrix or plain texts (with
``model=``); :func:`as_queries` turns any of them into one :class:`Queries` object: the
vectors in the form the scorer of that kind reads, and a label per query for the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..columns import column_kind, to_numpy, to_scipy
from ..errors import InputError

#: What each kind of vector is called in messages.
NAMES = {"dense": "dense", "sparse": "sparse", "multivector": "late-interaction"}
#: The score each kind of column is searched with, and the ones it accepts.
METRICS = {"dense": ("cosine", "dot"), "sparse": ("dot",), "multivector": ("maxsim",)}


@dataclass(frozen=True)
class Queries:
    """Query vectors of one kind, with their labels.

    ``data`` is a ``(q, dim)`` float32 matrix (dense), a ``(q, vocab)`` float32 CSR matrix
    (sparse) or a list of ``[tokens, dim]`` float32 matrices (multivector).
    """

    kind: str
    metric: str
    data: object
    labels: pd.Index

    def __len__(self) -> int:
        return len(self.labels)


def metric_for(kind: str, metric: str | None) -> str:
    """The metric to score a ``kind`` column with: ``metric``, checked, or the kind's default."""
    allowed = METRICS[kind]
    if metric is None:
        return allowed[0]
    if metric not in allowed:
        raise InputError(
            f"metric={metric!r} does not apply to a {kind} column: use one of {list(allowed)}."
        )
    return metric


def mismatch(column: str, queries: str) -> TypeError:
    """The error of searching a ``column``-kind column with ``queries``-kind vectors."""
    return TypeError(
        f"The column holds {NAMES[column]} vectors but the queries are {NAMES[queries]} "
        "vectors: search a column with queries of its own kind, embedded by the same model."
    )


def as_queries(queries, kind: str, metric: str | None, model: str | None = None) -> Queries:
    """The queries to search a ``kind`` column with (``"dense"``, ``"sparse"``, ``"multivector"``).

    Raises
    ------
    InputError
        No queries, null queries, texts without ``model=``, or vectors of another kind.
    """
    metric = metric_for(kind, metric)
    if _is_dask(queries):
        queries = queries.compute()  # queries are few: they travel to every partition
    if _is_texts(queries):
        if model is None:
            raise InputError(
                "The queries are texts: pass model= (the model that embedded the column), "
                "or embed them first and pass the vectors."
            )
        queries = _embed(queries, kind, model)
    elif model is not None:
        raise InputError("model= embeds text queries; these queries are vectors already.")
    if isinstance(queries, pd.DataFrame):
        raise InputError("Pass the queries as a Series (one vector column), not a DataFrame.")
    labels = queries.index if isinstance(queries, pd.Series) else None
    if isinstance(queries, pd.Series):
        found = column_kind(queries.dtype)
        if found is not None and found != kind:
            raise mismatch(kind, found)
        _check_nulls(queries)
    elif hasattr(queries, "tocsr") and kind != "sparse":
        raise mismatch(kind, "sparse")
    data = _READERS[kind](queries)
    count = data.shape[0] if kind != "multivector" else len(data)
    if count == 0:
        raise InputError("There are no queries to search with.")
    labels = labels if labels is not None else pd.RangeIndex(count)
    return Queries(kind=kind, metric=metric, data=data, labels=labels)


def _is_dask(obj) -> bool:
    return type(obj).__module__.startswith("dask.")


def _is_texts(queries) -> bool:
    if isinstance(queries, str):
        return True
    if isinstance(queries, pd.Series):
        if column_kind(queries.dtype) is not None:
            return False
        cells = queries.dropna()
        return len(cells) > 0 and isinstance(cells.iloc[0], str)
    if isinstance(queries, np.ndarray) and queries.dtype.kind in "UO" and queries.size:
        return isinstance(queries.flat[0], str)
    return isinstance(queries, Sequence) and len(queries) > 0 and isinstance(queries[0], str)


def _embed(texts, kind: str, model: str) -> pd.Series:
    """Embed text queries in process with the accessor of the column's kind."""
    series = texts if isinstance(texts, pd.Series) else pd.Series(np.atleast_1d(texts))
    _check_nulls(series)
    if kind == "dense":
        return series.embed.text(model=model, query=True)
    if kind == "sparse":
        return series.embed.sparse(model=model, query=True)
    return series.embed.late_interaction(model=model, query=True)


def _check_nulls(series: pd.Series) -> None:
    missing = series.isna().to_numpy()
    if missing.any():
        labels = list(series.index[missing][:5])
        raise InputError(
            f"{int(missing.sum())} queries are null (labels {labels}): a null query has no "
            "neighbours. Drop them first (queries.dropna())."
        )


def _dense(queries) -> np.ndarray:
    if isinstance(queries, pd.Series):
        matrix = to_numpy(queries)
    else:
        matrix = np.asarray(queries, dtype=np.float32)
        if matrix.ndim == 1:
            matrix = matrix[None, :]
    if matrix.ndim != 2:
        raise InputError(
            f"Dense queries must be one vector or a (queries, dim) matrix, not {matrix.shape}."
        )
    if not np.isfinite(matrix).all():
        raise InputError("The query vectors hold NaN or infinite values: drop or fix those rows.")
    return np.ascontiguousarray(matrix, dtype=np.float32)


def _sparse(queries):
    if isinstance(queries, pd.Series):
        matrix = to_scipy(queries)
    elif hasattr(queries, "tocsr"):
        matrix = queries.tocsr()
    else:
        raise TypeError(
            "A sparse column is searched with sparse queries: a sparse vector Series "
            "(df.embed.sparse(..., query=True)), a SciPy sparse matrix, or texts with model=; "
            f"not {type(queries).__name__}."
        )
    return matrix.astype(np.float32)


def _multivector(queries) -> list[np.ndarray]:
    if isinstance(queries, pd.Series):
        cells = list(queries)
    elif isinstance(queries, np.ndarray) and queries.ndim == 2:
        cells = [queries]  # one query's token matrix
    else:
        cells = list(queries)
    mats = [np.asarray(cell, dtype=np.float32) for cell in cells]
    if any(m.ndim != 2 or m.shape[0] == 0 for m in mats):
        raise InputError("Each late-interaction query must be a non-empty [tokens, dim] matrix.")
    return mats


_READERS = {"dense": _dense, "sparse": _sparse, "multivector": _multivector}
