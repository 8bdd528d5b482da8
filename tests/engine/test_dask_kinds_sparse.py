"""Sparse vectors (SPLADE and BM25) on a real two-worker Dask cluster give the pandas results."""

from __future__ import annotations

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

import dfembed
from tools.datasets import rotten_tomatoes

pytestmark = pytest.mark.slow  # a two-worker cluster loading a model on each worker


def _frame() -> pd.DataFrame:
    texts = rotten_tomatoes()["text"].iloc[200:230].tolist()
    texts[3] = None
    texts[11] = texts[5]  # a repeat, deduplicated within its partition
    texts[17] = ""
    index = pd.Index([f"r{i % 11}" for i in range(len(texts))][::-1])  # strings, duplicated
    return pd.DataFrame({"body": texts, "n": range(len(texts))}, index=index)


@pytest.mark.parametrize(("which", "query"), [("splade", False), ("bm25", False), ("bm25", True)])
def test_sparse_on_dask_equals_pandas(client, splade_tiny, which, query):
    model = splade_tiny if which == "splade" else "Qdrant/bm25"
    df = _frame()
    expected = df.embed.sparse("body", model=model, query=query)
    ddf = dd.from_pandas(df, npartitions=4, sort=False)
    lazy = ddf.embed.sparse("body", model=model, query=query)
    assert lazy.dtype == expected.dtype == dfembed.columns.sparse_type()
    result = lazy.compute()
    assert result.index.tolist() == df.index.tolist()
    assert result.isna().tolist() == expected.isna().tolist() == df["body"].isna().tolist()
    for got, want in zip(result, expected, strict=True):
        if want is None or want is pd.NA:
            continue
        np.testing.assert_array_equal(got["indices"], want["indices"])
        np.testing.assert_allclose(got["values"], want["values"], atol=1e-5)
    a, b = dfembed.to_scipy(result, 2**31 - 1), dfembed.to_scipy(expected, 2**31 - 1)
    assert a.shape == b.shape and a.nnz == b.nnz and abs(a - b).max() < 1e-5
