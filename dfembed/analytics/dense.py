"""Exact dense scoring: a fast float32 product to find candidates, an exact score to rank them.

A float32 matrix product does not give the same bits for the same pair of vectors in every
call: OpenBLAS picks its kernels and blocking by the matrices' shapes, so a row scored in a
16-row partition and in a 1M-row one can differ in the last bit. Ranking on those scores
would make ties, and so the answer, depend on how the column is partitioned. Here the
product only *selects* candidates, with a margin that provably covers its rounding error
(at most ``(dim + 16) * 2**-24`` of ``|x| |q|``); every candidate is then scored exactly
once more, row by row in float64 (products of float32 values are exact in float64), and
rounded to float32. That score depends on the two vectors alone, so pandas, Dask, any
partitioning and a float64 brute force (``X64 @ Q64.T``) agree, ties included.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .topk import empty, select

#: Unit roundoff of float32.
U32 = 2.0**-24
#: Score cells per float32 product (the ``[queries, rows]`` scratch): 32 MiB.
CELLS = 1 << 23
#: Most queries scored in one product; more are taken in blocks.
QUERY_BLOCK = 4096
#: Rows per exact (float64) scoring batch.
EXACT_BATCH = 1024

# Scratch arrays are allocated once per call and reused chunk after chunk: Dask's nanny
# starts workers with MALLOC_TRIM_THRESHOLD_=65536, under which glibc maps every large
# array afresh, and a new 32 MiB array per chunk made a worker's search 2-3x slower.


@dataclass(frozen=True)
class Vectors:
    """Float32 vectors prepared for scoring: the vectors and their float64 norms."""

    matrix: np.ndarray
    norms: np.ndarray
    metric: str

    def __len__(self) -> int:
        return len(self.matrix)

    def take(self, rows: np.ndarray | slice) -> Vectors:
        return Vectors(self.matrix[rows], self.norms[rows], self.metric)

    def scaled(self, out: np.ndarray | None = None) -> np.ndarray:
        """The float32 rows the product uses: unit length for cosine (zero vectors stay
        zero), the vectors themselves for dot; written into ``out`` if given."""
        if self.metric != "cosine":
            return self.matrix
        inverse = np.divide(1.0, self.norms, out=np.zeros_like(self.norms), where=self.norms > 0)
        out = np.empty_like(self.matrix) if out is None else out[: len(self.matrix)]
        return np.multiply(self.matrix, inverse.astype(np.float32)[:, None], out=out)


def prepare(matrix: np.ndarray, metric: str) -> Vectors:
    """Vectors of a ``(n, dim)`` matrix for ``metric`` (``"cosine"`` or ``"dot"``)."""
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    norms = np.empty(len(matrix), dtype=np.float64)
    scratch = np.empty((min(EXACT_BATCH, len(matrix)), matrix.shape[1]), dtype=np.float64)
    for start in range(0, len(matrix), EXACT_BATCH):
        part = scratch[: len(matrix[start : start + EXACT_BATCH])]
        part[:] = matrix[start : start + EXACT_BATCH]
        np.square(part, out=part)
        norms[start : start + len(part)] = np.sqrt(part.sum(axis=1))
    return Vectors(matrix, norms, metric)


def exact(a: Vectors, ia: np.ndarray, b: Vectors, ib: np.ndarray) -> np.ndarray:
    """The exact float32 scores of pairs ``(a[ia[n]], b[ib[n]])``: cosine (0 for a zero
    vector) or dot product, summed in float64 and rounded once."""
    out = np.empty(len(ia), dtype=np.float32)
    size = (min(EXACT_BATCH, len(ia)), a.matrix.shape[1])
    left, right = np.empty(size, dtype=np.float64), np.empty(size, dtype=np.float64)
    for start in range(0, len(ia), EXACT_BATCH):
        sa, sb = ia[start : start + EXACT_BATCH], ib[start : start + EXACT_BATCH]
        x, y = left[: len(sa)], right[: len(sa)]
        x[:] = a.matrix[sa]  # float32 to float64: each product below is exact
        y[:] = b.matrix[sb]
        dots = np.multiply(x, y, out=x).sum(axis=1)
        if a.metric == "cosine":
            scale = a.norms[sa] * b.norms[sb]
            dots = np.divide(dots, scale, out=np.zeros_like(dots), where=scale > 0)
        out[start : start + len(sa)] = dots
    return out


def margin(a: Vectors, b: Vectors) -> np.ndarray:
    """A bound on ``|product score - exact score|`` for each row of ``a`` against any of ``b``."""
    per_unit = (a.matrix.shape[1] + 16) * U32
    if a.metric == "cosine":
        return np.full(len(a), per_unit)
    largest = float(b.norms.max()) if len(b) else 0.0
    return per_unit * a.norms * largest


def search(queries: Vectors, rows: Vectors, k: int | None, threshold: float | None):
    """The best rows for each query: its ``k`` highest exact scores (all if ``k`` is None),
    each at least ``threshold`` (if given); ties keep the earlier row.

    Returns ``(query, row, score)`` arrays sorted by query, score (best first), row.
    """
    found = [empty()]
    for start in range(0, len(queries), QUERY_BLOCK):
        block = queries.take(slice(start, start + QUERY_BLOCK))
        qi, ri, score = select(_chunks(block, rows), len(block), k, threshold)
        found.append((qi + start, ri, score))
    return tuple(np.concatenate(parts) for parts in zip(*found, strict=True))


def _chunks(queries: Vectors, rows: Vectors):
    """Row chunks of at most :data:`CELLS` product scores, for :func:`select`. The first is
    small: it sets each query's bar cheaply, and later chunks only rescore rows above it.
    The scores of a chunk live in one reused buffer: valid until the next chunk."""
    step = min(max(1, CELLS // len(queries)), len(rows))
    scaled = queries.scaled()
    rows_buffer = np.empty((step, rows.matrix.shape[1]), dtype=np.float32)
    scores_buffer = np.empty(len(queries) * step, dtype=np.float32)
    start, size = 0, max(1, step // 16)
    while start < len(rows):
        chunk = rows.take(slice(start, start + size))
        scores = scores_buffer[: len(queries) * len(chunk)].reshape(len(queries), len(chunk))
        np.matmul(scaled, chunk.scaled(rows_buffer).T, out=scores)

        def rescore(qi, ci, chunk=chunk):
            return exact(queries, qi, chunk, ci)

        yield start, scores, margin(queries, chunk), rescore
        start, size = start + size, step


def pairs(a: Vectors, threshold: float, b: Vectors | None = None, block: int = 2048):
    """Every pair scoring at least ``threshold``: ``(i, j, score)`` with ``i`` a row of ``a``
    and ``j`` of ``b``; without ``b``, pairs of rows of ``a`` with ``i < j``. Blockwise, so
    memory stays at ``block**2`` scores whatever the row count."""
    same = b is None
    b = a if same else b
    found = [empty()]
    size = min(block, max(len(a), 1))
    scores_buffer = np.empty(size * min(block, max(len(b), 1)), dtype=np.float32)
    mask_buffer = np.empty(scores_buffer.shape, dtype=bool)
    rows_buffer = np.empty((min(block, max(len(b), 1)), a.matrix.shape[1]), dtype=np.float32)
    upper = np.triu(np.ones((size, size), dtype=bool), k=1)
    for i0 in range(0, len(a), block):
        ia = a.take(slice(i0, i0 + block))
        left = ia.scaled()
        bar = float(np.float32(threshold)) - margin(ia, b)
        for j0 in range(i0 if same else 0, len(b), block):
            jb = b.take(slice(j0, j0 + block))
            shape = (len(ia), len(jb))
            scores = scores_buffer[: shape[0] * shape[1]].reshape(shape)
            np.matmul(left, jb.scaled(rows_buffer).T, out=scores)
            mask = np.greater_equal(
                scores, bar[:, None], out=mask_buffer[: scores.size].reshape(shape)
            )
            if same and i0 == j0:
                mask &= upper[: shape[0], : shape[1]]
            ii, jj = np.nonzero(mask)
            score = exact(ia, ii, jb, jj)
            keep = score >= np.float32(threshold)
            found.append((ii[keep] + i0, jj[keep] + j0, score[keep]))
    return tuple(np.concatenate(parts) for parts in zip(*found, strict=True))
