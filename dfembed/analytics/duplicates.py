"""``dfembed.near_duplicates``: pairs of near-identical rows, and a mask keeping one per group."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import dask
import numpy as np
import pandas as pd

from ..columns import _wrong_kind, column_kind
from ..errors import InputError
from ..spec import check_count
from . import dense, graph
from .blocking import assigned_rows, cluster_pairs, kmeans, pair_frame
from .groups import keep_part, later_members, split_positions
from .kinds import dense_rows
from .queries import Queries
from .report import warn_skipped
from .sampling import Sample, merge_samples, partition_sample
from .search import search


@dataclass(frozen=True)
class NearDuplicates:
    """What :func:`near_duplicates` found.

    Attributes
    ----------
    pairs
        One row per pair scoring at least the threshold: ``row_a``, ``row_b`` (index labels),
        ``position_a`` < ``position_b`` (row numbers in the column, 0-based) and ``score``
        (cosine), sorted by positions.
    keep
        A boolean Series aligned with the column (lazy on Dask): False for every row of a
        group of near-duplicates but its first (in row order). Null rows are kept.
    exact
        Whether every pair of rows was compared (else: blocking by clusters).
    clusters
        How many clusters the rows were blocked into (1 when exact).
    recall, recall_pairs
        With ``recall_sample``: the share of the exact pairs of the sampled rows that the
        blocked search found, and how many exact pairs that share is of (None otherwise).
    skipped
        Null rows, left out of every comparison (and reported by a
        :class:`SkippedRowsWarning`).
    """

    pairs: pd.DataFrame
    keep: pd.Series
    exact: bool
    clusters: int
    recall: float | None
    recall_pairs: int | None
    skipped: int


def near_duplicates(
    column,
    threshold: float = 0.95,
    *,
    exact: bool = False,
    cluster_rows: int = 2000,
    assign: int = 2,
    sample_rows: int = 20_000,
    recall_sample: int = 0,
    seed: int = 0,
    split_every: int = 8,
) -> NearDuplicates:
    """Pairs of rows of a dense vector column with cosine similarity >= ``threshold``.

    Parameters
    ----------
    column
        A pandas or Dask dense vector column. On Dask, persist it first if it is costly to
        compute: it is read two or three times (sample, pairs, keep-mask).
    threshold
        The least cosine similarity of a pair (compared in float32; scores are exact).
    exact
        Compare every pair of rows: quadratic in rows (on Dask, one task per pair of
        partitions: ``P * (P + 1) / 2`` tasks). Default: blocking, below.
    cluster_rows
        Blocking: spherical k-means on ``sample_rows`` sampled rows makes
        ``ceil(rows / cluster_rows)`` clusters; each row joins its ``assign`` nearest, and
        pairs are looked for within clusters only (on Dask: a shuffle by cluster). A column
        of at most ``cluster_rows`` rows is compared exactly.
    recall_sample
        Blocking: measure recall on this many random rows: all their near-duplicates are
        found by exact search over the whole column and checked against the pairs found.
    seed
        Seeds the sample and k-means: the same inputs give the same answer.

    Returns
    -------
    NearDuplicates
        ``pairs`` (computed, also on Dask), ``keep`` (lazy on Dask) and the figures above.
    """
    if not isinstance(column, pd.Series) and not _is_dask_series(column):
        raise TypeError(f"near_duplicates reads one vector column, not {type(column).__name__}.")
    if column_kind(column.dtype) in ("sparse", "multivector"):
        raise _wrong_kind("near_duplicates", "dense", column.dtype)
    if not -1.0 <= float(threshold) <= 1.0:
        raise InputError(f"threshold is a cosine similarity, in [-1, 1]; got {threshold}.")
    cluster_rows = check_count(cluster_rows, "cluster_rows", 2)
    assign = check_count(assign, "assign", 1)
    sample_rows = check_count(sample_rows, "sample_rows", 1)
    recall_sample = check_count(recall_sample, "recall_sample", 0)
    split_every = check_count(split_every, "split_every", 2)
    sample = _sample(column, 0 if exact else max(sample_rows, recall_sample), seed, split_every)
    clusters = 1 if exact else math.ceil(sample.valid / cluster_rows)
    if clusters <= 1:
        raw = _exact_pairs(column, threshold)
    else:
        unit = dense.prepare(sample.vectors[:sample_rows], "cosine").scaled()
        raw = _blocked_pairs(column, kmeans(unit, clusters, seed), assign, threshold)
    offsets = sample.offsets()
    pairs = _tidy(raw, offsets)
    dropped = later_members(pairs["position_a"].to_numpy(), pairs["position_b"].to_numpy())
    skipped = int(offsets[-1]) - sample.valid
    warn_skipped(skipped, "near_duplicates")
    recall = (None, None)
    if clusters > 1 and recall_sample:
        recall = _recall(column, sample, recall_sample, threshold, pairs, offsets, split_every)
    return NearDuplicates(
        pairs=pairs,
        keep=_keep(column, split_positions(dropped, offsets)),
        exact=clusters <= 1,
        clusters=max(clusters, 1),
        recall=recall[0],
        recall_pairs=recall[1],
        skipped=skipped,
    )


def _sample(column, size: int, seed: int, split_every: int) -> Sample:
    if not graph.is_dask(column):
        return partition_sample(column, 0, size, seed)
    token = (column._name, size, seed)
    name = graph.key("near-duplicates-sample", *token)
    leaves = graph.per_partition(partition_sample, column.to_delayed(), name, size, seed)
    merge = partial(merge_samples, size=size)
    root = graph.tree(merge, leaves, graph.key("near-duplicates-sample-merge", *token), split_every)
    return root.compute()


def _exact_pairs(column, threshold: float) -> pd.DataFrame:
    if not graph.is_dask(column):
        return _pairs_between(column, column, 0, 0, threshold)
    parts = column.to_delayed()
    name = graph.key("near-duplicates-exact", column._name, threshold)
    tasks = [
        graph.delayed_call(_pairs_between, parts[i], parts[j], i, j, threshold, name=(name, i, j))
        for i in range(len(parts))
        for j in range(i, len(parts))
    ]
    return pd.concat(dask.compute(*tasks), ignore_index=True)


def _pairs_between(a: pd.Series, b: pd.Series, i: int, j: int, threshold: float) -> pd.DataFrame:
    """Pairs of partition ``i`` (rows ``a``) with partition ``j`` (rows ``b``; ``i <= j``)."""
    rows_a, pos_a, _ = dense_rows(a, "cosine")
    rows_b, pos_b, _ = (rows_a, pos_a, 0) if i == j else dense_rows(b, "cosine")
    ia, ib, score = dense.pairs(rows_a, threshold, None if i == j else rows_b)
    side_a = pd.DataFrame({"part": i, "pos": pos_a[ia]}, index=a.index[pos_a[ia]])
    side_b = pd.DataFrame({"part": j, "pos": pos_b[ib]}, index=b.index[pos_b[ib]])
    return pair_frame(side_a, side_b, score)


def _blocked_pairs(column, centroids: np.ndarray, assign: int, threshold: float) -> pd.DataFrame:
    if not graph.is_dask(column):
        return cluster_pairs(assigned_rows(column, centroids, assign, 0), threshold)
    meta = assigned_rows(column._meta, centroids, assign, 0)
    assigned = column.map_partitions(
        _assigned,
        graph.literal(centroids, "centroids"),
        assign,
        meta=meta,
        token="dfembed-near-duplicates-assign",
    )
    # the task-based shuffle: P2P rebuilds column types from their names, and pandas cannot
    # parse "fixed_size_list<item: float>[384]" back (NotImplementedError, measured)
    pairs = assigned.shuffle("cluster", shuffle_method="tasks").map_partitions(
        cluster_pairs,
        threshold,
        meta=cluster_pairs(meta, threshold),
        token="dfembed-near-duplicates-pairs",
    )
    return pairs.compute()


def _assigned(part: pd.Series, centroids: np.ndarray, top: int, partition_info=None):
    return assigned_rows(part, centroids, top, partition_info["number"] if partition_info else 0)


def _tidy(raw: pd.DataFrame, offsets: np.ndarray) -> pd.DataFrame:
    """Raw pairs as global positions, each once (blocking finds some in two clusters)."""
    pairs = pd.DataFrame(
        {
            "row_a": raw["row_a"].array,
            "row_b": raw["row_b"].array,
            "position_a": offsets[raw["part_a"].to_numpy()] + raw["pos_a"].to_numpy(),
            "position_b": offsets[raw["part_b"].to_numpy()] + raw["pos_b"].to_numpy(),
            "score": raw["score"].to_numpy(dtype=np.float32),
        }
    )
    pairs = pairs.drop_duplicates(["position_a", "position_b"])
    return pairs.sort_values(["position_a", "position_b"], kind="stable", ignore_index=True)


def _keep(column, dropped: dict[int, np.ndarray]):
    if not graph.is_dask(column):
        return keep_part(column, dropped, 0)
    meta = pd.Series(np.zeros(0, dtype=bool), index=column._meta.index, name=column.name)
    return column.map_partitions(
        _keep_numbered,
        graph.literal(dropped, "near-duplicates-dropped"),
        meta=meta,
        token="dfembed-near-duplicates-keep",
    )


def _keep_numbered(part: pd.Series, dropped: dict, partition_info=None) -> pd.Series:
    return keep_part(part, dropped, partition_info["number"] if partition_info else 0)


def _recall(column, sample: Sample, size: int, threshold, pairs, offsets, split_every):
    """Share of the sampled rows' exact pairs (exact threshold search) found by blocking."""
    queries = Queries(
        "dense", "cosine", sample.vectors[:size], pd.RangeIndex(min(size, len(sample.keys)))
    )
    hits = search(column, queries, None, threshold, split_every, "near-duplicates-recall")
    if graph.is_dask(column):
        hits = hits.compute()
    start = (offsets[sample.part] + sample.pos)[:size][hits.query]
    end = offsets[hits.part] + hits.pos
    other = start != end
    low, high = np.minimum(start, end)[other], np.maximum(start, end)[other]
    exact = np.unique(low * offsets[-1] + high)
    found = pairs["position_a"].to_numpy() * offsets[-1] + pairs["position_b"].to_numpy()
    if len(exact) == 0:
        return None, 0
    return float(np.isin(exact, found).mean()), len(exact)


def _is_dask_series(obj) -> bool:
    import dask.dataframe as dd

    return isinstance(obj, dd.Series)
