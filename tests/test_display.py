"""``dfembed.preview``: vector columns read as short summaries; nothing else changes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import dfembed
from dfembed import columns

INDEX = pd.Index(["a", "b", "c"])
VALID = np.array([True, False, True])


def _frame() -> pd.DataFrame:
    dense = np.array([[0.5, -0.25, 0.125, 1.0], [2.0, 0.0, -1.0, 3.0]], dtype=np.float32)
    sparse = [(np.array([3, 9, 12]), np.array([0.5, 2.0, 1.0])), (np.array([], int), [])]
    tokens = [np.ones((5, 4)), np.ones((2, 4))]
    return pd.DataFrame(
        {
            "text": ["x", None, "z"],
            "vec": columns.dense(dense, VALID, INDEX, "vec", 4),
            "sp": columns.sparse(sparse, VALID, INDEX, "sp"),
            "tok": columns.multivector(tokens, VALID, INDEX, "tok", 4),
            "score": columns.scores([1.5, 2.5], VALID, INDEX, "score"),
        }
    )


def test_each_kind_of_vector_column_is_summarized():
    frame = _frame()
    shown = dfembed.preview(frame, shown=2, digits=2)
    assert shown["vec"].tolist() == ["4d [0.50, -0.25, …]", None, "4d [2.00, 0.00, …]"]
    assert shown["sp"].tolist() == ["3 nnz {9: 2.00, 12: 1.00, …}", None, "0 nnz {}"]
    assert shown["tok"].tolist() == ["5 × 4", None, "2 × 4"]
    pd.testing.assert_series_equal(shown["score"], frame["score"])
    pd.testing.assert_series_equal(shown["text"], frame["text"])
    assert list(shown.index) == list(INDEX)
    # a copy for looking at: the frame itself keeps its Arrow columns
    assert isinstance(frame["vec"].dtype, pd.ArrowDtype)


def test_series_and_non_string_column_names():
    frame = _frame().rename(columns={"vec": 7})
    shown = dfembed.preview(frame)
    assert list(shown.columns) == list(frame.columns)
    assert shown[7].iloc[0] == "4d [0.500, -0.250, 0.125, …]"
    assert dfembed.preview(frame[7]).iloc[2] == "4d [2.000, 0.000, -1.000, …]"
    with pytest.raises(TypeError, match="DataFrame or Series"):
        dfembed.preview(np.zeros((2, 3)))


def test_a_real_embedding_shows_its_dimension(minilm_int8):
    frame = pd.DataFrame({"body": ["A man is eating food.", "A cat sleeps."]})
    frame["vec"] = frame.embed.text("body", model=minilm_int8)
    first = dfembed.to_numpy(frame["vec"])[0]
    cell = dfembed.preview(frame)["vec"].iloc[0]
    assert cell.startswith("384d [") and cell.endswith(", …]")
    assert cell.split("[")[1].split(",")[0] == f"{first[0]:.3f}"
    assert len(repr(dfembed.preview(frame))) < 200  # no dumped numbers


def test_duplicate_column_names_are_summarized_by_position():
    frame = _frame()[["text", "vec", "sp"]]
    frame = pd.concat([frame, frame[["vec"]]], axis=1)  # two columns named "vec"
    shown = dfembed.preview(frame, shown=1, digits=1)
    assert list(shown.columns) == ["text", "vec", "sp", "vec"]
    assert shown.iloc[:, 1].tolist() == ["4d [0.5, …]", None, "4d [2.0, …]"]
    assert shown.iloc[:, 3].tolist() == shown.iloc[:, 1].tolist()
    assert shown.iloc[0, 2] == "3 nnz {9: 2.0, …}"
    assert isinstance(frame.iloc[:, 3].dtype, pd.ArrowDtype)  # the frame itself is unchanged
