"""Made-up inputs for a text graph: :mod:`dfembed.runtime.synthetic`."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from dfembed.runtime.synthetic import Unmeasurable, token_feed, token_ids


def _arg(name: str, type_: str = "tensor(int64)"):
    return SimpleNamespace(name=name, type=type_)  # what session.get_inputs() lists


def test_token_ids_avoid_the_special_low_ids_and_repeat_by_seed():
    ids = token_ids(4, 16, 30522)
    assert ids.shape == (4, 16) and ids.dtype == np.int64
    assert ids.min() >= 1000 and ids.max() < 30522
    np.testing.assert_array_equal(ids, token_ids(4, 16, 30522))
    assert not np.array_equal(ids, token_ids(4, 16, 30522, seed=1))
    small = token_ids(2, 8, 100)  # a tiny vocabulary: its upper half
    assert small.min() >= 50 and small.max() < 100


def test_feed_gives_ids_full_masks_and_zero_types_in_each_inputs_dtype():
    ids = token_ids(2, 5, 1000)
    inputs = [_arg("input_ids"), _arg("attention_mask", "tensor(int32)"), _arg("token_type_ids")]
    feed = token_feed(inputs, ids)
    np.testing.assert_array_equal(feed["input_ids"], ids)
    assert feed["attention_mask"].dtype == np.int32 and (feed["attention_mask"] == 1).all()
    assert feed["token_type_ids"].shape == ids.shape and not feed["token_type_ids"].any()


def test_an_input_that_is_not_integers_cannot_be_made_up():
    with pytest.raises(Unmeasurable, match=r"pixel_values \(tensor\(float\)\)"):
        token_feed([_arg("input_ids"), _arg("pixel_values", "tensor(float)")], token_ids(1, 2, 9))
    assert issubclass(Unmeasurable, ValueError)
