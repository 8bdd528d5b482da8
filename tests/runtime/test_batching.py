"""The shared batching path: token budget, deduplication and order restoration."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dfembed.runtime import batching
from dfembed.runtime.batching import dedup, plan_batches, run_batched


@given(st.lists(st.integers(1, 600), max_size=300), st.integers(16, 4096))
def test_batches_cover_every_input_once_within_budget(lengths, budget):
    lengths = np.array(lengths, dtype=np.int64)
    batches = plan_batches(lengths, token_budget=budget, max_batch=128)
    covered = np.concatenate(batches) if batches else np.array([], dtype=int)
    assert sorted(covered.tolist()) == list(range(len(lengths)))
    for batch in batches:
        padded = len(batch) * lengths[batch].max()
        assert len(batch) <= 128
        assert padded <= budget or len(batch) == 1


@given(st.lists(st.sampled_from(["a", "b", "c", "", "dd"]), max_size=50))
def test_dedup_restores_every_input(keys):
    first, inverse = dedup(keys)
    unique = [keys[i] for i in first]
    assert len(set(unique)) == len(unique)
    assert [unique[j] for j in inverse] == keys


@given(st.lists(st.integers(1, 50), min_size=1, max_size=100))
def test_run_batched_returns_outputs_in_input_order(lengths):
    lengths = np.array(lengths)
    out = run_batched(lengths, lambda pos: np.stack([pos, lengths[pos]], axis=1), token_budget=64)
    assert out[:, 0].tolist() == list(range(len(lengths)))
    seen = []
    run_batched(
        lengths,
        lambda pos: list(pos),
        token_budget=64,
        on_batch=lambda rows, tokens, seconds: seen.append((rows, tokens)),
    )
    assert sum(r for r, _ in seen) == len(lengths)
    assert sum(t for _, t in seen) == int(lengths.sum())


def test_object_outputs_are_gathered():
    out = run_batched(np.array([3, 1, 2]), lambda pos: [f"item{p}" for p in pos], token_budget=4)
    assert out.tolist() == ["item0", "item1", "item2"]


class _FirstWriteWins(np.ndarray):
    """An array whose fancy assignment keeps the first of repeated writes to one index.

    NumPy does not say which of repeated writes wins; it happens to keep the last today.
    """

    def __setitem__(self, index, value) -> None:
        index = np.asarray(index)
        if index.dtype.kind not in "iu" or index.ndim != 1:
            return super().__setitem__(index, value)
        value = np.broadcast_to(value, index.shape)
        _, keep = np.unique(index, return_index=True)  # documented: first occurrences
        super().__setitem__(index[keep], value[keep])


class _NumpyKeepingFirstWrites:
    """numpy, but the arrays it allocates keep the first of repeated fancy writes."""

    def __getattr__(self, name: str):
        return getattr(np, name)

    @staticmethod
    def full(*args, **kwargs) -> np.ndarray:
        return np.full(*args, **kwargs).view(_FirstWriteWins)

    @staticmethod
    def empty(*args, **kwargs) -> np.ndarray:
        return np.empty(*args, **kwargs).view(_FirstWriteWins)


@given(st.lists(st.sampled_from(["a", "b", "c", "", "dd"]), max_size=50))
def test_dedup_keeps_first_occurrences_whichever_repeated_write_numpy_keeps(keys):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batching, "np", _NumpyKeepingFirstWrites())
        first, inverse = dedup(keys)
    distinct = list(dict.fromkeys(keys))  # in order of first appearance
    assert first.tolist() == [keys.index(k) for k in distinct]
    assert inverse.tolist() == [distinct.index(k) for k in keys]
