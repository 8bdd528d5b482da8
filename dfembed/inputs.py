"""Checking a column's values before they reach a model.

Missing values (``None``, ``NaN``, ``pd.NA``, ``NaT``) become null output rows: a documented
choice, so a table with gaps still embeds. Anything else that is not a string is a
mistake the user should hear about, with the offending row's label and type.
"""

from __future__ import annotations

import difflib

import numpy as np
import pandas as pd
import pyarrow as pa

from .errors import InputError


def missing_mask(values: pd.Series) -> np.ndarray:
    """True where a cell is missing (None, NaN, pd.NA, NaT)."""
    return np.asarray(pd.isna(values), dtype=bool)


def texts(values: pd.Series, column: object) -> tuple[np.ndarray, list[str]]:
    """Valid-row mask and the strings to embed; raise on non-string, non-missing cells.

    Lone UTF-16 surrogates (which Python strings can hold but UTF-8 cannot) are replaced
    by U+FFFD so that such a text still embeds instead of failing the whole batch.
    """
    values = without_string_view(values)
    valid = ~missing_mask(values)
    if arrow_strings(values):
        return valid, shared_strings(values, valid)
    cells = values.to_numpy(dtype=object)[valid]
    bad = [i for i, cell in enumerate(cells) if not isinstance(cell, str)]
    if bad:
        labels = values.index[valid]
        first = cells[bad[0]]
        raise InputError(
            f"{describe_column(column)} holds a cell of type {type(first).__name__} at index label "
            f"{show(labels[bad[0]])} ({len(bad)} non-text cell(s) in all); dfembed embeds "
            "strings and treats None/NaN as missing. Convert with .astype(str) if that is "
            "intended."
        )
    return valid, [_clean(cell) for cell in cells]


def show(label: object) -> str:
    """A label as messages print it: numpy scalars as their value (``9``, not ``np.int64(9)``)."""
    if isinstance(label, (np.datetime64, np.timedelta64)):
        return str(label)
    if isinstance(label, np.generic):
        label = label.item()
    return repr(label)


def describe_column(column: object) -> str:
    """How messages name the values checked: a column by its label, an unnamed Series as such."""
    return "The Series" if column is None else f"Column {show(column)}"


def without_string_view(values: pd.Series) -> pd.Series:
    """An Arrow ``string_view`` column as ``large_string``, which every kernel used here has.

    Filtering a ``string_view`` column with nulls raises ``ArrowNotImplementedError``.
    """
    dtype = values.dtype
    # by name: pyarrow < 16 has neither the type nor pa.types.is_string_view
    if not (isinstance(dtype, pd.ArrowDtype) and str(dtype.pyarrow_dtype) == "string_view"):
        return values
    array = pa.array(values.array).cast(pa.large_string())
    return pd.Series(pd.arrays.ArrowExtensionArray(array), index=values.index, name=values.name)


def arrow_strings(values: pd.Series) -> bool:
    """Whether ``values`` is an Arrow-backed string column (pandas 3's default ``str``).

    Such a column can only hold valid UTF-8 strings or missing values, so it needs neither
    the type check nor the surrogate cleaning of an ``object`` column.
    """
    dtype = values.dtype
    if isinstance(dtype, pd.StringDtype):
        return dtype.storage == "pyarrow"
    if isinstance(dtype, pd.ArrowDtype):
        arrow_type = dtype.pyarrow_dtype
        return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)
    return False


def shared_strings(values: pd.Series, valid: np.ndarray) -> list[str]:
    """The valid cells of an Arrow string column as Python strings, one object per distinct text.

    Converting cell by cell would make a new ``str`` object for every row: for 100,000 rows
    of 2,000 distinct snippets, ~16 MB of copies before deduplication. Factorizing in Arrow
    first makes one object per distinct text, which every row holding it shares.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    objects = np.asarray(uniques, dtype=object)
    return objects[codes[valid]].tolist()


def pairs(
    values: pd.Series, column: object, query: str | None, queries: pd.Series | None
) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """``(query, text)`` pairs for reranking: one fixed query, or a query column per row.

    A row is null when its text or its query is missing.
    """
    values = without_string_view(values)
    if queries is None:
        if not isinstance(query, str):
            raise InputError("rerank needs a query string, or query_column= naming a column.")
        valid, docs = texts(values, column)
        return valid, [(query, doc) for doc in docs]
    queries = without_string_view(queries)
    q_valid, _ = texts(queries, queries.name)
    d_valid, _ = texts(values, column)
    valid = q_valid & d_valid
    q_cells = queries.to_numpy(dtype=object)[valid]
    d_cells = values.to_numpy(dtype=object)[valid]
    return valid, [(_clean(q), _clean(d)) for q, d in zip(q_cells, d_cells, strict=True)]


def _clean(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def check_column(frame: pd.DataFrame, column: object) -> None:
    """Raise an :class:`InputError` unless ``column`` selects exactly one column of ``frame``.

    An absent label names the closest columns; a duplicated label, or a top-level label of
    MultiIndex columns, selects a frame rather than a column.
    """
    if column not in frame.columns:
        names = [str(c) for c in frame.columns]
        close = difflib.get_close_matches(str(column), names, n=3, cutoff=0.6)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise InputError(f"No column {show(column)} in the frame (columns: {names[:20]}).{hint}")
    selected = _selected(frame.columns, column)
    if selected != 1 or not _full_label(frame.columns, column):
        raise InputError(
            f"The label {show(column)} selects {selected} column(s) as a DataFrame, not one "
            "column: pass a unique label (rename duplicated columns; with MultiIndex "
            "columns, pass the full tuple, such as ('a', 'x'))."
        )


def _selected(columns: pd.Index, column: object) -> int:
    """How many columns the label ``column`` (present in ``columns``) selects."""
    where = columns.get_loc(column)
    if isinstance(where, slice):
        return len(range(*where.indices(len(columns))))
    if isinstance(where, np.ndarray):
        return int(where.sum())
    return 1


def _full_label(columns: pd.Index, column: object) -> bool:
    """Whether ``column`` names a single column rather than a group of MultiIndex columns."""
    if not isinstance(columns, pd.MultiIndex):
        return True
    return isinstance(column, tuple) and len(column) == columns.nlevels
