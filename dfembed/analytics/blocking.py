"""Blocking for near-duplicate search: cluster a sample, then compare rows within clusters.

Comparing every pair of a million rows is 5 * 10**11 dot products. Near-duplicates are very
close, so they almost always fall in the same region of the space: spherical k-means on a
sample (a few iterations, NumPy) cuts the space into clusters of about ``cluster_rows``
rows; each row joins its ``assign`` nearest clusters (two by default: a pair astride a
border still shares one), and pairs are only looked for inside a cluster. This is how
semantic deduplication is done at scale (SemDeDup, NeMo Curator); what it misses is
measured by ``near_duplicates(..., recall_sample=...)`` against exact search.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import dense
from .kinds import dense_rows

#: Lloyd iterations of k-means: the clusters only need to be good enough to block on.
ITERATIONS = 10


def kmeans(sample: np.ndarray, clusters: int, seed: int) -> np.ndarray:
    """Spherical k-means of unit rows: ``clusters`` unit centroids (float32)."""
    rng = np.random.default_rng(seed)
    clusters = min(clusters, len(sample))
    centroids = sample[rng.choice(len(sample), clusters, replace=False)].copy()
    for _ in range(ITERATIONS):
        labels, best = _nearest_centroid(sample, centroids)
        counts = np.bincount(labels, minlength=clusters)
        order = np.argsort(labels, kind="stable")
        sums = np.zeros(centroids.shape, dtype=np.float64)
        filled = np.flatnonzero(counts)
        starts = np.r_[0, np.cumsum(counts[filled])[:-1]]
        sums[filled] = np.add.reduceat(sample[order].astype(np.float64), starts, axis=0)
        empty = np.flatnonzero(counts == 0)
        if len(empty):  # reseed empty clusters with the rows their centroids fit worst
            sums[empty] = sample[np.argsort(best)[: len(empty)]]
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        centroids = (sums / np.where(norms > 0, norms, 1.0)).astype(np.float32)
    return centroids


def _nearest_centroid(rows: np.ndarray, centroids: np.ndarray):
    labels = np.empty(len(rows), dtype=np.int64)
    best = np.empty(len(rows), dtype=np.float32)
    step = max(1, dense.CELLS // max(len(centroids), 1))
    for start in range(0, len(rows), step):
        sims = rows[start : start + step] @ centroids.T
        labels[start : start + step] = sims.argmax(axis=1)
        best[start : start + step] = sims.max(axis=1)
    return labels, best


def assign(rows: np.ndarray, centroids: np.ndarray, top: int) -> np.ndarray:
    """The ``top`` nearest centroids of each unit row: ``(rows, top)`` cluster numbers."""
    top = min(top, len(centroids))
    out = np.empty((len(rows), top), dtype=np.int32)
    step = max(1, dense.CELLS // max(len(centroids), 1))
    for start in range(0, len(rows), step):
        sims = rows[start : start + step] @ centroids.T
        if top < len(centroids):
            out[start : start + step] = np.argpartition(-sims, top - 1, axis=1)[:, :top]
        else:
            out[start : start + step] = np.argsort(-sims, axis=1)
    return out


def assigned_rows(part: pd.Series, centroids: np.ndarray, top: int, number: int) -> pd.DataFrame:
    """One row per (non-null row, cluster it joins): ``cluster``, ``part``, ``pos`` and the
    vector ``vec``, indexed by the row's label; what the shuffle by cluster moves."""
    rows, positions, _ = dense_rows(part, "cosine")
    clusters = assign(rows.scaled(), centroids, top) if len(rows) else np.zeros((0, top), np.int32)
    which = np.repeat(positions, clusters.shape[1])
    return pd.DataFrame(
        {
            "cluster": clusters.reshape(-1),
            "part": np.full(len(which), number, dtype=np.int64),
            "pos": which.astype(np.int64),
            "vec": part.iloc[which].array,
        },
        index=part.index[which],
    )


def cluster_pairs(assigned: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Every pair scoring at least ``threshold`` within each cluster of ``assigned``."""
    found = [pair_frame(assigned.iloc[:0], assigned.iloc[:0], np.zeros(0, dtype=np.float32))]
    for _, members in assigned.groupby("cluster", sort=False):
        members = members.sort_values(["part", "pos"], kind="stable")
        i, j, score = dense.pairs(dense_rows(members["vec"], "cosine")[0], threshold)
        found.append(pair_frame(members.iloc[i], members.iloc[j], score))
    return pd.concat(found, ignore_index=True)


def pair_frame(a: pd.DataFrame, b: pd.DataFrame, score: np.ndarray) -> pd.DataFrame:
    """Pairs as (partition, position, label) of each side and the score."""
    return pd.DataFrame(
        {
            "part_a": a["part"].to_numpy(),
            "pos_a": a["pos"].to_numpy(),
            "part_b": b["part"].to_numpy(),
            "pos_b": b["pos"].to_numpy(),
            "row_a": a.index,
            "row_b": b.index,
            "score": score,
        }
    )
