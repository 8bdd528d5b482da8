"""The pandas ``.embed.text`` accessor: alignment, dtypes, nulls and input errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import dfembed
from dfembed import InputError
from dfembed.engine.partitions import text_costs

TEXTS = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The new movie is awesome.",
    "Stocks fell sharply after the announcement.",
]


def test_series_has_input_index_dtype_and_name(minilm_int8):
    df = pd.DataFrame({"body": TEXTS}, index=["d", "b", "d", "a"])  # duplicates, unsorted
    out = df.embed.text("body", model=minilm_int8)
    assert out.index.equals(df.index)
    assert out.name == "body"
    assert out.dtype == pd.ArrowDtype(pa.list_(pa.float32(), 384))
    matrix = dfembed.to_numpy(out)
    assert matrix.shape == (4, 384) and matrix.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-5)


def test_series_accessor_matches_frame_accessor(minilm_int8):
    df = pd.DataFrame({"body": TEXTS})
    a = dfembed.to_numpy(df.embed.text("body", model=minilm_int8))
    b = dfembed.to_numpy(df["body"].embed.text(model=minilm_int8))
    np.testing.assert_array_equal(a, b)


def test_missing_values_give_null_rows_and_empty_string_embeds(minilm_int8):
    s = pd.Series(["hello world", None, np.nan, pd.NA, ""], index=[10, 11, 12, 13, 14])
    out = s.embed.text(model=minilm_int8)
    assert out.isna().tolist() == [False, True, True, True, False]
    matrix = dfembed.to_numpy(out)
    assert np.isnan(matrix[1:4]).all()
    assert np.isfinite(matrix[[0, 4]]).all()


def test_all_missing_and_empty_inputs(minilm_int8):
    out = pd.Series([None, None], dtype=object).embed.text(model=minilm_int8)
    assert out.isna().all() and out.dtype == pd.ArrowDtype(pa.list_(pa.float32(), 384))
    frame = pd.DataFrame({"body": pd.Series([], dtype=object)})
    empty = frame.embed.text("body", model=minilm_int8)
    assert len(empty) == 0


@pytest.mark.parametrize("bad", [3, 2.5, b"bytes", {"a": 1}])
def test_non_string_raises_with_label_and_type(minilm_int8, bad):
    s = pd.Series(["fine", bad, "also fine"], index=["x", "y", "z"], name="body")
    with pytest.raises(InputError, match=r"'y'.*" if not isinstance(bad, float) else "'y'") as err:
        s.embed.text(model=minilm_int8)
    assert type(bad).__name__ in str(err.value)
    assert "body" in str(err.value)


def test_missing_column_suggests_close_names(minilm_int8):
    df = pd.DataFrame({"body": TEXTS})
    with pytest.raises(InputError, match="Did you mean 'body'"):
        df.embed.text("bdy", model=minilm_int8)


def test_odd_unicode_embeds(minilm_int8):
    cells = ["caf\u00e9 \U0001f600", "lone \ud800 surrogate", "\u200b\u0000", "   "]
    s = pd.Series(cells, dtype=object)  # pandas 3 strings cannot hold lone surrogates
    out = s.embed.text(model=minilm_int8)
    assert out.notna().all()


def test_query_prefix_changes_vectors_only_for_models_with_prefix(tmp_path, minilm_int8):
    import json
    import shutil

    folder = tmp_path / "prefixed"
    shutil.copytree(minilm_int8, folder)
    descriptor = json.loads((folder / "dfembed.json").read_text())
    descriptor["query_prefix"] = "query: "
    (folder / "dfembed.json").write_text(json.dumps(descriptor))
    s = pd.Series(["what is a cat"])
    plain = dfembed.to_numpy(s.embed.text(model=minilm_int8, query=True))
    doc = dfembed.to_numpy(s.embed.text(model=str(folder)))
    query = dfembed.to_numpy(s.embed.text(model=str(folder), query=True))
    np.testing.assert_allclose(plain, doc, atol=1e-6)
    assert not np.allclose(doc, query, atol=1e-3)


def test_progress_bar_runs(minilm_int8, capsys):
    out = pd.Series(TEXTS).embed.text(model=minilm_int8, progress=True)
    assert out.notna().all()
    err = capsys.readouterr().err
    assert "dfembed text" in err
    # the bar counts estimated tokens (the first ETA is right), not rows
    total = round(text_costs(pd.Series(TEXTS), None).sum())
    assert total < 1000 and f"{total}/{total}" in err and "tokens/s" in err


@pytest.mark.parametrize("dtype", ["str", "string[pyarrow]", pd.ArrowDtype(pa.large_string())])
def test_arrow_string_columns_embed_like_object_columns(minilm_int8, dtype):
    cells = [TEXTS[0], None, TEXTS[1], TEXTS[0], "", TEXTS[2]]
    index = [5, 3, 9, 1, 7, 0]
    arrow = pd.Series(cells, index=index, dtype=dtype).embed.text(model=minilm_int8)
    plain = pd.Series(cells, index=index, dtype=object).embed.text(model=minilm_int8)
    assert arrow.index.equals(plain.index)
    assert arrow.isna().tolist() == [False, True, False, False, False, False]
    np.testing.assert_array_equal(dfembed.to_numpy(arrow), dfembed.to_numpy(plain))


def test_string_view_column_with_nulls_embeds_like_a_string_column(minilm_int8):
    cells = [TEXTS[0], None, TEXTS[1]]
    view = pd.Series(cells, dtype=pd.ArrowDtype(pa.string_view())).embed.text(model=minilm_int8)
    plain = pd.Series(cells, dtype=object).embed.text(model=minilm_int8)
    assert view.isna().tolist() == [False, True, False]
    np.testing.assert_array_equal(dfembed.to_numpy(view), dfembed.to_numpy(plain))


@pytest.mark.parametrize(
    ("columns", "label", "count"),
    [
        (["body", "body", "n"], "body", 2),
        (pd.MultiIndex.from_tuples([("t", "a"), ("t", "b"), ("n", "x")]), "t", 2),
        (pd.MultiIndex.from_tuples([("t", "a"), ("n", "x")]), "t", 1),
    ],
)
def test_a_label_that_selects_a_frame_is_an_input_error(columns, label, count):
    df = pd.DataFrame([["x", "y", 1][: len(columns)]], columns=columns)
    with pytest.raises(InputError, match=f"'{label}' selects {count} column.*unique label"):
        df.embed.text(label, model="/no/such/model")


def test_a_full_multiindex_label_selects_its_column(minilm_int8):
    columns = pd.MultiIndex.from_tuples([("t", "a"), ("t", "b")])
    df = pd.DataFrame([[TEXTS[0], TEXTS[1]]], columns=columns)
    out = df.embed.text(("t", "b"), model=minilm_int8)
    expected = pd.Series([TEXTS[1]]).embed.text(model=minilm_int8)
    np.testing.assert_array_equal(dfembed.to_numpy(out), dfembed.to_numpy(expected))


def test_errors_name_an_unnamed_series_and_print_numpy_labels_plainly(minilm_int8):
    unnamed = pd.Series(["fine", 3])
    with pytest.raises(InputError, match="^The Series holds a cell of type int at index label 1 "):
        unnamed.embed.text(model=minilm_int8)
    named = pd.Series(["fine", 3], index=np.array([8, 9]), name=np.int64(7))
    with pytest.raises(
        InputError, match="^Column 7 holds a cell of type int at index label 9 "
    ) as err:
        named.embed.text(model=minilm_int8)
    assert "np." not in str(err.value)
    with pytest.raises(InputError, match=r"^No column 5 in the frame"):
        pd.DataFrame({1: ["x"]}).embed.text(np.int64(5), model=minilm_int8)
