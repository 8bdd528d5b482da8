"""Random text frames for the Dask engine tests, and the comparison of two results."""

from __future__ import annotations

import numpy as np
import pandas as pd

import dfembed

WORDS = ["cats", "purr", "stocks", "fell", "rain", "today", "jazz", "music", "river", "bank"]


def random_frame(n: int, index_kind: str, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    texts = [" ".join(rng.choice(WORDS, size=rng.integers(1, 12))) for _ in range(n)]
    for i in rng.choice(n, size=n // 7, replace=False) if n else []:
        texts[i] = None
    index = {
        "int": pd.RangeIndex(n),
        "string": pd.Index([f"row-{i}" for i in rng.permutation(n)]),
        "duplicate": pd.Index(rng.integers(0, max(1, n // 3), size=n)),
    }[index_kind]
    return pd.DataFrame({"body": texts, "other": range(n)}, index=index)


def assert_same(result: pd.Series, expected: pd.Series) -> None:
    assert result.index.tolist() == expected.index.tolist()
    assert result.isna().tolist() == expected.isna().tolist()
    np.testing.assert_allclose(dfembed.to_numpy(result), dfembed.to_numpy(expected), atol=1e-5)
