"""Accessor arguments are checked at call time, before any model is looked up or run.

Each bad value names its argument (``TypeError`` for the wrong type, ``ValueError`` for a
value out of range); numpy integers are accepted, bools are not. The model named here does
not exist: the checks must fail first, in the caller's process, even on a lazy Dask frame.
"""

from __future__ import annotations

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

import dfembed

FRAME = pd.DataFrame({"body": ["a cat sat", None], "q": ["cats", "dogs"]})
NOWHERE = "/no/such/model"

#: (keyword arguments, error type, words the message holds)
BAD = [
    ({"max_length": 0}, ValueError, r"max_length must be an int >= 3.*not 0"),
    ({"max_length": 1}, ValueError, "max_length must be an int >= 3"),
    ({"max_length": -1}, ValueError, "max_length must be an int >= 3"),
    ({"max_length": 2.5}, TypeError, "max_length must be"),
    ({"max_length": True}, TypeError, "max_length must be.*not True"),
    ({"batch_size": 0}, ValueError, r"batch_size must be an int >= 1.*not 0"),
    ({"batch_size": -4}, ValueError, "batch_size must be an int >= 1"),
    ({"batch_size": "8"}, TypeError, "batch_size must be.*not '8'"),
    ({"batch_size": False}, TypeError, "batch_size must be"),
    ({"token_budget": None}, TypeError, "token_budget must be an int >= 1, not None"),
    ({"token_budget": 0}, ValueError, "token_budget must be an int >= 1"),
    ({"threads": 0}, ValueError, "threads must be an int >= 1"),
    ({"threads": "2"}, TypeError, "threads must be"),
    ({"device_id": -1}, ValueError, "device_id must be an int >= 0"),
    ({"device_id": 1.0}, TypeError, "device_id must be"),
    ({"device_ids": "0,1"}, TypeError, "device_ids must be a list of GPU numbers"),
    ({"device_ids": 1}, TypeError, "device_ids must be a list of GPU numbers"),
    ({"device_ids": []}, ValueError, "device_ids must list at least one GPU"),
    ({"device_ids": [0, -1]}, ValueError, "each of device_ids must be an int >= 0"),
    ({"device_ids": [0, True]}, TypeError, "each of device_ids must be"),
    ({"cuda": "yes"}, ValueError, "cuda must be False, True or \"auto\", not 'yes'"),
    ({"cuda": 1}, ValueError, "cuda must be"),
]


@pytest.mark.parametrize(("kwargs", "error", "message"), BAD, ids=[str(b[0]) for b in BAD])
def test_bad_arguments_fail_at_call_time_naming_the_argument(kwargs, error, message):
    with pytest.raises(error, match=message):
        FRAME.embed.text("body", model=NOWHERE, **kwargs)


@pytest.mark.parametrize(("kwargs", "error", "message"), BAD[:3] + BAD[-2:])
def test_a_lazy_dask_frame_checks_its_arguments_too(kwargs, error, message):
    ddf = dd.from_pandas(FRAME, npartitions=1)
    with pytest.raises(error, match=message):
        ddf.embed.text("body", model=NOWHERE, **kwargs)


@pytest.mark.parametrize(
    ("method", "minimum"),
    [("text", 3), ("sparse", 3), ("late_interaction", 4)],
)
def test_max_length_leaves_room_for_one_token_of_text(method, minimum):
    call = getattr(FRAME.embed, method)
    with pytest.raises(ValueError, match=f"max_length must be an int >= {minimum}.*special"):
        call("body", model=NOWHERE, max_length=minimum - 1)


def test_rerank_pairs_need_a_max_length_of_at_least_4():
    with pytest.raises(ValueError, match="max_length must be an int >= 4"):
        FRAME.embed.rerank("body", query_text="a query", model=NOWHERE, max_length=3)
    with pytest.raises(ValueError, match="batch_size must be"):
        FRAME.embed.rerank(column="body", query_column="q", model=NOWHERE, batch_size=0)


def test_image_batch_size_is_checked():
    with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
        pd.Series(["x.png"]).embed.image(model=NOWHERE, batch_size=0)


def test_numpy_integers_are_accepted_and_stored_as_plain_ints(minilm_int8):
    s = FRAME["body"]
    plain = dfembed.to_numpy(s.embed.text(model=minilm_int8, max_length=5, batch_size=1))
    numpy = s.embed.text(
        model=minilm_int8,
        max_length=np.int64(5),
        batch_size=np.int32(1),
        token_budget=np.int64(256),
        threads=np.int64(1),
        device_id=None,
        device_ids=(np.int64(0),),
    )
    np.testing.assert_array_equal(dfembed.to_numpy(numpy), plain)


def test_max_length_3_embeds_one_token_of_text(minilm_int8):
    s = pd.Series(["cats sat on the mat", "cats"])
    out = dfembed.to_numpy(s.embed.text(model=minilm_int8, max_length=3))
    np.testing.assert_allclose(out[0], out[1], atol=1e-6)  # both: [CLS] cats [SEP]
