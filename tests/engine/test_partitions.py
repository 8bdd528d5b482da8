"""Cutting pandas objects into partitions of about equal work (``parallel=`` path)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dfembed.engine.partitions import (
    CHARS_PER_TOKEN,
    ROW_COST_TOKENS,
    balanced_bounds,
    text_costs,
)


def _check_cover(bounds, n, parts):
    assert len(bounds) == min(parts, n)
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(start < stop for start, stop in bounds)
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:], strict=False))


@pytest.mark.parametrize("seed", range(20))
def test_bounds_cover_every_row_once_in_order(seed):
    rng = np.random.default_rng(seed)
    n, parts = int(rng.integers(1, 60)), int(rng.integers(1, 15))
    costs = rng.random(n) * rng.integers(0, 100, n)  # zeros and spikes included
    _check_cover(balanced_bounds(costs, parts), n, parts)


def test_long_rows_first_get_their_own_partitions():
    costs = np.r_[np.full(250, 100.0), np.full(750, 10.0)]  # a table sorted by length
    bounds = balanced_bounds(costs, 4)
    _check_cover(bounds, 1000, 4)
    work = [costs[a:b].sum() for a, b in bounds]
    equal_rows = [costs[i : i + 250].sum() for i in range(0, 1000, 250)]
    assert max(equal_rows) / np.mean(equal_rows) > 2.5  # what equal row counts would do
    assert max(work) / np.mean(work) < 1.05


def test_equal_costs_give_equal_rows_and_tiny_inputs_work():
    assert balanced_bounds(np.ones(8), 4) == [(0, 2), (2, 4), (4, 6), (6, 8)]
    assert balanced_bounds(np.ones(2), 5) == [(0, 1), (1, 2)]
    assert balanced_bounds(np.zeros(0), 3) == [(0, 0)]


def test_text_costs_cap_at_truncation_and_price_nulls_and_non_text():
    values = pd.Series(["abcd" * 10, "x" * 100_000, None, 3.5, ""], dtype=object)
    costs = text_costs(values, max_length=128)
    assert costs[0] == ROW_COST_TOKENS + 10
    assert costs[1] == ROW_COST_TOKENS + 128  # truncation caps the work
    assert costs[2] == costs[3] == costs[4] == ROW_COST_TOKENS
    arrow = text_costs(pd.Series(["abcd" * 10, None], dtype="str"), max_length=None)
    assert arrow.tolist() == [ROW_COST_TOKENS + 40 / CHARS_PER_TOKEN, ROW_COST_TOKENS]
    numbers = text_costs(pd.Series([1, 2, 3]), max_length=None)
    assert numbers.tolist() == [ROW_COST_TOKENS] * 3
