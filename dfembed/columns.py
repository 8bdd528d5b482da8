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


def sparse_type() -> pd.ArrowDtype:
    """The dtype of a sparse-vector column: ``struct<indices: list<int32>, values: ...>``."""
    return pd.ArrowDtype(
        pa.struct([("indices", pa.list_(pa.int32())), ("values", pa.list_(pa.float32()))])
    )


def sparse(outputs, valid: np.ndarray, index: pd.Index, name) -> pd.Series:
    """A sparse-vector column; ``outputs`` holds ``(indices, values)`` of the valid rows."""
    outputs = list(outputs) if outputs is not None else []
    indices = [None] * len(valid)
    values = [None] * len(valid)
    for row, (idx, val) in zip(np.flatnonzero(valid), outputs, strict=True):
        indices[row] = np.asarray(idx, dtype=np.int32)
        values[row] = np.asarray(val, dtype=np.float32)
    struct = pa.StructArray.from_arrays(
        [pa.array(indices, pa.list_(pa.int32())), pa.array(values, pa.list_(pa.float32()))],
        names=["indices", "values"],
        mask=pa.array(~valid),
    )
    return pd.Series(pd.arrays.ArrowExtensionArray(struct), index=index, name=name)


def to_scipy(series: pd.Series, dim: int | None = None):
    """A ``scipy.sparse.csr_matrix`` of a sparse-vector column (null rows are empty rows).

    ``dim`` is the number of columns (the model's vocabulary); by default the largest index
    seen plus one.
    """
    from scipy.sparse import csr_matrix

    array = pa.chunked_array(series.array._pa_array).combine_chunks()
    indices = array.field("indices")
    values = array.field("values")
    offsets = np.zeros(len(array) + 1, dtype=np.int64)
    lengths = np.asarray(indices.value_lengths().fill_null(0), dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    # rows dfembed writes as null have null children too, so flatten() skips them
    flat_idx = indices.flatten().to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    flat_val = values.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    width = dim if dim is not None else int(flat_idx.max()) + 1 if len(flat_idx) else 0
    return csr_matrix((flat_val, flat_idx, offsets), shape=(len(array), width))


def multivector_type(dim: int) -> pd.ArrowDtype:
    """The dtype of a per-token vector column: ``list<fixed_size_list<float32, dim>>``."""
    return pd.ArrowDtype(pa.list_(pa.list_(pa.float32(), dim)))


def multivector(outputs, valid: np.ndarray, index: pd.Index, name, dim: int) -> pd.Series:
    """A column holding a ``[tokens, dim]`` matrix per row (late interaction)."""
    outputs = list(outputs) if outputs is not None else []
    lengths = np.zeros(len(valid), dtype=np.int32)
    mats = [np.asarray(m, dtype=np.float32).reshape(-1, dim) for m in outputs]
    lengths[valid] = [len(m) for m in mats]
    offsets = np.zeros(len(valid) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    flat = np.concatenate(mats).reshape(-1) if mats else np.zeros(0, np.float32)
    inner = pa.FixedSizeListArray.from_arrays(pa.array(flat, pa.float32()), dim)
    array = pa.ListArray.from_arrays(pa.array(offsets), inner, mask=pa.array(~valid))
    return pd.Series(pd.arrays.ArrowExtensionArray(array), index=index, name=name)


def scores(outputs, valid: np.ndarray, index: pd.Index, name) -> pd.Series:
    """A float32 score per row; rows with missing input get NaN."""
    full = np.full(len(valid), np.nan, dtype=np.float32)
    if outputs is not None and len(outputs):
        full[valid] = np.asarray(outputs, dtype=np.float32).reshape(-1)
    return pd.Series(full, index=index, name=name)
