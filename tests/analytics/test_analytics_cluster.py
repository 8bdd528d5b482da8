"""The analytics calls on a real two-worker LocalCluster (processes, P2P shuffle)."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import pytest

import dfembed
from tests.analytics.common import brute_scores, brute_top, column, same, to_dask, unit_rows

pytestmark = pytest.mark.slow

MATRIX = unit_rows(2000, 32, seed=0, copies={5: [900, 1500, 1999]})


def test_nearest_on_a_cluster_equals_the_brute_force_and_reports_nulls(client):
    queries = MATRIX[[5, 6, 7]] + np.float32(0.001)
    col = to_dask(column(MATRIX, null=[100, 1200]), 6)
    keep = np.setdiff1d(np.arange(len(MATRIX)), [100, 1200])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = dfembed.nearest(queries, col, k=8, split_every=2).compute()
        deadline = time.monotonic() + 10
        while not caught and time.monotonic() < deadline:  # forwarded by the scheduler
            time.sleep(0.1)
    same(result, brute_top(brute_scores(queries, MATRIX[keep]), 8, keep))
    assert list(result["row"][:4]) == [5, 900, 1500, 1999]
    assert result.attrs["skipped_rows"] == 2
    assert any(issubclass(w.category, dfembed.SkippedRowsWarning) for w in caught)


def test_similarity_join_on_a_cluster_equals_pandas(client):
    left = pd.DataFrame({"vec": column(MATRIX[:300]), "id": np.arange(300)})
    right = pd.DataFrame({"vec": column(MATRIX[300:]), "name": [f"r{i}" for i in range(1700)]})
    expected = dfembed.similarity_join(left, right, on="vec", k=3)
    result = dfembed.similarity_join(to_dask(left, 3), to_dask(right, 5), on="vec", k=3)
    pd.testing.assert_frame_equal(result.compute(), expected, check_dtype=False)


def test_near_duplicates_on_a_cluster(client):
    rng = np.random.default_rng(1)
    matrix = MATRIX.copy()
    dst = rng.choice(np.arange(10, 2000), 40, replace=False)
    matrix[dst] = matrix[dst - 7] + 0.001 * rng.standard_normal((40, 32)).astype(np.float32)
    col = to_dask(column(matrix), 5)
    exact = dfembed.near_duplicates(column(matrix), 0.95, exact=True)
    blocked = dfembed.near_duplicates(col, 0.95, cluster_rows=250, recall_sample=2000)
    assert blocked.clusters == 8
    pd.testing.assert_frame_equal(blocked.pairs, exact.pairs, check_dtype=False)
    assert blocked.recall == 1.0
    keep = blocked.keep.compute()
    pd.testing.assert_series_equal(keep, exact.keep, check_index_type=False)
