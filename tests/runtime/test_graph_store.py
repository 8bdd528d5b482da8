"""The machine's folder of rewritten graphs: :mod:`dfembed.runtime.graph_store`."""

from __future__ import annotations

import logging
import os

import pytest

from dfembed.runtime import graph_store


def test_store_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DFEMBED_FUSED_DIR", str(tmp_path / "store"))
    assert graph_store.store_dir() == tmp_path / "store"
    monkeypatch.delenv("DFEMBED_FUSED_DIR")
    assert graph_store.store_dir().parts[-3:] == (".cache", "dfembed", "fused")


def test_writable_makes_the_folder_or_says_once_why_not(tmp_path, caplog):
    assert graph_store.writable(tmp_path / "a" / "b", "fusing")
    assert (tmp_path / "a" / "b").is_dir()
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    with caplog.at_level(logging.INFO, logger="dfembed"):
        assert not graph_store.writable(blocked / "store", "fusing")
        assert not graph_store.writable(blocked / "store", "fusing")
    said = [r.getMessage() for r in caplog.records if "cannot be written" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith("dfembed: fusing: ")
    assert "DFEMBED_FUSED_DIR" in said[0]


def test_write_atomic_replaces_whole_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "g.onnx"
    graph_store.write_atomic(target, b"first")
    graph_store.write_atomic(target, b"second")
    assert target.read_bytes() == b"second"

    def fail(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        graph_store.write_atomic(target, b"third")
    assert target.read_bytes() == b"second"  # the old file, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.onnx"]


def test_is_file_error_tells_damaged_files_from_other_failures():
    damaged = type("InvalidProtobuf", (Exception,), {})
    assert graph_store.is_file_error(damaged("bad bytes"))
    assert not graph_store.is_file_error(MemoryError("out of memory"))


def test_drop_ignores_missing_files_and_short_hash_names_settings(tmp_path):
    path = tmp_path / "stale.onnx"
    path.write_bytes(b"x")
    graph_store.drop(path)
    graph_store.drop(path)  # already gone: nothing to do
    assert not path.exists()
    assert len(graph_store.short_hash("a", 1)) == 12
    assert graph_store.short_hash("a", 1) == graph_store.short_hash("a", "1")
    assert graph_store.short_hash("a", 1) != graph_store.short_hash("a1")
