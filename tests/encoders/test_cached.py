"""Encoding through the persistent cache: :func:`dfembed.encoders.cached.encode_cached`.

A stub encoder stands in for a model (it records what it is asked to embed); the cache is
a real one in a temporary folder. End-to-end runs with models: tests/io/test_cache.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from dfembed.encoders import cached
from dfembed.encoders.base import EncodeOptions


class _Stub:
    """Gives each text the float32 vector ``[len, first code point, 1]``."""

    kind = "text"

    def __init__(self, poison: str | None = None, fail_on: str | None = None):
        self.asked: list[list[str]] = []
        self.poison = poison  # this text's vector is NaN: not storable
        self.fail_on = fail_on  # embedding this text raises

    def width(self, options) -> int:
        return 3

    def cache_namespace(self, options):
        return "stub-namespace", {"model": "stub"}

    def cache_key(self, item):
        return item.encode() if isinstance(item, str) else None

    def encode_distinct(self, items, options, on_batch=None):
        self.asked.append(list(items))
        if self.fail_on in items:
            raise RuntimeError("the job was stopped")
        out = np.array([[len(t), ord(t[0]), 1] for t in items], dtype=np.float32)
        if self.poison in items:
            out[items.index(self.poison)] = np.nan
        if on_batch is not None:
            on_batch(len(items), 7 * len(items), 0.1)
        return out


def _encode(encoder, items, folder, batches=None):
    record = None if batches is None else (lambda *b: batches.append(b))
    return cached.encode_cached(encoder, items, EncodeOptions(), record, folder)


def test_a_rerun_reads_every_output_and_reports_the_hits(tmp_path):
    first = _Stub()
    out = _encode(first, ["ab", "c", "def"], tmp_path)
    assert first.asked == [["ab", "c", "def"]]
    again, batches = _Stub(), []
    np.testing.assert_array_equal(_encode(again, ["def", "ab"], tmp_path, batches), out[[2, 0]])
    assert again.asked == []  # nothing embedded
    assert batches == [(2, 0, 0.0)]  # rows served: no tokens, no model time


def test_only_the_misses_are_embedded_and_the_order_is_kept(tmp_path):
    _encode(_Stub(), ["b", "dd"], tmp_path)
    stub, batches = _Stub(), []
    out = _encode(stub, ["xyz", "b", "q", "dd"], tmp_path, batches)
    assert stub.asked == [["xyz", "q"]]
    np.testing.assert_array_equal(out[:, 0], [3, 1, 1, 2])
    assert batches == [(2, 0, 0.0), (2, 14, 0.1)]


def test_an_output_that_fails_the_read_check_is_returned_not_stored(tmp_path):
    out = _encode(_Stub(poison="bad"), ["bad", "ok"], tmp_path)
    assert np.isnan(out[0]).all()
    stub = _Stub()
    _encode(stub, ["bad", "ok"], tmp_path)
    assert stub.asked == [["bad"]]  # embedded again: never read back as damage


def test_inputs_without_a_cache_key_are_embedded_every_time(tmp_path):
    class Keyless(_Stub):
        def cache_key(self, item):
            return None if item == "secret" else super().cache_key(item)

    _encode(Keyless(), ["secret", "open"], tmp_path)
    stub = Keyless()
    _encode(stub, ["secret", "open"], tmp_path)
    assert stub.asked == [["secret"]]


def test_a_stopped_job_keeps_the_chunks_it_finished(tmp_path, monkeypatch):
    monkeypatch.setattr(cached, "CHUNK", 2)
    with pytest.raises(RuntimeError, match="stopped"):
        _encode(_Stub(fail_on="e"), ["a", "b", "c", "d", "e"], tmp_path)
    rerun = _Stub()
    _encode(rerun, ["a", "b", "c", "d", "e"], tmp_path)
    assert rerun.asked == [["e"]]  # the two finished chunks were stored as they ended
