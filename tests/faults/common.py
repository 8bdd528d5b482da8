"""Small helpers shared by the fault suite: test frames, result comparison, worker probes."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

import dfembed

WORDS = ["cats", "purr", "stocks", "fell", "rain", "today", "jazz", "music", "river", "bank"]


def word_texts(n: int, seed: int = 0, most: int = 12) -> list[str]:
    """``n`` short texts of 1..most words drawn from a small vocabulary (duplicates likely)."""
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=rng.integers(1, most + 1))) for _ in range(n)]


def same(result: pd.Series, expected: pd.Series, atol: float = 1e-5) -> None:
    """Same labels in the same order, same null rows, same vectors (to ``atol``)."""
    assert result.index.tolist() == expected.index.tolist()
    assert result.isna().tolist() == expected.isna().tolist()
    np.testing.assert_allclose(dfembed.to_numpy(result), dfembed.to_numpy(expected), atol=atol)


def load_counts(client) -> dict[str, int]:
    """How many models each worker process has loaded so far."""
    return client.run(_load_count)


def _load_count() -> int:
    from dfembed.encoders import load

    return load.load_count


def finished_embed_tasks(dask_scheduler) -> int:
    """Run on the scheduler: dfembed tasks whose results are held in memory."""
    return sum(
        1
        for task in dask_scheduler.tasks.values()
        if task.state == "memory" and "dfembed-text" in str(task.key)
    )


def set_home(value: str | None) -> None:
    """Run on a worker: set (or, for ``None``, unset) its HOME, which ``~`` paths follow."""
    if value is None:
        os.environ.pop("HOME", None)
    else:
        os.environ["HOME"] = value
