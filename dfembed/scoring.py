"""Scoring late-interaction vectors: ColBERT's MaxSim.

For a query matrix ``Q`` (``[q_tokens, dim]``) and a document matrix ``D`` (``[d_tokens, dim]``),
MaxSim is ``sum_i max_j Q[i] . D[j]``: each query token is matched with its most similar
document token, and the matches add up. With the L2-normalized vectors that
``df.embed.late_interaction`` returns, each term is a cosine similarity.
"""

from __future__ import annotations

from itertools import compress

import numpy as np
import pandas as pd
import pyarrow as pa

from .errors import InputError

#: Document tokens scored per matrix product: bounds the ``[tokens, q_tokens]`` scratch array.
_TOKENS_PER_CHUNK = 1 << 18


def maxsim(query_vectors: np.ndarray | pd.Series, doc_series: pd.Series) -> np.ndarray:
    """ColBERT's MaxSim score of one query against each row of a late-interaction column.

    Parameters
    ----------
    query_vectors
        The query's ``[q_tokens, dim]`` matrix, or a one-row late-interaction Series (what
        ``query_frame.embed.late_interaction("q", query=True)`` returns for one query).
    doc_series
        A late-interaction column (``list<fixed_size_list<float32, dim>>``), or a Series of
        ``[tokens, dim]`` arrays.

    Returns
    -------
    A float32 array with one score per row of ``doc_series``, in its order; NaN where the
    document is null or has no tokens. Higher is more relevant.
    """
    query = _query_matrix(query_vectors)
    blocks = [_score(query, *block) for block in _blocks(doc_series, query.shape[1])]
    return np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)


def _score(query: np.ndarray, offsets: np.ndarray, flat: np.ndarray, valid: np.ndarray):
    """MaxSim of ``query`` against rows ``flat[offsets[i]:offsets[i + 1]]`` (NaN if not valid)."""
    scores = np.full(len(offsets) - 1, np.nan, dtype=np.float32)
    rows = np.flatnonzero(valid & (np.diff(offsets) > 0))
    row_ends = offsets[rows + 1]
    start = 0
    while start < len(rows):
        # whole documents, until the chunk holds _TOKENS_PER_CHUNK tokens (at least one document)
        limit = np.searchsorted(row_ends, offsets[rows[start]] + _TOKENS_PER_CHUNK, "right")
        stop = max(start + 1, int(limit))
        chunk = rows[start:stop]
        lo, hi = int(offsets[chunk[0]]), int(offsets[chunk[-1] + 1])
        sims = query @ flat[lo:hi].T  # [q_tokens, tokens]: reduceat runs along contiguous rows
        starts, ends = offsets[chunk] - lo, offsets[chunk + 1] - lo
        best = np.maximum.reduceat(sims, starts, axis=1)
        # reduceat's spans run to the next start: redo those that took in skipped rows' tokens
        for g in np.flatnonzero(ends[:-1] != starts[1:]):
            best[:, g] = sims[:, starts[g] : ends[g]].max(axis=1)
        scores[chunk] = best.sum(axis=0)
        start = stop
    return scores


def _query_matrix(query_vectors: np.ndarray | pd.Series) -> np.ndarray:
    if isinstance(query_vectors, pd.Series):
        if len(query_vectors) != 1:
            raise InputError(
                f"maxsim takes one query: got a Series of {len(query_vectors)} rows. Pass "
                "series.iloc[[i]] or loop over the queries."
            )
        cell = query_vectors.iloc[0]
        if _is_na(cell):
            raise InputError("The query row is null: embed a non-missing query text.")
        query_vectors = cell
    query = np.asarray(query_vectors, dtype=np.float32)
    if query.ndim != 2 or query.shape[0] == 0:
        raise InputError(
            f"The query must be a [tokens, dim] matrix, not shape {query.shape}: embed it with "
            "df.embed.late_interaction(..., query=True)."
        )
    return np.ascontiguousarray(query)


def _blocks(series: pd.Series, dim: int):
    """``(offsets, flat, valid)`` per Arrow chunk: row offsets into a ``[tokens, dim]`` matrix."""
    if isinstance(series.dtype, pd.ArrowDtype) and pa.types.is_list(series.dtype.pyarrow_dtype):
        inner = series.dtype.pyarrow_dtype.value_type
        if not pa.types.is_fixed_size_list(inner):
            raise InputError("maxsim needs a late-interaction column (list of fixed-size lists).")
        _check_dim(inner.list_size, dim)
        # chunk by chunk: combine_chunks would copy every vector
        for array in pa.chunked_array(series.array._pa_array).chunks:  # noqa: SLF001
            offsets = np.asarray(array.offsets, dtype=np.int64)  # rows of array.values
            tokens = array.values
            values = tokens.values.slice(tokens.offset * dim, len(tokens) * dim)
            flat = values.to_numpy(zero_copy_only=False).reshape(-1, dim)
            yield offsets, flat, ~np.asarray(array.is_null(), dtype=bool)
        return
    cells = list(series.to_numpy(dtype=object))
    valid = np.array([not _is_na(cell) for cell in cells], dtype=bool)
    mats = [np.asarray(c, dtype=np.float32) for c in compress(cells, valid)]
    if any(m.ndim != 2 for m in mats):
        raise InputError("maxsim needs a [tokens, dim] matrix in every non-null row.")
    for m in mats:
        _check_dim(m.shape[1], dim)
    lengths = np.zeros(len(cells), dtype=np.int64)
    lengths[valid] = [len(m) for m in mats]
    flat = np.concatenate(mats) if mats else np.zeros((0, dim), dtype=np.float32)
    yield np.concatenate([[0], np.cumsum(lengths)]), flat, valid


def _check_dim(width: int, dim: int) -> None:
    if width != dim:
        raise InputError(
            f"The documents have {width}-dim token vectors but the query has {dim}: "
            "embed both with the same model."
        )


def _is_na(cell) -> bool:
    if cell is None:
        return True
    return not isinstance(cell, np.ndarray | list | tuple) and bool(pd.isna(cell))
