"""Determinism: the same rows give the same vectors (to 1e-5) whatever the batching,
deduplication, partitioning and number of workers.

The corpus is real: SMS messages (3 to 400 characters, with the collection's own repeats),
news articles long enough to be truncated, extra repeats and missing cells, shuffled under
string labels. Every run uses ``max_length=64`` so that this 2-core test stays quick; the
batching and scheduling paths are the same at any window.
"""

from __future__ import annotations

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from tests.faults.common import same

WINDOW = 64


@pytest.fixture(scope="module")
def corpus() -> pd.DataFrame:
    from tools.datasets import news_articles, sms_spam

    sms = sms_spam()["text"].head(80).tolist()
    news = news_articles()["text"].head(2).tolist()
    texts = sms + news + sms[:10] + [None] * 5
    order = np.random.default_rng(0).permutation(len(texts))
    labels = [f"msg-{i}" for i in order]
    return pd.DataFrame({"body": pd.Series([texts[i] for i in order], labels, dtype=object)})


@pytest.fixture(scope="module")
def baseline(corpus, minilm_int8) -> pd.Series:
    return corpus.embed.text("body", model=minilm_int8, max_length=WINDOW)


def test_the_corpus_has_repeats_long_texts_and_gaps(corpus):
    body = corpus["body"]
    assert body.dropna().duplicated().sum() >= 10
    assert body.dropna().str.len().max() > 1000 and body.isna().sum() == 5


@pytest.mark.parametrize(
    "options",
    [
        {"batch_size": 1, "dedup": False},
        {"batch_size": 7, "token_budget": 300},
        {"token_budget": 100_000},
        {"token_budget": 2048, "dedup": False},
    ],
    ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()),
)
def test_batching_and_dedup_do_not_change_vectors(corpus, baseline, minilm_int8, options):
    same(corpus.embed.text("body", model=minilm_int8, max_length=WINDOW, **options), baseline)


@pytest.mark.parametrize(
    ("npartitions", "shape", "workers", "options"),
    [
        (1, "plain", 2, {}),
        (7, "plain", 2, {"batch_size": 5}),
        (23, "filtered", 2, {}),
        (4, "unknown-divisions", 1, {"dedup": False}),
        (9, "repartitioned", 1, {"token_budget": 512}),
    ],
)
def test_partitioning_and_worker_count_do_not_change_vectors(
    client, corpus, baseline, minilm_int8, npartitions, shape, workers, options
):
    from distributed import get_task_stream

    with dask.config.set({"dataframe.convert-string": False}):
        ddf = dd.from_pandas(corpus, npartitions=npartitions, sort=False)
    expected = baseline
    if shape == "filtered":  # some partitions lose every row
        keep = corpus.index.str.endswith(("1", "4", "7"))
        ddf, expected = ddf[ddf.index.str.endswith(("1", "4", "7"))], baseline[keep]
    elif shape == "unknown-divisions":
        ddf = ddf.clear_divisions()
    elif shape == "repartitioned":
        ddf = ddf.repartition(npartitions=npartitions + 2)
    chosen = sorted(client.scheduler_info()["workers"])[:workers]
    lazy = ddf.embed.text("body", model=minilm_int8, max_length=WINDOW, **options)
    with get_task_stream(client) as stream:
        result = client.compute(lazy, workers=chosen).result()
    same(result, expected)
    ran_on = {t["worker"] for t in stream.data if "dfembed-text" in str(t["key"])}
    assert ran_on <= set(chosen) and ran_on


def test_pandas_parallel_gives_the_in_process_vectors(client, corpus, baseline, minilm_int8):
    same(corpus.embed.text("body", model=minilm_int8, max_length=WINDOW, parallel=2), baseline)
