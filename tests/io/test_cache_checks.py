"""The shape each kind's stored cache entries must have: :mod:`dfembed.io.cache_checks`."""

from __future__ import annotations

import re

import numpy as np
import pytest

from dfembed.errors import CacheError
from dfembed.io.cache import pack, unpack
from dfembed.io.cache_checks import Layout


@pytest.mark.parametrize(
    "kind, good, bad",
    [
        ("text", np.ones(4, np.float32), np.ones(5, np.float32)),
        ("image", np.ones(4, np.float32), np.ones(4, np.float64)),
        ("late_interaction", np.ones((3, 4), np.float32), np.ones((0, 4), np.float32)),
        (
            "sparse",
            (np.array([2, 9], np.int32), np.ones(2, np.float32)),
            (np.array([9, 2], np.int32), np.ones(2, np.float32)),
        ),
        ("rerank", np.array(0.5, np.float32), np.array(np.nan, np.float32)),
    ],
)
def test_each_kind_has_a_layout_its_outputs_fit(kind, good, bad):
    layout = Layout(kind, dim=4)
    row = kind in ("text", "image", "rerank")
    layout.check(*unpack(pack(good, row)))  # what the encoder gives passes
    with pytest.raises(CacheError, match="damaged"):
        layout.check(*unpack(pack(bad, row)))


def test_a_kind_without_a_layout_is_refused():
    with pytest.raises(ValueError, match="No cache layout"):
        Layout("audio")


F32 = np.float32


@pytest.mark.parametrize(
    "kind, dim, value, row, problem",
    [
        ("text", 4, np.ones(1, F32), True, r"shape \(1,\), not \(4,\)"),  # would broadcast
        ("text", 4, np.ones(4, np.float64), True, "dtype float64, not float32"),
        ("text", 4, np.array([1, np.inf, 0, 0], F32), True, "inf or NaN"),
        ("text", 4, np.ones(4, F32), False, "not stored as a row"),
        ("image", 0, np.ones((2, 2), F32), True, r"a vector of shape \(2, 2\)"),
        ("late_interaction", 4, np.ones((2, 3), F32), False, r"not \(tokens, 4\)"),
        ("late_interaction", 4, np.ones((2, 4), F32), True, "not stored as one matrix"),
        ("sparse", 0, (np.array([-1, 2], np.int32), np.ones(2, F32)), False, "negative"),
        ("sparse", 0, (np.array([1, 2], np.int64), np.ones(2, F32)), False, "dtype int64"),
        ("sparse", 0, (np.array([1, 2], np.int32), np.ones(3, F32)), False, "values of shape"),
        ("sparse", 0, np.ones(2, F32), False, r"not stored as \(indices, values\)"),
        ("rerank", 0, np.ones(2, F32), True, "not one number"),
    ],
)
def test_problem_says_what_is_wrong_with_an_entry(kind, dim, value, row, problem):
    found = Layout(kind, dim).problem(value, row)
    assert found is not None and re.search(problem, found), found


def test_a_width_of_zero_leaves_the_width_unchecked_not_the_rest():
    layout = Layout("text", dim=0)
    assert layout.problem(np.ones(7, F32), True) is None
    assert layout.problem(np.ones(7, np.float64), True) is not None
    tokens = Layout("late_interaction")
    assert tokens.problem(np.ones((3, 5), F32), False) is None
    assert tokens.problem(np.ones((0, 5), F32), False) is not None  # no token at all


def test_sparse_indices_have_no_upper_bound_and_may_be_empty():
    layout = Layout("sparse")
    wide = (np.array([5, 2**31 - 1], np.int32), np.ones(2, F32))  # BM25 hashes to all of int32
    assert layout.problem(wide, False) is None
    assert layout.problem((np.array([], np.int32), np.array([], F32)), False) is None


def test_check_raises_a_cache_error_naming_the_damage():
    with pytest.raises(CacheError, match=r"A damaged cache entry: a score .* not one number"):
        Layout("rerank").check(np.ones(3, F32), True)
    Layout("rerank").check(np.array(0.25, F32), True)
