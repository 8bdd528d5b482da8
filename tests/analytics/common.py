"""Data and brute-force answers for the analytics tests."""

from __future__ import annotations

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd

from dfembed.columns import dense


def unit_rows(n: int, dim: int, seed: int, copies: dict[int, list[int]] | None = None):
    """``n`` random unit float32 vectors; ``copies[src]`` rows are made exact copies of row src."""
    rng = np.random.default_rng(seed)
    matrix = rng.standard_normal((n, dim)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    for src, dst in (copies or {}).items():
        matrix[dst] = matrix[src]
    return matrix


def column(matrix: np.ndarray, null=(), labels=None, name="vec") -> pd.Series:
    """A dense vector column of ``matrix``'s rows, with null rows at positions ``null``."""
    valid = np.ones(len(matrix), dtype=bool)
    valid[list(null)] = False
    index = pd.Index(labels) if labels is not None else pd.RangeIndex(len(matrix))
    return dense(matrix[valid], valid, index, name, matrix.shape[1])


def to_dask(obj, npartitions: int):
    """A Dask copy of ``obj`` in the same row order (no sort), strings left as they are."""
    with dask.config.set({"dataframe.convert-string": False}):
        return dd.from_pandas(obj, npartitions=npartitions, sort=False)


def brute_scores(queries: np.ndarray, rows: np.ndarray, metric: str = "cosine") -> np.ndarray:
    """``[queries, rows]`` scores: float64 dot products of the float32 vectors (divided by
    both norms for cosine), rounded to float32: what dfembed documents its scores to be."""
    q, x = queries.astype(np.float64), rows.astype(np.float64)
    scores = q @ x.T
    if metric == "cosine":
        scores /= np.outer(np.linalg.norm(q, axis=1), np.linalg.norm(x, axis=1))
    return scores.astype(np.float32)


def brute_top(scores: np.ndarray, k: int, labels, query_labels=None) -> pd.DataFrame:
    """The long top-k table of a score matrix by a stable sort (ties: earlier row first)."""
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    nq, kk = order.shape
    labels = np.asarray(labels)
    query_labels = np.arange(nq) if query_labels is None else np.asarray(query_labels)
    return pd.DataFrame(
        {
            "query": np.repeat(query_labels, kk),
            "rank": np.tile(np.arange(1, kk + 1), nq),
            "row": labels[order.reshape(-1)],
            "score": np.take_along_axis(scores, order, axis=1).reshape(-1),
        }
    )


def same(result: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Equal values, row for row (scores bit for bit); dtypes of labels may differ."""
    result = result.reset_index(drop=True)
    pd.testing.assert_frame_equal(result, expected, check_dtype=False, check_exact=True)
