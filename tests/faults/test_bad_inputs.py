"""Bad inputs, in process and on a real two-worker cluster: a null row or an error naming
the column and the first bad index label, never a lost, shifted or made-up row.

Dask frames here are built with ``dataframe.convert-string`` off, the way dfembed's own
``parallel=`` path builds them: with it on (Dask's default), ``dd.from_pandas`` turns every
object cell into text before dfembed sees it (``42`` becomes ``"42"``); that behaviour is
pinned by its own test below and documented in the README.
"""

from __future__ import annotations

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dfembed
from dfembed import InputError
from tests.faults.common import WORDS, same

NULL, VECTOR = "null", "vector"
BAD = "the-bad-one"
#: 100,000 characters of words: far past the model's 256 tokens.
LONG = (" ".join(np.random.default_rng(5).choice(WORDS, size=20_000)) + " ")[:100_000]
#: Each cell, and what dfembed gives for it: a null row, a vector, or an InputError naming
#: this type.
CELLS = [
    ("None", None, NULL),
    ("NaN", float("nan"), NULL),
    ("numpy-NaN", np.float64("nan"), NULL),
    ("pd.NA", pd.NA, NULL),
    ("NaT", pd.NaT, NULL),
    ("int", 42, "int"),
    ("numpy-int", np.int64(7), "int64"),
    ("float", 2.5, "float"),
    ("bool", True, "bool"),
    ("bytes", b"caf\xc3\xa9", "bytes"),
    ("dict", {"a": 1}, "dict"),
    ("list", ["a", "b"], "list"),
    ("empty-string", "", VECTOR),
    ("whitespace", " \t\n\u00a0 ", VECTOR),
    ("100k-characters", LONG, VECTOR),
    ("lone-surrogate", "lone \ud800 surrogate", VECTOR),
    ("odd-unicode", "e\u0301 \u200b\u0000\u202e \U0001f600 \ufeff\uffff", VECTOR),
]
ENGINES = ["pandas", "dask", "pandas-parallel"]


def _frame(cell) -> pd.DataFrame:
    body = pd.Series(["first row", cell, "last row"], index=["a", BAD, "c"], dtype=object)
    return pd.DataFrame({"body": body, "n": [1, 2, 3]})


def _dask(df: pd.DataFrame, npartitions: int) -> dd.DataFrame:
    with dask.config.set({"dataframe.convert-string": False}):
        return dd.from_pandas(df, npartitions=npartitions, sort=False)


def _embed(df: pd.DataFrame, engine: str, model: str, npartitions: int = 2) -> pd.Series:
    if engine == "pandas":
        return df.embed.text("body", model=model)
    if engine == "pandas-parallel":  # pandas in, pandas out, computed on the cluster
        return df.embed.text("body", model=model, parallel=2)
    return _dask(df, npartitions).embed.text("body", model=model).compute()


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("case", "cell", "outcome"), CELLS, ids=[c[0] for c in CELLS])
def test_each_bad_cell_gives_a_null_row_a_vector_or_a_named_error(
    client, minilm_int8, engine, case, cell, outcome
):
    df = _frame(cell)
    if outcome not in (NULL, VECTOR):
        with pytest.raises(InputError) as err:
            _embed(df, engine, minilm_int8)
        message = str(err.value)
        assert "'body'" in message and repr(BAD) in message, message
        assert f"holds a cell of type {outcome} " in message, message
        return
    out = _embed(df, engine, minilm_int8)
    assert out.index.tolist() == ["a", BAD, "c"]
    assert out.isna().tolist() == [False, outcome == NULL, False]
    matrix = dfembed.to_numpy(out)
    kept = matrix[out.notna().to_numpy()]
    assert np.isfinite(kept).all()
    np.testing.assert_allclose(np.linalg.norm(kept, axis=1), 1.0, atol=1e-5)


def _vectors(texts: list[str], model: str) -> np.ndarray:
    return dfembed.to_numpy(pd.Series(texts, dtype=object).embed.text(model=model))


def test_what_odd_texts_embed_as(minilm_int8):
    """Empty and blank texts are the bare [CLS] [SEP] sentence; a long text is its first 256
    tokens; a lone surrogate is read as U+FFFD."""
    cut = LONG[: LONG.index(" ", 5_000)]  # about 900 words: still past 256 tokens
    got = _vectors(["", " \t\n\u00a0 ", LONG, "lone \ud800 surrogate"], minilm_int8)
    want = _vectors(["", "", cut, "lone \ufffd surrogate"], minilm_int8)
    np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("engine", ENGINES)
def test_mixed_types_name_the_first_bad_label_and_count_them(client, minilm_int8, engine):
    cells = ["ok", None, 3, b"x", {"k": 1}, "fine", 2.5]
    labels = [f"row-{i}" for i in range(7)]
    df = pd.DataFrame({"body": pd.Series(cells, dtype=object, index=labels)})
    if engine == "pandas-parallel":  # split into one partition per worker and more:
        # the partition that fails first names its own first bad label and count
        pattern = (
            r"'body' holds a cell of type (int|bytes|dict|float) "
            r"at index label 'row-[2346]' \(\d non"
        )
    else:  # in process, or a single Dask partition: the frame's first bad label
        pattern = (
            r"'body' holds a cell of type int at index label 'row-2' "
            r"\(4 non-text cell\(s\) in all\)"
        )
    with pytest.raises(InputError, match=pattern):
        _embed(df, engine, minilm_int8, npartitions=1)


