"""Compact views of frames holding dfembed columns, for notebooks and logs.

pandas prints a vector cell as its first numbers, cut at ``display.max_colwidth``: the width
and the kind of the column are only visible in ``df.dtypes``. :func:`preview` returns a copy
in which each dfembed vector column (dense, sparse or per-token) is replaced by one short
string per row that says what the cell holds (score columns are plain floats already). It
changes nothing global: pandas' own formatting is untouched, and the copy is for looking at,
not for computing with.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from .columns import column_kind, to_numpy

#: How many leading values (dense) or largest weights (sparse) a cell shows.
DEFAULT_SHOWN = 3


def preview(
    obj: pd.DataFrame | pd.Series, shown: int = DEFAULT_SHOWN, digits: int = 3
) -> pd.DataFrame | pd.Series:
    """A copy of ``obj`` whose vector columns read as short summaries.

    Parameters
    ----------
    obj
        A pandas DataFrame or Series, e.g. ``df.head()`` after ``df["vec"] = df.embed.text(...)``.
        Summarizing formats every row in Python: preview a slice, not ten million rows.
    shown
        Values shown per cell: the first ``shown`` components of a dense vector, the
        ``shown`` largest weights of a sparse one.
    digits
        Decimal places of the numbers shown.

    Returns
    -------
    The same kind of object with the same index; dense cells read ``384d [0.012, -0.034, …]``,
    sparse cells ``31 nnz {2307: 1.85, 3185: 1.63, …}``, per-token cells ``12 × 128``. Null
    cells stay missing, and other columns are returned as they are.
    """
    if isinstance(obj, pd.Series):
        return _summarize(obj, shown, digits)
    if not isinstance(obj, pd.DataFrame):
        raise TypeError(f"preview takes a pandas DataFrame or Series, not {type(obj).__name__}.")
    out = obj.copy(deep=False)
    # by position: a duplicated column name would select a DataFrame, not one column
    for position, dtype in enumerate(obj.dtypes):
        if column_kind(dtype) is not None:
            out.isetitem(position, _summarize(obj.iloc[:, position], shown, digits))
    return out


def _summarize(series: pd.Series, shown: int, digits: int) -> pd.Series:
    kind = column_kind(series.dtype)
    if kind is None:
        return series
    array = pa.chunked_array(series.array._pa_array).combine_chunks()  # noqa: SLF001
    valid = ~np.asarray(array.is_null(), dtype=bool)
    if kind == "dense":
        dim = array.type.list_size
        head = to_numpy(series)[:, :shown]
        cells = [_dense(dim, row, digits) for row in head]
    elif kind == "multivector":
        width = array.type.value_type.list_size
        lengths = array.value_lengths().fill_null(0).to_numpy(zero_copy_only=False)
        cells = [f"{n} × {width}" for n in lengths]
    else:
        cells = [_sparse(row, shown, digits) for row in array.to_pylist()]
    out = np.array(cells, dtype=object)
    out[~valid] = None
    return pd.Series(out, index=series.index, name=series.name, dtype=object)


def _number(value: float, digits: int) -> str:
    return f"{value:.{digits}f}" if np.isfinite(value) else str(value)


def _dense(dim: int, head: np.ndarray, digits: int) -> str:
    more = ", …" if dim > len(head) else ""
    return f"{dim}d [{', '.join(_number(v, digits) for v in head)}{more}]"


def _sparse(row: dict | None, shown: int, digits: int) -> str | None:
    if row is None:
        return None
    indices, values = row["indices"] or [], row["values"] or []
    order = np.argsort(-np.asarray(values, dtype=np.float64), kind="stable")[:shown]
    top = ", ".join(f"{indices[i]}: {_number(values[i], digits)}" for i in order)
    more = ", …" if len(values) > shown else ""
    return f"{len(values)} nnz {{{top}{more}}}"
