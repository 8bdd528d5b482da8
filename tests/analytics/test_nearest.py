"""dfembed.nearest on pandas and Dask columns: equal to a brute force, ties by row order."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import dfembed
from dfembed.columns import multivector, sparse, to_scipy
from tests.analytics.common import brute_scores, brute_top, column, same, to_dask, unit_rows

#: Row 3 copied to rows 40..45, 150 and 199: ties within and (on Dask) across partitions.
COPIES = {3: [40, 41, 42, 43, 44, 45, 150, 199], 7: [8, 120]}


@pytest.fixture(scope="module")
def data():
    matrix = unit_rows(200, 24, seed=0, copies=COPIES)
    rng = np.random.default_rng(1)
    queries = np.vstack([matrix[3], matrix[7] + 0.01, rng.standard_normal((6, 24))]).astype(
        np.float32
    )
    labels = [f"row-{i}" for i in range(len(matrix))]
    return matrix, queries, labels


@pytest.mark.parametrize("metric", ["cosine", "dot"])
def test_pandas_equals_a_stable_brute_force(data, metric):
    matrix, queries, labels = data
    result = dfembed.nearest(queries, column(matrix, labels=labels), k=12, metric=metric)
    expected = brute_top(brute_scores(queries, matrix, metric), 12, labels)
    same(result, expected)
    # the planted ties: query 0 finds row 3 then its 8 copies, in row order
    assert list(result["row"][:9]) == [labels[i] for i in [3, *COPIES[3]]]
    assert result["score"][:9].nunique() == 1


@pytest.mark.parametrize(("npartitions", "split_every"), [(1, 8), (3, 2), (7, 2), (7, 8)])
def test_dask_equals_the_brute_force_on_any_partitioning(data, npartitions, split_every):
    matrix, queries, labels = data
    col = to_dask(column(matrix, labels=labels), npartitions)
    result = dfembed.nearest(queries, col, k=12, split_every=split_every)
    assert result.npartitions == 1
    expected = brute_top(brute_scores(queries, matrix), 12, labels)
    same(result.compute(scheduler="sync"), expected)


def test_the_tasks_are_named(data):
    matrix, queries, _ = data
    result = dfembed.nearest(queries, to_dask(column(matrix), 4), k=3, split_every=2)
    names = {k[0] if isinstance(k, tuple) else k for k in result.__dask_graph__()}
    assert any(n.startswith("dfembed-nearest-merge-") for n in names)
    assert sum(1 for k in result.__dask_graph__() if str(k[0]).startswith("dfembed-nearest-")) > 4


def test_k_larger_than_the_rows_returns_every_row(data):
    matrix, queries, _ = data
    small = matrix[:5]
    result = dfembed.nearest(queries[:2], column(small), k=50)
    same(result, brute_top(brute_scores(queries[:2], small), 5, range(5)))
    on_dask = dfembed.nearest(queries[:2], to_dask(column(small), 3), k=50)
    same(on_dask.compute(scheduler="sync"), result)


def test_null_rows_are_skipped_and_reported(data):
    matrix, queries, _ = data
    nulls = [3, 40, 100]  # row 3 and one copy of it are null: query 0 finds the other copies
    keep = np.setdiff1d(np.arange(len(matrix)), nulls)
    expected = brute_top(brute_scores(queries, matrix[keep]), 5, keep)
    col = column(matrix, null=nulls)
    with pytest.warns(dfembed.SkippedRowsWarning, match="3 null rows were skipped"):
        result = dfembed.nearest(queries, col, k=5)
    same(result, expected)
    assert result.attrs["skipped_rows"] == 3
    with pytest.warns(dfembed.SkippedRowsWarning, match="3 null rows"):
        on_dask = dfembed.nearest(queries, to_dask(col, 4), k=5).compute(scheduler="sync")
    same(on_dask, expected)
    assert on_dask.attrs["skipped_rows"] == 3


def test_no_warning_without_nulls(data):
    matrix, queries, _ = data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = dfembed.nearest(queries, column(matrix), k=2)
    assert result.attrs["skipped_rows"] == 0


def test_threshold_keeps_rows_scoring_at_least_it(data):
    matrix, queries, _ = data
    scores = brute_scores(queries, matrix)
    threshold = float(np.sort(scores[1])[-4])  # exactly three rows beat query 1's 4th best
    result = dfembed.nearest(queries, column(matrix), k=10, threshold=threshold)
    assert (result["score"] >= np.float32(threshold)).all()
    expected = brute_top(scores, 10, range(len(matrix)))
    expected = expected[expected["score"] >= np.float32(threshold)]
    same(result, expected.reset_index(drop=True))
    assert (result["query"] == 1).sum() >= 4


def test_query_labels_come_from_a_query_series(data):
    matrix, queries, _ = data
    labelled = column(queries[:3], labels=["a", "b", "c"], name="q")
    result = dfembed.nearest(labelled, column(matrix), k=2)
    assert list(result["query"]) == ["a", "a", "b", "b", "c", "c"]
    one = dfembed.nearest(queries[0], column(matrix), k=2)  # one vector: query 0
    assert list(one["query"]) == [0, 0]


def test_cosine_ignores_length_and_dot_does_not():
    rng = np.random.default_rng(3)
    matrix = rng.standard_normal((50, 8)).astype(np.float32)
    matrix *= rng.uniform(0.1, 10.0, size=(50, 1)).astype(np.float32)  # unnormalized model
    queries = rng.standard_normal((4, 8)).astype(np.float32)
    unit = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    cosine = dfembed.nearest(queries, column(matrix), k=5)
    same(cosine, brute_top(brute_scores(queries, matrix), 5, range(50)))
    assert list(cosine["row"]) == list(dfembed.nearest(queries, column(unit), k=5)["row"])
    dot = dfembed.nearest(queries, column(matrix), k=5, metric="dot")
    same(dot, brute_top(brute_scores(queries, matrix, "dot"), 5, range(50)))
    assert list(dot["row"]) != list(cosine["row"])


def _sparse_column(n: int, vocab: int, seed: int, null=()) -> pd.Series:
    rng = np.random.default_rng(seed)
    valid = np.ones(n, dtype=bool)
    valid[list(null)] = False
    outputs = []
    for _ in range(int(valid.sum())):
        idx = np.sort(rng.choice(vocab, size=rng.integers(1, 6), replace=False))
        outputs.append((idx, rng.uniform(0.1, 2.0, len(idx)).astype(np.float32)))
    if n > 5:
        outputs[5] = outputs[2]  # a tie
    return sparse(outputs, valid, pd.RangeIndex(n), "sp")


def test_sparse_columns_are_scored_by_dot_product():
    col = _sparse_column(120, 40, seed=4, null=[9])
    queries = _sparse_column(5, 40, seed=5)
    q, d = to_scipy(queries, dim=40), to_scipy(col, dim=40)
    scores = (q @ d.T).toarray().astype(np.float32)
    valid = np.flatnonzero(col.notna())
    expected = brute_top(scores[:, valid], 6, valid)
    with pytest.warns(dfembed.SkippedRowsWarning):
        result = dfembed.nearest(queries, col, k=6)
        on_dask = dfembed.nearest(queries, to_dask(col, 4), k=6).compute(scheduler="sync")
    same(result, expected)
    same(on_dask, expected)


def test_late_interaction_columns_are_scored_by_maxsim():
    rng = np.random.default_rng(6)
    docs = [rng.standard_normal((rng.integers(2, 7), 16)).astype(np.float32) for _ in range(60)]
    valid = np.ones(61, dtype=bool)
    valid[30] = False  # a null document
    col = multivector(docs, valid, pd.RangeIndex(61), "tokens", 16)
    queries = [rng.standard_normal((4, 16)).astype(np.float32) for _ in range(3)]
    scores = np.stack([dfembed.maxsim(q, col) for q in queries])
    keep = np.flatnonzero(valid)
    expected = brute_top(scores[:, keep], 5, keep)
    with pytest.warns(dfembed.SkippedRowsWarning):
        result = dfembed.nearest(queries, col, k=5)
        on_dask = dfembed.nearest(queries, to_dask(col, 3), k=5).compute(scheduler="sync")
    same(result, expected)
    # maxsim's float32 products may round differently per partition: same rows, close scores
    assert list(on_dask["row"]) == list(expected["row"])
    np.testing.assert_allclose(on_dask["score"], expected["score"], rtol=1e-6)


def test_text_queries_are_embedded_with_the_model(minilm_int8):
    texts = pd.Series(["a cat sat on the mat", "stock markets fell", "a dog in the park"])
    col = texts.embed.text(model=minilm_int8)
    vectors = pd.Series(["pets"]).embed.text(model=minilm_int8, query=True)
    by_text = dfembed.nearest("pets", col, k=3, model=minilm_int8)
    same(by_text, dfembed.nearest(vectors, col, k=3))
    assert list(by_text["row"])[-1] == 1  # the markets are least about pets


def test_small_blocks_give_the_same_answer(data, monkeypatch):
    """Many row chunks and query blocks: the bar carried between chunks, ties across them."""
    from dfembed.analytics import dense

    matrix, queries, labels = data
    monkeypatch.setattr(dense, "CELLS", 64)
    monkeypatch.setattr(dense, "QUERY_BLOCK", 3)
    expected = brute_top(brute_scores(queries, matrix), 12, labels)
    same(dfembed.nearest(queries, column(matrix, labels=labels), k=12), expected)
    threshold = dfembed.nearest(queries, column(matrix, labels=labels), k=200, threshold=0.2)
    scores = brute_scores(queries, matrix)
    assert len(threshold) == int((scores >= np.float32(0.2)).sum())


def test_empty_partitions_and_an_all_null_partition(data):
    matrix, queries, _ = data
    col = column(matrix, null=range(0, 40))
    frame = to_dask(col.to_frame().assign(n=range(len(matrix))), 5)
    filtered = frame[(frame["n"] < 40) | (frame["n"] >= 120)]["vec"]  # partitions 2-3 empty
    keep = np.r_[np.arange(120, 200)]
    with pytest.warns(dfembed.SkippedRowsWarning, match="40 null rows"):
        result = dfembed.nearest(queries, filtered, k=4).compute(scheduler="sync")
    same(result, brute_top(brute_scores(queries, matrix[keep]), 4, keep))


def test_text_queries_as_a_numpy_array_of_strings(data):
    matrix, _, _ = data
    with pytest.raises(dfembed.InputError, match="The queries are texts"):
        dfembed.nearest(np.array(["a query", "another"]), column(matrix))