def test_on_dask_the_error_names_a_bad_label_of_the_failing_partition(client, minilm_int8):
    df = pd.DataFrame({"body": pd.Series(["ok"] * 6 + [7] + ["ok"] * 5 + [8], dtype=object)})
    with pytest.raises(InputError, match=r"at index label (6|12) \(1 non-text"):
        _dask(df, 2).embed.text("body", model=minilm_int8).compute()


def test_a_missing_column_fails_at_call_time_with_suggestions(client, minilm_int8):
    df = _frame("text")
    for frame in (df, _dask(df, 2)):
        with pytest.raises(InputError, match=r"No column 'bdy'.*Did you mean 'body'"):
            frame.embed.text("bdy", model=minilm_int8)  # lazy on Dask, yet raised now
    with pytest.raises(InputError, match="No column 'bdy'"):
        df.embed.text("bdy", model=minilm_int8, parallel=2)


@pytest.mark.parametrize("engine", ENGINES)
def test_an_empty_frame_gives_an_empty_vector_column(client, minilm_int8, engine):
    df = pd.DataFrame({"body": pd.Series([], dtype=object)}, index=pd.Index([], dtype="int64"))
    out = _embed(df, engine, minilm_int8, npartitions=1)
    assert len(out) == 0 and out.name == "body"
    assert out.dtype == pd.ArrowDtype(pa.list_(pa.float32(), 384))


def test_empty_and_all_missing_partitions(client, minilm_int8):
    body = [None, np.nan, pd.NA, "cats purr", "dropped", "dropped too", "", "rain today"]
    df = pd.DataFrame({"body": pd.Series(body, dtype=object), "keep": [1, 1, 1, 1, 0, 0, 1, 1]})
    ddf = _dask(df, 4)  # partitions: [all missing] [missing, text] [no rows] [empty, text]
    ddf = ddf[ddf["keep"] == 1]
    sizes = ddf.map_partitions(len).compute().tolist()
    assert sizes == [2, 2, 0, 2]
    expected = df[df["keep"] == 1].embed.text("body", model=minilm_int8)
    same(ddf.embed.text("body", model=minilm_int8).compute(), expected)


def test_dask_string_conversion_turns_cells_into_text_before_dfembed(client, minilm_int8):
    """Dask's default ``dataframe.convert-string`` makes object cells strings in
    ``from_pandas``: numbers, bytes and dicts embed as their text, and a lone surrogate
    fails inside Dask itself. dfembed never sees the original cells."""
    df = pd.DataFrame({"body": pd.Series(["ok", 42, b"bytes", {"a": 1}, None], dtype=object)})
    with dask.config.set({"dataframe.convert-string": True}):
        ddf = dd.from_pandas(df, npartitions=2, sort=False)
        odd = pd.DataFrame({"body": pd.Series(["lone \ud800"], dtype=object)})
        with pytest.raises(UnicodeEncodeError):
            dd.from_pandas(odd, npartitions=1).compute()
    out = ddf.embed.text("body", model=minilm_int8).compute()
    assert out.isna().tolist() == [False, False, False, False, True]
    np.testing.assert_allclose(
        dfembed.to_numpy(out)[:4],
        _vectors(["ok", "42", "bytes", "{'a': 1}"], minilm_int8),
        atol=1e-5,
    )


#: Cells of every sort that embeds or is missing: the property test's alphabet.
_CELLS = st.one_of(
    st.sampled_from([None, np.nan, pd.NA, "", "   ", "lone \ud800 surrogate", LONG[:3000]]),
    st.sampled_from(WORDS),
    st.text(max_size=40),  # any Unicode, control characters and odd scripts included
)


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    cells=st.lists(_CELLS, max_size=40),
    npartitions=st.integers(1, 6),
    index_kind=st.sampled_from(["range", "strings", "duplicates", "dates"]),
    drop_every=st.sampled_from([0, 2, 3]),
)
def test_any_frame_and_partitioning_keeps_every_row(
    client, minilm_int8, cells, npartitions, index_kind, drop_every
):
    n = len(cells)
    index = {
        "range": pd.RangeIndex(n),
        "strings": pd.Index([f"r{(i * 7919) % 1000}-{i}" for i in range(n)]),
        "duplicates": pd.Index([i % 3 for i in range(n)]),
        "dates": pd.date_range("2024-01-01", periods=n, freq="h")[::-1],
    }[index_kind]
    keep = [drop_every == 0 or i % drop_every != 0 for i in range(n)]
    body = pd.Series(cells, dtype=object, index=index)
    df = pd.DataFrame({"body": body, "keep": pd.Series(keep, index=index, dtype=bool)})
    ddf = _dask(df, max(1, min(npartitions, n)))
    if drop_every:  # whole partitions may end up empty
        ddf = ddf[ddf["keep"]]
        df = df[df["keep"]]
    out = ddf.embed.text("body", model=minilm_int8).compute()
    assert out.index.tolist() == df.index.tolist()
    assert out.isna().tolist() == pd.isna(df["body"]).tolist()
    vectors = dfembed.to_numpy(out)[out.notna().to_numpy()]
    assert np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    same(out, df.embed.text("body", model=minilm_int8))


def test_a_duplicated_column_label_fails_at_call_time_on_dask_too():
    df = pd.DataFrame([["a", "b"]], columns=["body", "body"])
    for frame in (df, _dask(df, 1)):
        with pytest.raises(InputError, match="'body' selects 2 column"):
            frame.embed.text("body", model="/no/such/model")
