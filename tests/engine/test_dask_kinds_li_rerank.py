"""Late interaction and reranking on a real two-worker Dask cluster give the pandas results."""

from __future__ import annotations

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

import dfembed
from tests.encoders.test_late_interaction import DOCS, QUERIES, late_interaction_folder
from tests.encoders.test_rerank import cross_encoder_folder

pytestmark = pytest.mark.slow  # a two-worker cluster loading two models


@pytest.fixture(scope="module")
def colbert_minilm(minilm_int8, tmp_path_factory) -> str:
    return late_interaction_folder(minilm_int8, tmp_path_factory.mktemp("li") / "minilm")


@pytest.fixture(scope="module")
def reranker(minilm_int8) -> str:
    return cross_encoder_folder(minilm_int8)


def _frame() -> pd.DataFrame:
    texts = [*DOCS, None, DOCS[2], "", *QUERIES]
    queries = [QUERIES[i % len(QUERIES)] for i in range(len(texts))]
    queries[1] = None
    index = pd.Index([f"r{i % 9}" for i in range(len(texts))][::-1])  # strings, duplicated
    return pd.DataFrame({"body": texts, "q": queries}, index=index)


def _matrices(series: pd.Series) -> list[np.ndarray | None]:
    return [None if v is None or v is pd.NA else np.asarray(v, np.float32) for v in series]


@pytest.mark.parametrize("query", [False, True])
def test_late_interaction_on_dask_equals_pandas(client, colbert_minilm, query):
    df = _frame()
    expected = df.embed.late_interaction("body", model=colbert_minilm, query=query)
    ddf = dd.from_pandas(df, npartitions=3, sort=False)
    lazy = ddf.embed.late_interaction("body", model=colbert_minilm, query=query)
    assert lazy.dtype == expected.dtype
    result = lazy.compute()
    assert result.index.tolist() == df.index.tolist()
    for got, want in zip(_matrices(result), _matrices(expected), strict=True):
        if want is None:
            assert got is None
            continue
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=1e-5)
    scores = dfembed.maxsim(_matrices(expected)[-1], result)
    np.testing.assert_allclose(scores, dfembed.maxsim(_matrices(expected)[-1], expected), 1e-5)


def test_rerank_on_dask_equals_pandas(client, reranker):
    df = _frame()
    ddf = dd.from_pandas(df, npartitions=4, sort=False)
    fixed = df.embed.rerank("body", query_text="where is paris", model=reranker, sigmoid=True)
    lazy = ddf.embed.rerank("body", query_text="where is paris", model=reranker, sigmoid=True)
    got = lazy.compute()
    assert got.index.tolist() == df.index.tolist()
    np.testing.assert_allclose(got.to_numpy(), fixed.to_numpy(), atol=1e-6, equal_nan=True)

    per_row = df.embed.rerank(column="body", query_column="q", model=reranker)
    got_rows = ddf.embed.rerank(column="body", query_column="q", model=reranker).compute()
    np.testing.assert_allclose(got_rows.to_numpy(), per_row.to_numpy(), atol=1e-6, equal_nan=True)
    assert np.isnan(per_row.to_numpy()[[1, 6]]).all()  # missing query, missing text

    on_cluster = df.embed.rerank(column="body", query_column="q", model=reranker, parallel=2)
    assert on_cluster.index.equals(df.index)
    np.testing.assert_allclose(on_cluster.to_numpy(), per_row.to_numpy(), 1e-6, equal_nan=True)
