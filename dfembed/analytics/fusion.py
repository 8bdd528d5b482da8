"""``dfembed.fuse``: one ranking from several (dense + sparse hybrid search, re-scoring)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InputError
from ..spec import check_count
from .topk import rank_within

METHODS = ("rrf", "minmax")
COLUMNS = ("query", "rank", "row", "score")


def fuse(
    *rankings: pd.DataFrame,
    method: str = "rrf",
    rrf_k: int = 60,
    weights: list[float] | None = None,
    k: int | None = None,
) -> pd.DataFrame:
    """Fuse rankings of the same queries (results of :func:`dfembed.nearest`) into one.

    Parameters
    ----------
    rankings
        Long tables with columns ``query``, ``rank``, ``row``, ``score``.
    method
        ``"rrf"``, reciprocal rank fusion: a row scores ``weight / (rrf_k + rank)`` in each
        ranking it is in, summed. It needs no common scale, so it suits scores as unlike as
        cosines and SPLADE dot products. ``"minmax"``: each ranking's scores are rescaled
        to [0, 1] per query (min to max of the rows it returned; 1 if all are equal), then
        summed with the weights.
    rrf_k
        RRF's damping constant (60, as in the original paper).
    weights
        One per ranking (default: all 1).
    k
        Keep each query's ``k`` best fused rows (default: all).

    Returns
    -------
    A long table like the inputs: ``query``, ``rank`` (1 = best), ``row``, ``score`` (the
    fused score). A row missing from a ranking gets nothing from it. Ties keep the order in
    which rows first appear (the first ranking's order, then the next's new rows).
    """
    if not rankings:
        raise InputError("fuse needs at least one ranking.")
    if method not in METHODS:
        raise InputError(f"method={method!r}: use one of {list(METHODS)}.")
    rrf_k = check_count(rrf_k, "rrf_k", 0)
    k = check_count(k, "k", 1, none="all rows")
    weights = [1.0] * len(rankings) if weights is None else list(weights)
    if len(weights) != len(rankings):
        raise InputError(f"{len(weights)} weights for {len(rankings)} rankings: give one each.")
    parts = [
        _contribution(_checked(r), w, method, rrf_k) for r, w in zip(rankings, weights, strict=True)
    ]
    fused = pd.concat(parts, ignore_index=True).groupby(["query", "row"], sort=False)["score"].sum()
    fused = fused.reset_index()
    queries = pd.factorize(fused["query"])[0]
    order = np.lexsort((np.arange(len(fused)), -fused["score"].to_numpy(), queries))
    fused = fused.iloc[order].reset_index(drop=True)
    fused.insert(1, "rank", rank_within(queries[order]) + 1)
    return fused if k is None else fused[fused["rank"] <= k].reset_index(drop=True)


def _checked(ranking) -> pd.DataFrame:
    if hasattr(ranking, "compute") and not isinstance(ranking, pd.DataFrame):
        ranking = ranking.compute()
    if not isinstance(ranking, pd.DataFrame) or not set(COLUMNS) <= set(ranking.columns):
        raise InputError(
            f"fuse takes rankings with columns {list(COLUMNS)}, as dfembed.nearest returns."
        )
    return ranking


def _contribution(ranking: pd.DataFrame, weight: float, method: str, rrf_k: int) -> pd.DataFrame:
    if method == "rrf":
        score = weight / (rrf_k + ranking["rank"].to_numpy(dtype=np.float64))
    else:
        by_query = ranking.groupby("query", sort=False)["score"]
        low = by_query.transform("min").to_numpy(dtype=np.float64)
        span = by_query.transform("max").to_numpy(dtype=np.float64) - low
        value = ranking["score"].to_numpy(dtype=np.float64) - low
        score = weight * np.divide(value, span, out=np.ones_like(value), where=span > 0)
    return pd.DataFrame(
        {"query": ranking["query"].array, "row": ranking["row"].array, "score": score}
    )
