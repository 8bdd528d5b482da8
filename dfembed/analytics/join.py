"""``dfembed.similarity_join``: each row of one frame with its k most similar rows of another."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from .. import inputs
from ..errors import InputError
from ..spec import check_count
from . import graph
from .kinds import kind_of
from .queries import Queries, as_queries, mismatch
from .report import report_skipped
from .search import no_hits, search
from .topk import Hits, rank_within

#: Columns the join adds.
ADDED = ("right_index", "rank", "score")


def similarity_join(
    left,
    right,
    *,
    on=None,
    left_on=None,
    right_on=None,
    k: int | None = 1,
    threshold: float | None = None,
    metric: str | None = None,
    suffixes: tuple[str, str] = ("_left", "_right"),
    split_every: int = 8,
):
    """Match each row of ``left`` to its ``k`` most similar rows of ``right`` (an inner join).

    Parameters
    ----------
    left, right
        pandas or Dask DataFrames, each with a vector column of the same kind and width
        (e.g. products and catalogue entries embedded by one model).
    on, left_on, right_on
        The vector columns: ``on`` when both are named alike.
    k
        Matches per left row (fewer where ``right`` has fewer rows above ``threshold``);
        ``None`` keeps every right row scoring at least ``threshold``.
    threshold
        Keep only matches scoring at least this (compared in float32).
    metric, split_every
        As for :func:`dfembed.nearest`.
    suffixes
        Added to column names found on both sides, as ``pd.merge`` does.

    Returns
    -------
    One row per match, in ``left``'s row order then rank, indexed by ``left``'s labels:
    ``left``'s columns, ``right``'s columns, ``right_index`` (the matched row's label),
    ``rank`` (1 = best) and ``score``. The two vector columns are left out (join them back
    by label if needed). Left rows without a match, or with a null vector, are not in the
    result; null vectors on either side are reported by a :class:`SkippedRowsWarning`.
    Lazy (one partition per left partition, left's divisions kept) if either side is Dask:
    every left partition is scored against every right partition, then the right
    partitions' best matches are merged by a tree, as in :func:`dfembed.nearest`.
    """
    left_on, right_on = _vector_columns(on, left_on, right_on)
    for frame, column in ((left, left_on), (right, right_on)):
        if not isinstance(frame, pd.DataFrame) and not _is_dask_frame(frame):
            raise TypeError(f"similarity_join joins DataFrames, not {type(frame).__name__}.")
        inputs.check_column(frame._meta if graph.is_dask(frame) else frame, column)
    k = check_count(k, "k", 1, none="every row above threshold")
    if k is None and threshold is None:
        raise InputError("k=None keeps every match above a threshold: pass threshold= too.")
    split_every = check_count(split_every, "split_every", 2)
    kind = kind_of(right[right_on].dtype)
    left_kind = kind_of(_meta(left)[left_on].dtype)
    if left_kind != kind:
        raise mismatch(kind, left_kind)
    names = _names(_meta(left), left_on, _meta(right), right_on, suffixes)
    args = (k, threshold, split_every)
    if not graph.is_dask(left) and not graph.is_dask(right):
        queries = _left_queries(left, left_on, kind, metric)
        hits = search(right, queries, k, threshold, split_every, "join", right_on)
        return _assemble(left, queries, hits, left_on, names)
    if graph.is_dask(left):
        lefts, divisions = left.to_delayed(), left.divisions
    else:
        lefts, divisions = [graph.literal(left, "join-left")], None
    if graph.is_dask(right):
        right_rows = (right, right.to_delayed())
    else:
        right_rows = (right, [graph.literal(right, "join-right")])
    parts = [
        _joined(part, left_on, right_rows, right_on, kind, metric, names, args) for part in lefts
    ]
    empty = no_hits(_meta(right).index, _meta(right).drop(columns=[right_on]))
    meta = _assemble(_meta(left), None, empty, left_on, names)
    return graph.frame(parts, meta, divisions)


def _joined(part, left_on, right, right_on, kind, metric, names, args):
    """The task joining one left partition: its queries, their search, the assembled rows."""
    k, threshold, split_every = args
    right, right_parts = right
    token = (part, right_on, kind, metric, args)
    queries = graph.delayed_call(
        _left_queries, part, left_on, kind, metric, name=graph.key("join-queries", *token)
    )
    hits = search(right, queries, k, threshold, split_every, "join", right_on, right_parts)
    return graph.delayed_call(
        _assemble, part, queries, hits, left_on, names, name=graph.key("join-result", *token, hits)
    )


def _left_queries(part: pd.DataFrame, column, kind: str, metric) -> Queries | None:
    """The left rows' vectors as queries labelled by position; None if all are null."""
    series = part[column]
    valid = series.notna().to_numpy()
    if not valid.any():
        return None
    found = as_queries(series[valid], kind, metric)
    return replace(found, labels=pd.Index(np.flatnonzero(valid)))


def _assemble(
    left: pd.DataFrame, queries: Queries | None, hits: Hits, left_on, names
) -> pd.DataFrame:
    positions = np.zeros(0, np.int64) if queries is None else queries.labels.to_numpy()
    out = left.drop(columns=[left_on]).iloc[positions[hits.query]]
    out = out.rename(columns=names["left"])
    for column, name in names["right"].items():
        out[name] = hits.rows[column].array
    out["right_index"] = hits.rows.index
    out["rank"] = rank_within(hits.query) + 1
    out["score"] = hits.score
    skipped = len(left) - len(positions)
    return report_skipped(out, hits.skipped + skipped, "similarity_join (left and right)")


def _vector_columns(on, left_on, right_on):
    if on is not None:
        if left_on is not None or right_on is not None:
            raise TypeError("Pass on= or left_on= and right_on=, not both.")
        return on, on
    if left_on is None or right_on is None:
        raise TypeError("Name the vector columns: on= (same name) or left_on= and right_on=.")
    return left_on, right_on


def _names(left: pd.DataFrame, left_on, right: pd.DataFrame, right_on, suffixes) -> dict:
    """Output names of the carried columns: a suffix on each name both sides have."""
    lefts = [c for c in left.columns if c != left_on]
    rights = [c for c in right.columns if c != right_on]
    both = set(lefts) & set(rights)
    names = {
        "left": {c: f"{c}{suffixes[0]}" if c in both else c for c in lefts},
        "right": {c: f"{c}{suffixes[1]}" if c in both else c for c in rights},
    }
    taken = set(names["left"].values()) | set(names["right"].values())
    if taken & set(ADDED):
        raise InputError(
            f"The join adds columns {list(ADDED)}: rename the frames' columns "
            f"{sorted(taken & set(ADDED))} first."
        )
    return names


def _meta(frame) -> pd.DataFrame:
    """An empty frame with ``frame``'s columns, dtypes and index type."""
    return frame._meta if graph.is_dask(frame) else frame.iloc[:0]


def _is_dask_frame(obj) -> bool:
    import dask.dataframe as dd

    return isinstance(obj, dd.DataFrame)
