"""Top-k bookkeeping: selecting each query's best rows chunk by chunk, and merging the
best rows of several partitions into one exact answer.

Row order is the tie-break everywhere: a partition's rows are ranked by (score, position),
and partitions' hits by (score, partition number, position), which is the order a stable
sort of all scores (``np.argsort(-scores, kind="stable")``) gives on the whole column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: One chunk of rows for :func:`select`: its first row, the ``[queries, rows]`` scores (or
#: an approximation of them), each query's bound on the approximation's error, and a
#: function giving the exact scores of ``(query, row-in-chunk)`` pairs.
Chunk = tuple[int, np.ndarray, np.ndarray, Callable[[np.ndarray, np.ndarray], np.ndarray]]


def empty() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """No hits: ``(query, row, score)`` arrays of length 0."""
    return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)


def rank_within(groups: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each run of equal values of a sorted array."""
    if len(groups) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    lengths = np.diff(np.r_[starts, len(groups)])
    return np.arange(len(groups)) - np.repeat(starts, lengths)


def _best(qi: np.ndarray, ri: np.ndarray, score: np.ndarray, k: int | None):
    """Hits sorted by query, score (best first), row; each query's first ``k`` kept."""
    order = np.lexsort((ri, -score, qi))
    if k is not None:
        order = order[rank_within(qi[order]) < k]
    return qi[order], ri[order], score[order]


def select(chunks: Iterable[Chunk], queries: int, k: int | None, threshold: float | None):
    """Each query's ``k`` best rows (all if None) scoring at least ``threshold`` (if given).

    Candidates are the rows whose approximate score is within the error bound of what could
    still enter a query's top ``k``; only they are scored exactly. Returns ``(query, row,
    score)`` sorted by query, exact score (best first), row.
    """
    # the exact score a row must reach: the threshold (compared in float32, as numpy
    # compares a float32 column with a Python float), then each full query's k-th best
    floor = np.full(queries, -np.inf if threshold is None else float(np.float32(threshold)))
    best = empty()
    buffer = np.empty(0, dtype=bool)
    for start, scores, err, rescore in chunks:
        width = scores.shape[1]
        if buffer.size < scores.size:
            buffer = np.empty(scores.size, dtype=bool)
        mask = np.greater_equal(
            scores, (floor - err)[:, None], out=buffer[: scores.size].reshape(scores.shape)
        )
        count = np.count_nonzero(mask)
        if count == 0:  # once each query has its k rows, most chunks add nothing
            continue
        if k is not None and width > k and count > 4 * k * queries + 1024:
            kth = np.partition(scores, width - k, axis=1)[:, width - k]
            mask &= scores >= (kth - 2 * err)[:, None]
        qi, ci = np.nonzero(mask)
        score = rescore(qi, ci)
        keep = score >= floor[qi]
        found = (qi[keep], ci[keep] + start, score[keep])
        best = _best(*(np.concatenate(pair) for pair in zip(best, found, strict=True)), k)
        if k is not None:
            counts = np.bincount(best[0], minlength=queries)
            full = counts >= k
            # a later row must beat a full query's k-th best (a tie loses to the earlier row)
            floor[full] = np.maximum(floor[full], best[2][np.cumsum(counts)[full] - 1])
    return best


@dataclass
class Hits:
    """The best rows found so far, from one or more partitions.

    Parallel arrays: query number, exact score, partition number, position in the
    partition; ``rows`` holds the matched rows' labels (its index) and any columns carried
    along (a similarity join's right-hand columns). ``skipped`` counts null rows passed over.
    """

    query: np.ndarray
    score: np.ndarray
    part: np.ndarray
    pos: np.ndarray
    rows: pd.DataFrame
    skipped: int = 0


def merge(hits: Sequence[Hits], k: int | None) -> Hits:
    """Merge hits of several partitions: each query's ``k`` best by (score, partition, position)."""
    query = np.concatenate([h.query for h in hits])
    score = np.concatenate([h.score for h in hits])
    part = np.concatenate([h.part for h in hits])
    pos = np.concatenate([h.pos for h in hits])
    order = np.lexsort((pos, part, -score, query))
    if k is not None:
        order = order[rank_within(query[order]) < k]
    rows = pd.concat([h.rows for h in hits]) if len(hits) > 1 else hits[0].rows
    return Hits(
        query=query[order],
        score=score[order],
        part=part[order],
        pos=pos[order],
        rows=rows.iloc[order],
        skipped=sum(h.skipped for h in hits),
    )


def tidy(hits: Hits, labels: pd.Index) -> pd.DataFrame:
    """The long result: one row per (query, rank), query labels from ``labels``."""
    return pd.DataFrame(
        {
            "query": labels.take(hits.query),
            "rank": rank_within(hits.query) + 1,
            "row": hits.rows.index,
            "score": hits.score,
        }
    )
