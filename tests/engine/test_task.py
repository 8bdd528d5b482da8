"""One partition's job, :class:`dfembed.engine.task.EmbedTask`, run on a stand-in encoder.

The encoder is a stub that records what it was given: these tests are about what the task
does around it (which cells it reads, nulls, index labels, output types, width checks and
errors), not about vectors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dfembed import columns
from dfembed.encoders.base import EncodeOptions
from dfembed.engine.task import EmbedTask
from dfembed.errors import ModelLoadError, PanicError, TokenizerError
from dfembed.spec import ModelSpec


class _Encoder:
    """Gives row ``i`` of each call the vector ``[len(item), i, 0, ...]`` (or a score)."""

    def __init__(self, width: int = 4, fail: BaseException | None = None, scores=False):
        self._width = width
        self.fail = fail
        self.scores = scores
        self.calls: list[list] = []

    def width(self, options) -> int:
        return self._width

    def encode(self, items, options, on_batch=None, cache=None):
        self.calls.append(list(items))
        if self.fail is not None:
            raise self.fail
        if self.scores:
            return np.array([len(q) + len(d) for q, d in items], dtype=np.float32)
        out = np.zeros((len(items), self._width), dtype=np.float32)
        out[:, 0] = [len(item) for item in items]
        out[:, 1] = np.arange(len(items))
        return out


def _task(kind: str = "text", dim: int = 4, **fields) -> EmbedTask:
    fields.setdefault("column", "body")
    return EmbedTask(ModelSpec("stub", kind=kind), EncodeOptions(), name="vec", dim=dim, **fields)


def _frame() -> pd.DataFrame:
    index = pd.Index(["b", "a", "b", "c"])  # not sorted, with a repeated label
    return pd.DataFrame({"body": ["xx", None, "yyyy", "z"], "other": [1, 2, 3, 4]}, index=index)


def test_meta_is_an_empty_column_of_the_kinds_type_and_index_type():
    index = pd.Index(["x", "y"])
    assert _task("text", dim=7).meta(index).dtype == columns.dense_type(7)
    assert _task("image", dim=5).meta(index).dtype == columns.dense_type(5)
    assert _task("sparse").meta(index).dtype == columns.sparse_type()
    assert _task("late_interaction", dim=3).meta(index).dtype == columns.multivector_type(3)
    meta = _task("rerank", query="q").meta(index)
    assert meta.dtype == np.float32 and meta.name == "vec" and len(meta) == 0
    assert meta.index.dtype == index.dtype


def test_inputs_of_keeps_only_the_columns_read():
    frame = pd.DataFrame({"body": ["t"], "q": ["a query"], "other": [1]})
    assert _task().inputs_of(frame).columns.tolist() == ["body"]
    rerank = _task("rerank", query_column="q")
    assert rerank.inputs_of(frame).columns.tolist() == ["body", "q"]
    same = _task("rerank", column="body", query_column="body")
    assert same.inputs_of(frame).columns.tolist() == ["body"]
    series = frame["other"]
    assert _task().inputs_of(series) is series


def test_run_keeps_the_partitions_index_and_nulls_and_encodes_valid_rows_once():
    encoder = _Encoder()
    out = _task().run(_frame(), load=lambda: encoder)
    assert encoder.calls == [["xx", "yyyy", "z"]]
    assert out.name == "vec" and out.index.tolist() == ["b", "a", "b", "c"]
    assert out.isna().tolist() == [False, True, False, False]
    vectors = columns.to_numpy(out)
    np.testing.assert_array_equal(vectors[[0, 2, 3], :2], [[2, 0], [4, 1], [1, 2]])


def test_run_on_a_series_reads_the_series():
    encoder = _Encoder()
    series = pd.Series(["one", "three"], index=[10, 20], name="body")
    out = _task(column=None).run(series, load=lambda: encoder)
    assert encoder.calls == [["one", "three"]] and out.index.tolist() == [10, 20]


def test_nothing_to_embed_loads_nothing():
    def load():
        raise AssertionError("loaded for an empty or all-null partition")

    task = _task(dim=6)
    empty = task.run(_frame().iloc[:0], load=load)
    assert len(empty) == 0 and empty.dtype == columns.dense_type(6)
    nulls = task.run(pd.DataFrame({"body": [None, np.nan]}, index=[5, 6]), load=load)
    assert nulls.isna().all() and nulls.index.tolist() == [5, 6]
    assert nulls.dtype == columns.dense_type(6)


def test_rerank_pairs_each_row_with_its_query_or_the_one_query():
    encoder = _Encoder(scores=True)
    frame = pd.DataFrame({"body": ["ab", "cde", None], "q": ["q1", None, "q3"]})
    out = _task("rerank", query_column="q").run(frame, load=lambda: encoder)
    assert encoder.calls == [[("q1", "ab")]]
    assert out.tolist()[0] == 4 and np.isnan(out.tolist()[1:]).all()
    fixed = _Encoder(scores=True)
    _task("rerank", query="query").run(frame, load=lambda: fixed)
    assert fixed.calls == [[("query", "ab"), ("query", "cde")]]


def test_a_width_other_than_the_declared_one_is_refused_for_sized_kinds():
    with pytest.raises(ModelLoadError, match="gives 8-wide vectors here, but the result was"):
        _task(dim=4).run(_frame(), load=lambda: _Encoder(width=8))
    # a sparse vector has no fixed width: nothing to compare
    task = _task("sparse", dim=4)
    task.check_width(_Encoder(width=30522))


def test_a_tokenizer_panic_names_the_row_it_came_from():
    failure = TokenizerError("panicked", position=1, reason="regex too big")
    failure.item = "z"  # the 3rd valid row, the 4th row
    with pytest.raises(TokenizerError) as caught:
        _task().run(_frame(), load=lambda: _Encoder(fail=failure))
    message = str(caught.value)
    assert "the row at index label 'c' of column 'body'" in message
    assert "regex too big" in message and caught.value.reason == "regex too big"
    unplaced = TokenizerError("no item known")
    with pytest.raises(TokenizerError, match="no item known"):  # raised as it is
        _task().run(_frame(), load=lambda: _Encoder(fail=unplaced))


class _Panic(BaseException):
    """What a Rust panic looks like from Python: not an Exception."""


def test_a_base_exception_that_is_not_a_stop_leaves_as_panic_error():
    with pytest.raises(PanicError, match=r"_Panic: native crash, a BaseException") as caught:
        _task().run(_frame(), load=lambda: _Encoder(fail=_Panic("native crash")))
    assert caught.value.__context__ is None  # not chained: the panic may not pickle
    with pytest.raises(KeyboardInterrupt):  # a request to stop is not a panic
        _task().run(_frame(), load=lambda: _Encoder(fail=KeyboardInterrupt()))
