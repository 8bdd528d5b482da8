"""dfembed.near_duplicates: exact and blocked pairs on planted duplicates, and the keep-mask."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import dfembed
from tests.analytics.common import brute_scores, column, to_dask

pytestmark = pytest.mark.filterwarnings("ignore::dfembed.SkippedRowsWarning")

THRESHOLD = 0.95
NULL = [17, 600]


@pytest.fixture(scope="module")
def planted():
    """3,000 rows around 20 centres, with 150 planted near-copies and null rows."""
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((20, 16)).astype(np.float32)
    matrix = centres[rng.integers(0, 20, 3000)] + 0.7 * rng.standard_normal((3000, 16))
    matrix = matrix.astype(np.float32)
    src = rng.choice(3000, 150, replace=False)
    dst = rng.choice(np.setdiff1d(np.arange(3000), src), 150, replace=False)
    matrix[dst] = matrix[src] + 0.01 * rng.standard_normal((150, 16)).astype(np.float32)
    labels = [f"m{i}" for i in range(3000)]
    planted = {(min(a, b), max(a, b)) for a, b in zip(src, dst, strict=True)} - {
        p for p in zip(src, dst, strict=True) if set(p) & set(NULL)
    }
    return matrix, column(matrix, null=NULL, labels=labels), planted


def _exact_pairs(matrix: np.ndarray) -> pd.DataFrame:
    scores = brute_scores(matrix, matrix)
    i, j = np.triu_indices(len(matrix), k=1)
    keep = scores[i, j] >= np.float32(THRESHOLD)
    keep &= ~np.isin(i, NULL) & ~np.isin(j, NULL)
    return pd.DataFrame({"position_a": i[keep], "position_b": j[keep], "score": scores[i, j][keep]})


def _keep_by_hand(n: int, pairs) -> np.ndarray:
    """Union-find in plain Python: one row per connected group, its first."""
    parent = list(range(n))

    def root(x):
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = root(a), root(b)
        parent[max(ra, rb)] = min(ra, rb)
    return np.array([root(x) == x for x in range(n)])


def _positions(pairs: pd.DataFrame) -> set:
    return set(zip(pairs["position_a"], pairs["position_b"], strict=True))


def test_exact_equals_the_brute_force(planted):
    matrix, col, chosen = planted
    with pytest.warns(dfembed.SkippedRowsWarning, match="near_duplicates: 2 null rows"):
        found = dfembed.near_duplicates(col, THRESHOLD, exact=True)
    expected = _exact_pairs(matrix)
    pd.testing.assert_frame_equal(
        found.pairs[["position_a", "position_b", "score"]], expected, check_dtype=False
    )
    assert list(found.pairs["row_a"][:3]) == [f"m{i}" for i in expected["position_a"][:3]]
    assert chosen <= _positions(found.pairs)
    assert found.exact and found.skipped == 2 and found.recall is None
    keep = _keep_by_hand(len(matrix), _positions(expected))
    np.testing.assert_array_equal(found.keep.to_numpy(), keep)
    assert found.keep.index.equals(col.index)


def test_dask_exact_equals_pandas(planted):
    _, col, _ = planted
    local = dfembed.near_duplicates(col, THRESHOLD, exact=True)
    on_dask = dfembed.near_duplicates(to_dask(col, 4), THRESHOLD, exact=True)
    pd.testing.assert_frame_equal(on_dask.pairs, local.pairs, check_dtype=False)
    pd.testing.assert_series_equal(
        on_dask.keep.compute(scheduler="sync"), local.keep, check_index_type=False
    )


@pytest.mark.parametrize("engine", ["pandas", "dask"])
def test_blocked_finds_the_planted_pairs_and_no_false_ones(planted, engine):
    matrix, col, chosen = planted
    col = col if engine == "pandas" else to_dask(col, 4)
    found = dfembed.near_duplicates(col, THRESHOLD, cluster_rows=300, recall_sample=500)
    assert not found.exact and found.clusters == 10
    exact = _exact_pairs(matrix)
    assert _positions(found.pairs) <= _positions(exact)  # blocking only ever misses pairs
    assert chosen <= _positions(found.pairs)
    assert found.recall_pairs > 0 and 0.0 <= found.recall <= 1.0
    merged = found.pairs.merge(exact, on=["position_a", "position_b"], suffixes=("", "_exact"))
    np.testing.assert_array_equal(merged["score"], merged["score_exact"])  # exact scores


def test_recall_on_every_row_is_the_share_of_exact_pairs_found():
    rng = np.random.default_rng(2)
    matrix = rng.standard_normal((1500, 4)).astype(np.float32)  # dense: many pairs at 0.95
    col = column(matrix)
    blocked = dfembed.near_duplicates(
        col, THRESHOLD, cluster_rows=100, assign=1, recall_sample=1500
    )
    exact = dfembed.near_duplicates(col, THRESHOLD, exact=True)
    share = len(blocked.pairs) / len(exact.pairs)
    assert share < 1.0  # one cluster per row misses pairs astride a border...
    assert blocked.recall == pytest.approx(share)  # ...and the recall says how many
    assert blocked.recall_pairs == len(exact.pairs)
    two = dfembed.near_duplicates(col, THRESHOLD, cluster_rows=100, assign=2, recall_sample=1500)
    assert two.recall > blocked.recall  # a second cluster per row finds more


def test_keep_mask_keeps_the_first_row_of_each_connected_group():
    e1, e2, e3 = np.eye(8, dtype=np.float32)[:3]
    a, b, c = e1, e1 + 0.3 * e2, e1 + 0.6 * e2  # a~b 0.958, b~c 0.969, a~c 0.857 only
    rows = np.stack([e1, c, e3, a, b, e3 * 2, e2])
    col = column(rows, null=[0], labels=["null", "c", "d", "a", "b", "d2", "alone"])
    found = dfembed.near_duplicates(col, THRESHOLD)
    assert found.exact  # 7 rows: fewer than cluster_rows, compared exactly
    assert _positions(found.pairs) == {(1, 4), (2, 5), (3, 4)}
    expected = [True, True, True, False, False, False, True]  # null kept; c and d first
    assert found.keep.to_dict() == dict(zip(col.index, expected, strict=True))
    on_dask = dfembed.near_duplicates(to_dask(col, 3), THRESHOLD)
    assert on_dask.keep.compute(scheduler="sync").to_dict() == found.keep.to_dict()
    frame = to_dask(pd.DataFrame({"vec": col, "n": range(7)}), 3)
    kept = frame[dfembed.near_duplicates(frame["vec"], THRESHOLD).keep]  # filters lazily
    assert list(kept.compute(scheduler="sync").index) == ["null", "c", "d", "alone"]
