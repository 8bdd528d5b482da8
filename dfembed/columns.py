"""Arrow-backed output columns, and getting plain arrays back out of them.

Vectors are stored as ``fixed_size_list<float32, dim>`` in a ``pd.ArrowDtype`` column:
built zero-copy from the encoder's matrix, compact in memory, fast to pickle between Dask
workers, and shown in notebooks as a list type with its width, not 384 numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa


def dense_type(dim: int) -> pd.ArrowDtype:
    """The dtype of a column of ``dim``-wide float32 vectors."""
    return pd.ArrowDtype(pa.list_(pa.float32(), dim))


def dense(
    matrix: np.ndarray | None, valid: np.ndarray, index: pd.Index, name, dim: int
) -> pd.Series:
    """A vector column with one row per ``index`` label; rows where ``valid`` is False are null.

    ``matrix`` holds the valid rows only, in order.
    """
    n = len(valid)
    if matrix is None or len(matrix) == 0:
        matrix = np.zeros((0, dim), dtype=np.float32)
    dim = matrix.shape[1] if matrix.ndim == 2 and matrix.shape[0] else dim
    if valid.all():
        full = np.ascontiguousarray(matrix, dtype=np.float32)
        mask = None
    else:
        full = np.zeros((n, dim), dtype=np.float32)
        full[valid] = matrix
        mask = pa.array(~valid)
    flat = pa.array(full.reshape(-1))
    array = pa.FixedSizeListArray.from_arrays(flat, dim, mask=mask)
    return pd.Series(pd.arrays.ArrowExtensionArray(array), index=index, name=name)


def to_numpy(series: pd.Series) -> np.ndarray:
    """The ``(n, dim)`` float32 matrix of a vector column; null rows come back as NaN.

    Zero-copy when the column is one Arrow chunk without nulls.
    """
    if isinstance(series.dtype, pd.ArrowDtype):
        chunked = pa.chunked_array(series.array._pa_array)  # noqa: SLF001 - documented attr
        array = chunked.combine_chunks() if chunked.num_chunks != 1 else chunked.chunk(0)
        if pa.types.is_fixed_size_list(array.type):
            dim = array.type.list_size
            values = array.values.slice(array.offset * dim, len(array) * dim)
            matrix = values.to_numpy(zero_copy_only=False).reshape(len(array), dim)
            if array.null_count:
                matrix = matrix.astype(np.float32, copy=True)
                matrix[np.asarray(array.is_null())] = np.nan
            return matrix
    rows = [np.asarray(v, dtype=np.float32) for v in series.to_numpy(dtype=object) if v is not None]
    if len(rows) != len(series):
        raise ValueError("to_numpy needs a vector column without nulls, or an ArrowDtype column.")
    return np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32)
