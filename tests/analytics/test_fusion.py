"""dfembed.fuse: reciprocal rank fusion and min-max fusion of nearest() results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import dfembed
from dfembed import InputError


def _ranking(query_rows: dict) -> pd.DataFrame:
    rows = [
        {"query": q, "rank": r, "row": row, "score": score}
        for q, hits in query_rows.items()
        for r, (row, score) in enumerate(hits, start=1)
    ]
    return pd.DataFrame(rows)


DENSE = _ranking({"q1": [("a", 0.9), ("b", 0.8), ("c", 0.7)], "q2": [("x", 0.5), ("y", 0.4)]})
SPARSE = _ranking({"q1": [("c", 12.0), ("d", 8.0), ("a", 2.0)], "q2": [("y", 3.0), ("x", 3.0)]})


def test_rrf_sums_reciprocal_ranks():
    fused = dfembed.fuse(DENSE, SPARSE, rrf_k=60)
    q1 = fused[fused["query"] == "q1"].set_index("row")["score"]
    assert q1["a"] == pytest.approx(1 / 61 + 1 / 63)
    assert q1["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert q1["b"] == pytest.approx(1 / 62)  # missing from the sparse ranking: nothing from it
    assert q1["d"] == pytest.approx(1 / 62)
    # a and c tie, b and d tie: order of first appearance (dense first, then sparse's new rows)
    assert list(fused["row"]) == ["a", "c", "b", "d", "x", "y"]
    assert list(fused["rank"]) == [1, 2, 3, 4, 1, 2]
    assert list(fused["query"]) == ["q1"] * 4 + ["q2"] * 2


def test_weights_and_k():
    fused = dfembed.fuse(DENSE, SPARSE, weights=[1.0, 3.0], k=2)
    assert list(fused["row"]) == ["c", "a", "y", "x"]
    assert fused.loc[0, "score"] == pytest.approx(1 / 63 + 3 / 61)


def test_minmax_rescales_each_ranking_per_query():
    fused = dfembed.fuse(DENSE, SPARSE, method="minmax")
    q1 = fused[fused["query"] == "q1"].set_index("row")["score"]
    assert q1["a"] == pytest.approx(1.0 + 0.0)  # best dense, worst sparse
    assert q1["c"] == pytest.approx(0.0 + 1.0)
    assert q1["b"] == pytest.approx(0.5)
    assert q1["d"] == pytest.approx(0.6)
    q2 = fused[fused["query"] == "q2"].set_index("row")["score"]
    assert q2["x"] == pytest.approx(1.0 + 1.0)  # sparse scores equal: each counts as the best
    assert q2["y"] == pytest.approx(0.0 + 1.0)


def test_fusing_nearest_results():
    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((30, 6)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    vectors = pd.Series(list(matrix))  # an object column of arrays reads as dense vectors
    a = dfembed.nearest(matrix[:2], vectors, k=30)
    b = dfembed.nearest(matrix[:2], vectors, k=30, metric="dot")
    fused = dfembed.fuse(a, b)
    assert len(fused) == 60 and list(fused["rank"][:3]) == [1, 2, 3]
    assert list(fused.groupby("query")["row"].first()) == [0, 1]  # each query's own row


def test_bad_input():
    with pytest.raises(InputError, match="method='sum'"):
        dfembed.fuse(DENSE, method="sum")
    with pytest.raises(InputError, match="2 weights for 1 rankings"):
        dfembed.fuse(DENSE, weights=[1, 2])
    with pytest.raises(InputError, match="columns \\['query', 'rank', 'row', 'score'\\]"):
        dfembed.fuse(DENSE.drop(columns="rank"))
    with pytest.raises(InputError, match="at least one ranking"):
        dfembed.fuse()
