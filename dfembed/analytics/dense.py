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
EXACT_BATCH = 4096


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

    def scaled(self) -> np.ndarray:
        """The float32 rows the product uses: unit length for cosine (zero vectors stay
        zero), the vectors themselves for dot."""
        if self.metric != "cosine":
            return self.matrix
        inverse = np.divide(1.0, self.norms, out=np.zeros_like(self.norms), where=self.norms > 0)
        return self.matrix * inverse.astype(np.float32)[:, None]


def prepare(matrix: np.ndarray, metric: str) -> Vectors:
    """Vectors of a ``(n, dim)`` matrix for ``metric`` (``"cosine"`` or ``"dot"``)."""
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    norms = np.empty(len(matrix), dtype=np.float64)
    for start in range(0, len(matrix), EXACT_BATCH):
        part = matrix[start : start + EXACT_BATCH].astype(np.float64)
        norms[start : start + len(part)] = np.sqrt((part * part).sum(axis=1))
    return Vectors(matrix, norms, metric)


def exact(a: Vectors, ia: np.ndarray, b: Vectors, ib: np.ndarray) -> np.ndarray:
    """The exact float32 scores of pairs ``(a[ia[n]], b[ib[n]])``: cosine (0 for a zero
    vector) or dot product, summed in float64 and rounded once."""
    out = np.empty(len(ia), dtype=np.float32)
    for start in range(0, len(ia), EXACT_BATCH):
        sa, sb = ia[start : start + EXACT_BATCH], ib[start : start + EXACT_BATCH]
        dots = (a.matrix[sa].astype(np.float64) * b.matrix[sb].astype(np.float64)).sum(axis=1)
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
    small: it sets each query's bar cheaply, and later chunks only rescore rows above it."""
    step = max(1, CELLS // len(queries))
    scaled = queries.scaled()
    start, size = 0, max(1, step // 16)
    while start < len(rows):
        chunk = rows.take(slice(start, start + size))

        def rescore(qi, ci, chunk=chunk):
            return exact(queries, qi, chunk, ci)

        yield start, scaled @ chunk.scaled().T, margin(queries, chunk), rescore
        start, size = start + size, step


def pairs(a: Vectors, threshold: float, b: Vectors | None = None, block: int = 2048):
    """Every pair scoring at least ``threshold``: ``(i, j, score)`` with ``i`` a row of ``a``
    and ``j`` of ``b``; without ``b``, pairs of rows of ``a`` with ``i < j``. Blockwise, so
    memory stays at ``block**2`` scores whatever the row count."""
    same = b is None
    b = a if same else b
    found = [empty()]
    for i0 in range(0, len(a), block):
        ia = a.take(slice(i0, i0 + block))
        left = ia.scaled()
        for j0 in range(i0 if same else 0, len(b), block):
            jb = b.take(slice(j0, j0 + block))
            scores = left @ jb.scaled().T
            mask = scores >= (threshold - margin(ia, jb))[:, None]
            if same and i0 == j0:
                mask &= np.triu(np.ones(mask.shape, dtype=bool), k=1)
            ii, jj = np.nonzero(mask)
            score = exact(ia, ii, jb, jj)
            keep = score >= threshold
            found.append((ii[keep] + i0, jj[keep] + j0, score[keep]))
    return tuple(np.concatenate(parts) for parts in zip(*found, strict=True))
