"""A column's values checked before they reach a model: :mod:`dfembed.inputs`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from dfembed import inputs
from dfembed.errors import InputError


def test_every_kind_of_missing_value_is_missing():
    values = pd.Series(["a", None, np.nan, pd.NA, pd.NaT, ""], dtype=object)
    assert inputs.missing_mask(values).tolist() == [False, True, True, True, True, False]


def test_texts_keep_valid_rows_and_clean_lone_surrogates():
    values = pd.Series(["ok", None, "bad \ud800 half", ""], index=[3, 1, 2, 0], dtype=object)
    valid, items = inputs.texts(values, "body")
    assert valid.tolist() == [True, False, True, True]
    assert items == ["ok", "bad \ufffd half", ""]  # the empty string is a text, not missing
    items[1].encode("utf-8")  # what the tokenizer needs


def test_a_non_text_cell_names_its_label_its_type_and_how_many():
    values = pd.Series(["a", 1.5, None, b"bytes"], index=["w", "x", "y", "z"])
    with pytest.raises(InputError) as caught:
        inputs.texts(values, "body")
    message = str(caught.value)
    assert message.startswith("Column 'body' holds a cell of type float at index label 'x'")
    assert "(2 non-text cell(s) in all)" in message and ".astype(str)" in message


def test_show_and_describe_column_print_labels_as_written():
    assert inputs.show(np.int64(9)) == "9" and inputs.show("a") == "'a'"
    assert inputs.show(np.datetime64("2026-01-02")) == "2026-01-02"
    assert inputs.describe_column(None) == "The Series"
    assert inputs.describe_column(np.int64(3)) == "Column 3"


def test_check_column_suggests_close_names():
    frame = pd.DataFrame({"body": [], "bodies": [], "n": []})
    inputs.check_column(frame, "body")
    with pytest.raises(InputError, match=r"No column 'bdy' in the frame .* Did you mean 'body'"):
        inputs.check_column(frame, "bdy")
    with pytest.raises(InputError) as caught:
        inputs.check_column(frame, "zzz")
    assert "Did you mean" not in str(caught.value)


def test_pairs_need_a_query_and_are_null_where_either_side_is_missing():
    texts = pd.Series(["d1", "d2", None], name="body")
    with pytest.raises(InputError, match="rerank needs a query string"):
        inputs.pairs(texts, "body", None, None)
    queries = pd.Series([None, "q2", "q3"], name="q")
    valid, items = inputs.pairs(texts, "body", None, queries)
    assert valid.tolist() == [False, True, False] and items == [("q2", "d2")]
    with pytest.raises(InputError, match="Column 'q' holds a cell of type int"):
        inputs.pairs(texts, "body", None, pd.Series([1, "q", "q"], name="q"))


def test_a_string_view_column_reads_as_large_strings():
    view = pd.Series(["a", None], dtype=pd.ArrowDtype(pa.string_view()))
    plain = inputs.without_string_view(view)
    assert str(plain.dtype.pyarrow_dtype) == "large_string" and plain.isna().tolist() == [0, 1]
    other = pd.Series(["a"])
    assert inputs.without_string_view(other) is other


def test_arrow_strings_become_one_object_per_distinct_text():
    """Rows of an Arrow column that hold the same text share one Python string (no copies)."""
    values = pd.Series(["b", "a", None, "b", "a", "b"], dtype="str")
    valid, items = inputs.texts(values, "t")
    assert valid.tolist() == [True, True, False, True, True, True]
    assert items == ["b", "a", "b", "a", "b"]
    assert items[0] is items[2] is items[4] and items[1] is items[3]


def test_string_view_pairs_for_reranking():
    view = pd.ArrowDtype(pa.string_view())
    texts = pd.Series(["a doc", None, "b doc"], dtype=view, name="body")
    queries = pd.Series(["q1", "q2", None], dtype=view, name="q")
    valid, items = inputs.pairs(texts, "body", None, queries)
    assert valid.tolist() == [True, False, False] and items == [("q1", "a doc")]
    valid, items = inputs.pairs(texts, "body", "q", None)
    assert items == [("q", "a doc"), ("q", "b doc")]
