"""Arrow-backed output columns, and getting plain arrays back out of them.

Vectors are stored as ``fixed_size_list<float32, dim>`` in a ``pd.ArrowDtype`` column:
built zero-copy from the encoder's matrix, compact in memory, fast to pickle between Dask
workers, and shown in notebooks as a list type with its width, not 384 numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from .spec import check_count


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


#: Each kind of column: what to call it, and what reads it (for a wrong call's error).
_KINDS = {
    "dense": ("a dense vector column (df.embed.text, df.embed.image)", "dfembed.to_numpy"),
    "sparse": ("a sparse vector column (df.embed.sparse)", "dfembed.to_scipy"),
    "multivector": (
        "a late-interaction column (df.embed.late_interaction)",
        "dfembed.maxsim to score it, or np.asarray(series.iloc[i]) for row i's matrix",
    ),
}


def column_kind(dtype) -> str | None:
    """Which dfembed column type ``dtype`` is: dense, sparse, multivector, or None."""
    if not isinstance(dtype, pd.ArrowDtype):
        return None
    arrow = dtype.pyarrow_dtype
    if pa.types.is_fixed_size_list(arrow):
        return "dense"
    if pa.types.is_list(arrow) and pa.types.is_fixed_size_list(arrow.value_type):
        return "multivector"
    if pa.types.is_struct(arrow) and {f.name for f in arrow} == {"indices", "values"}:
        return "sparse"
    return None


def _wrong_kind(function: str, wanted: str, dtype) -> TypeError:
    """The error of ``function`` on a column of ``dtype``: what it holds, and what reads it."""
    kind = column_kind(dtype)
    found = f"a column of {dtype}" if kind is None else "{}: use {}".format(*_KINDS[kind])
    return TypeError(f"{function} reads {_KINDS[wanted][0]}; this is {found}.")


def _arrow(series: pd.Series) -> pa.Array:
    """The Arrow array of an ArrowDtype column, in one chunk (zero-copy if it is one)."""
    chunked = pa.chunked_array(series.array._pa_array)  # noqa: SLF001 - documented attr
    return chunked.combine_chunks() if chunked.num_chunks != 1 else chunked.chunk(0)


def to_numpy(series: pd.Series) -> np.ndarray:
    """The ``(n, dim)`` float32 matrix of a dense vector column; null rows come back as NaN.

    Zero-copy when the column is one Arrow chunk without nulls: the matrix then shares the
    column's memory and is read-only (``.copy()`` it to write). An ``object`` column of
    arrays (``None`` for null rows) is stacked into a new matrix.

    Raises
    ------
    TypeError
        The column is a sparse or late-interaction column (use ``to_scipy`` or ``maxsim``).
    """
    kind = column_kind(series.dtype)
    if kind in ("sparse", "multivector"):
        raise _wrong_kind("to_numpy", "dense", series.dtype)
    if kind == "dense":
        array = _arrow(series)
        dim = array.type.list_size
        values = array.values.slice(array.offset * dim, len(array) * dim)
        matrix = values.to_numpy(zero_copy_only=False).reshape(len(array), dim)
        if array.null_count:
            matrix = matrix.astype(np.float32, copy=True)
            matrix[np.asarray(array.is_null())] = np.nan
        return matrix
    return _stack(series)


def _stack(series: pd.Series) -> np.ndarray:
    """The matrix of a column of arrays or lists; missing cells give NaN rows."""
    cells = series.to_numpy(dtype=object)
    present = np.array([not _missing(cell) for cell in cells], dtype=bool)
    rows = [np.asarray(cell, dtype=np.float32) for cell in cells[present]]
    if not rows:
        return np.zeros((len(cells), 0), dtype=np.float32)
    stacked = np.stack(rows)
    if present.all():
        return stacked
    matrix = np.full((len(cells), stacked.shape[1]), np.nan, dtype=np.float32)
    matrix[present] = stacked
    return matrix


def _missing(cell: object) -> bool:
    """Whether an ``object`` cell is a missing value (None, NaN, pd.NA), not an array."""
    return cell is None or (np.ndim(cell) == 0 and bool(pd.isna(cell)))


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

    Raises
    ------
    TypeError
        The column is not a sparse-vector column.
    ValueError
        ``dim`` is negative, or not above the largest index in the column.
    """
    try:
        from scipy.sparse import csr_matrix
    except ImportError as exc:
        raise ImportError(
            "dfembed.to_scipy needs scipy, which dfembed does not install: pip install scipy"
        ) from exc
    if column_kind(series.dtype) != "sparse":
        raise _wrong_kind("to_scipy", "sparse", series.dtype)
    array = _arrow(series)
    indices = array.field("indices")
    values = array.field("values")
    offsets = np.zeros(len(array) + 1, dtype=np.int64)
    lengths = np.asarray(indices.value_lengths().fill_null(0), dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    # rows dfembed writes as null have null children too, so flatten() skips them
    flat_idx = indices.flatten().to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    flat_val = values.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    return csr_matrix((flat_val, flat_idx, offsets), shape=(len(array), _width(flat_idx, dim)))


def _width(indices: np.ndarray, dim: int | None) -> int:
    """The matrix's column count: ``dim``, checked to hold every index, or the largest + 1."""
    largest = int(indices.max()) if len(indices) else -1
    if dim is None:
        return largest + 1
    dim = check_count(dim, "dim", 0, none="the largest index + 1")
    if dim <= largest:
        raise ValueError(
            f"dim={dim} is too small: the column holds index {largest}, so dim must be at "
            f"least {largest + 1} (the model's vocabulary size), or None."
        )
    return dim


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
