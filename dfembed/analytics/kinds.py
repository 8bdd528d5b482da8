"""Searching one partition of a vector column of each kind: dense, sparse, late interaction.

:func:`search_series` reads the partition's non-null rows, checks they are the queries'
kind and width, and returns each query's best rows by position. Dense rows are scored by
:mod:`.dense` (exact cosine or dot); sparse rows by a SciPy product of ``to_scipy``
matrices (float32; each score depends only on its two vectors, so any partitioning gives
the same bits); late-interaction rows by :func:`dfembed.maxsim`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..columns import column_kind, to_numpy, to_scipy
from ..errors import InputError
from ..scoring import maxsim
from . import dense
from .queries import Queries, mismatch
from .topk import select


def kind_of(dtype) -> str:
    """The kind of a column to search; plain ``object`` columns of arrays count as dense."""
    return column_kind(dtype) or "dense"


def check_kind(series: pd.Series, queries: str) -> None:
    """Raise ``TypeError`` when ``series`` is a vector column of another kind than ``queries``."""
    found = column_kind(series.dtype)
    if found is not None and found != queries:
        raise mismatch(found, queries)


def search_series(series: pd.Series, queries: Queries, k: int | None, threshold: float | None):
    """Each query's best non-null rows of ``series``: ``(query, position, score, skipped)``.

    Arrays sorted by query, score (best first), position; ``skipped`` counts null rows.
    """
    check_kind(series, queries.kind)
    if queries.kind == "dense":
        rows, positions, skipped = dense_rows(series, queries.metric)
        query_vectors = dense.prepare(queries.data, queries.metric)
        _check_width(query_vectors.matrix.shape[1], rows.matrix.shape[1], len(rows))
        qi, ri, score = dense.search(query_vectors, rows, k, threshold)
    elif queries.kind == "sparse":
        qi, ri, score, positions, skipped = _sparse(series, queries.data, k, threshold)
    else:
        qi, ri, score, positions, skipped = _late(series, queries.data, k, threshold)
    return qi, positions[ri], score, skipped


def dense_rows(series: pd.Series, metric: str) -> tuple[dense.Vectors, np.ndarray, int]:
    """The non-null rows of a dense column, their positions, and how many rows were null.

    Raises
    ------
    InputError
        A row holds NaN or infinite values without being null.
    """
    matrix = to_numpy(series)
    if matrix.ndim != 2:
        raise InputError(f"The column's rows are not vectors of one width (shape {matrix.shape}).")
    rows = dense.prepare(matrix, metric)
    finite = np.isfinite(rows.norms)
    if finite.all():
        return rows, np.arange(len(rows)), 0
    broken = ~finite
    null = np.isnan(matrix[broken]).all(axis=1)
    if not null.all():
        label = series.index[np.flatnonzero(broken)[~null][0]]
        raise InputError(
            f"Row {label!r} holds NaN or infinite values: fix or drop it (a null row is "
            "skipped, a partly broken vector is not guessed at)."
        )
    positions = np.flatnonzero(finite)
    return rows.take(positions), positions, int(broken.sum())


def _check_width(queries: int, rows: int, count: int) -> None:
    if count and queries != rows:
        raise InputError(
            f"The queries have {queries} dimensions but the column's vectors have {rows}: "
            "embed both with the same model."
        )


def _sparse(series: pd.Series, queries, k, threshold):
    if column_kind(series.dtype) != "sparse":
        raise mismatch("dense", "sparse")
    valid = series.notna().to_numpy()
    positions = np.flatnonzero(valid)
    matrix = to_scipy(series)[positions]
    width = max(matrix.shape[1], queries.shape[1])
    matrix.resize(matrix.shape[0], width)
    queries = queries.copy()
    queries.resize(queries.shape[0], width)
    step = max(1, dense.CELLS // queries.shape[0])

    def chunks():
        for start in range(0, len(positions), step):
            scores = (queries @ matrix[start : start + step].T).toarray()
            yield start, scores, np.zeros(len(scores)), lambda qi, ci, s=scores: s[qi, ci]

    qi, ri, score = select(chunks(), queries.shape[0], k, threshold)
    return qi, ri, score, positions, int((~valid).sum())


def _late(series: pd.Series, queries: list[np.ndarray], k, threshold):
    non_null = np.flatnonzero(series.notna().to_numpy())
    scores = np.stack([maxsim(q, series.iloc[non_null]) for q in queries])
    scored = ~np.isnan(scores).any(axis=0)  # documents without tokens score NaN: skipped
    positions = non_null[scored]
    scores = np.ascontiguousarray(scores[:, scored])
    chunk = (0, scores, np.zeros(len(queries)), lambda qi, ci: scores[qi, ci])
    qi, ri, score = select([chunk], len(queries), k, threshold)
    return qi, ri, score, positions, len(series) - len(positions)
