"""Getting arrays back out of dfembed columns: ``to_numpy`` and ``to_scipy``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import dfembed
from dfembed import columns

INDEX = pd.Index(["a", "b", "c"])
VALID = np.array([True, False, True])


def _sparse() -> pd.Series:
    rows = [(np.array([3, 9]), np.array([0.5, 2.0])), (np.array([1]), np.array([1.5]))]
    return columns.sparse(rows, VALID, INDEX, "sp")


def _dense() -> pd.Series:
    return columns.dense(np.ones((2, 4), np.float32), VALID, INDEX, "vec", 4)


def _tokens() -> pd.Series:
    return columns.multivector([np.ones((5, 4)), np.ones((2, 4))], VALID, INDEX, "tok", 4)


def test_to_scipy_refuses_a_dim_that_does_not_hold_every_index():
    with pytest.raises(ValueError, match="holds index 9, so dim must be at least 10"):
        dfembed.to_scipy(_sparse(), dim=9)
    with pytest.raises(ValueError, match="dim must be an int >= 0"):
        dfembed.to_scipy(_sparse(), dim=-1)
    matrix = dfembed.to_scipy(_sparse(), dim=10)
    assert matrix.shape == (3, 10) and matrix.sum() == pytest.approx(4.0)
    assert dfembed.to_scipy(_sparse()).shape == (3, 10)


def test_to_scipy_of_an_empty_column_may_have_no_columns():
    empty = columns.sparse([], np.array([False, False]), pd.Index([0, 1]), "sp")
    matrix = dfembed.to_scipy(empty, dim=0)
    assert matrix.shape == (2, 0) and matrix.nnz == 0


@pytest.mark.parametrize(
    ("function", "column", "message"),
    [
        (dfembed.to_numpy, _sparse, "this is a sparse vector column.*use dfembed.to_scipy"),
        (dfembed.to_numpy, _tokens, "this is a late-interaction column.*use dfembed.maxsim"),
        (dfembed.to_scipy, _dense, "this is a dense vector column.*use dfembed.to_numpy"),
        (dfembed.to_scipy, lambda: pd.Series([1.0, 2.0]), "this is a column of float64"),
    ],
)
def test_a_column_of_the_wrong_kind_says_what_it_is_and_what_reads_it(function, column, message):
    with pytest.raises(TypeError, match=message):
        function(column())


def test_an_object_column_of_arrays_with_missing_rows_gives_nan_rows():
    cells = [np.array([1.0, 2.0]), None, [3.0, 4.0], np.nan]
    matrix = dfembed.to_numpy(pd.Series(cells, dtype=object))
    assert matrix.dtype == np.float32 and matrix.shape == (4, 2)
    np.testing.assert_array_equal(matrix[[0, 2]], [[1, 2], [3, 4]])
    assert np.isnan(matrix[[1, 3]]).all()
    assert dfembed.to_numpy(pd.Series([None, None], dtype=object)).shape == (2, 0)


def test_the_zero_copy_matrix_is_read_only_and_a_null_row_copy_is_not():
    full = dfembed.to_numpy(_dense().dropna())
    assert not full.flags.writeable
    with_nulls = dfembed.to_numpy(_dense())
    assert with_nulls.flags.writeable and np.isnan(with_nulls[1]).all()
