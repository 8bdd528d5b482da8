"""Bad input to the analytics calls: a specific error saying what to do, never a wrong answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import dfembed
from dfembed import InputError
from dfembed.columns import sparse
from tests.analytics.common import column, to_dask, unit_rows

MATRIX = unit_rows(30, 8, seed=0)


@pytest.fixture(params=["pandas", "dask"])
def col(request):
    series = column(MATRIX)
    return series if request.param == "pandas" else to_dask(series, 3)


def _run(result):
    return result.compute(scheduler="sync") if hasattr(result, "compute") else result


def _sparse_col(n=5):
    outputs = [(np.array([1, 4]), np.array([0.5, 1.0], dtype=np.float32))] * n
    return sparse(outputs, np.ones(n, dtype=bool), pd.RangeIndex(n), "sp")


def test_mismatched_widths(col):
    with pytest.raises(
        InputError, match="queries have 5 dimensions but the column's vectors have 8"
    ):
        _run(dfembed.nearest(np.ones((2, 5), dtype=np.float32), col, k=3))


def test_dense_queries_against_a_sparse_column():
    with pytest.raises(TypeError, match="holds sparse vectors but the queries are dense"):
        dfembed.nearest(column(MATRIX[:2], name="q"), _sparse_col(), k=2)
    with pytest.raises(TypeError, match="A sparse column is searched with sparse queries"):
        dfembed.nearest(MATRIX[:2], _sparse_col(), k=2)


def test_sparse_queries_against_a_dense_column(col):
    with pytest.raises(TypeError, match="holds dense vectors but the queries are sparse"):
        _run(dfembed.nearest(_sparse_col(2), col, k=2))


def test_near_duplicates_needs_a_dense_column():
    with pytest.raises(TypeError, match="near_duplicates reads a dense vector column"):
        dfembed.near_duplicates(_sparse_col())


def test_null_queries_are_an_error_naming_them(col):
    queries = column(MATRIX[:4], null=[1, 3], labels=["a", "b", "c", "d"], name="q")
    with pytest.raises(InputError, match=r"2 queries are null \(labels \['b', 'd'\]\)"):
        dfembed.nearest(queries, col, k=2)
    with pytest.raises(InputError, match="NaN or infinite"):
        dfembed.nearest(np.full((1, 8), np.nan, dtype=np.float32), col, k=2)


def test_a_partly_broken_row_is_an_error_naming_it(col):
    broken = MATRIX.copy()
    broken[7, 2] = np.nan
    series = column(broken, labels=[f"r{i}" for i in range(30)])
    with pytest.raises(InputError, match="Row 'r7' holds NaN"):
        dfembed.nearest(MATRIX[:1], series, k=2)
    with pytest.raises(InputError, match="Row 'r7' holds NaN"):
        _run(dfembed.nearest(MATRIX[:1], to_dask(series, 3), k=2))


def test_texts_need_a_model_and_vectors_do_not(col):
    with pytest.raises(InputError, match="The queries are texts: pass model="):
        dfembed.nearest(["a query"], col)
    with pytest.raises(InputError, match="model= embeds text queries"):
        dfembed.nearest(MATRIX[:1], col, model="all-MiniLM-L6-v2")


@pytest.mark.parametrize(
    ("k", "error"), [(0, ValueError), (-1, ValueError), ("3", TypeError), (2.5, TypeError)]
)
def test_k_must_be_a_positive_int(col, k, error):
    with pytest.raises(error, match="k must be an int >= 1"):
        dfembed.nearest(MATRIX[:1], col, k=k)


def test_wrong_metric_and_wrong_column_type(col):
    with pytest.raises(InputError, match="metric='maxsim' does not apply to a dense column"):
        dfembed.nearest(MATRIX[:1], col, metric="maxsim")
    with pytest.raises(TypeError, match="pass df\\['vectors'\\]"):
        dfembed.nearest(MATRIX[:1], pd.DataFrame({"vec": column(MATRIX)}))
    with pytest.raises(InputError, match="no queries"):
        dfembed.nearest(np.zeros((0, 8), dtype=np.float32), col)


def test_join_needs_k_or_a_threshold_and_existing_columns():
    frame = pd.DataFrame({"vec": column(MATRIX), "x": range(30)})
    with pytest.raises(InputError, match="pass threshold= too"):
        dfembed.similarity_join(frame, frame, on="vec", k=None)
    with pytest.raises(InputError, match="No column 'vek'.*Did you mean 'vec'"):
        dfembed.similarity_join(frame, frame, on="vek")
    with pytest.raises(TypeError, match="left_on= and right_on="):
        dfembed.similarity_join(frame, frame, left_on="vec")
    scored = frame.assign(score=1.0)
    with pytest.raises(InputError, match="rename the frames' columns \\['score'\\]"):
        dfembed.similarity_join(scored, frame, on="vec")


def test_near_duplicates_threshold_range():
    with pytest.raises(InputError, match="in \\[-1, 1\\]"):
        dfembed.near_duplicates(column(MATRIX), threshold=95)
