"""A tampered embedding cache: entries rewritten in the SQLite file, links, permissions.

Whoever can write a cache folder decides the vectors read from it; these tests check what
dfembed still guarantees. An entry that unpacks but is not an output the model gives (a
1-element row numpy would broadcast, a float64 row that overflows float32, ``inf``/``NaN``,
another width, a malformed sparse vector) is embedded again and stored over, with one
warning giving the count; files dfembed creates are owner-only; a link in place of a cache
file is refused, so nothing outside the folder is written through it.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dfembed
from dfembed.errors import CacheError
from dfembed.io.cache import pack, unpack
from tests.tiny_models import build_tiny_text_model

TEXTS = ["the cat sat on the mat", "a dog", "hello world", "red car fast", "blue cats"]
DIM = 8  # the tiny models' width


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, str]:
    """Tiny models of every kind the cache stores (BM25 needs none)."""
    import onnx
    from onnx import helper, numpy_helper

    root = tmp_path_factory.mktemp("tamper-models")
    text = build_tiny_text_model(root / "text")
    late = build_tiny_text_model(root / "late")
    descriptor = {"kind": "late_interaction", "dim": DIM, "pooling": "none"}
    descriptor.update(query_marker="query", document_marker="document")
    (late / "dfembed.json").write_text(json.dumps(descriptor))
    rerank = build_tiny_text_model(root / "rerank")
    graph_file = rerank / "onnx" / "model.onnx"
    # one logit per pair: the sum of its hidden states (padding is zeroed, so adds nothing)
    model = onnx.load(str(graph_file))
    model.graph.initializer.append(numpy_helper.from_array(np.array([1, 2]), "token_axes"))
    model.graph.node.append(
        helper.make_node("ReduceSum", ["last_hidden_state", "token_axes"], ["logits"], keepdims=0)
    )
    del model.graph.output[:]
    model.graph.output.append(
        helper.make_tensor_value_info("logits", onnx.TensorProto.FLOAT, ["batch"])
    )
    onnx.save(model, str(graph_file))
    (rerank / "dfembed.json").write_text(json.dumps({"kind": "rerank"}))
    return {"text": str(text), "late": str(late), "rerank": str(rerank)}


def _runners(models: dict[str, str]) -> dict[str, Callable]:
    return {
        "text": lambda df, **kw: df.embed.text("t", model=models["text"], **kw),
        "late": lambda df, **kw: df.embed.late_interaction("t", model=models["late"], **kw),
        "sparse": lambda df, **kw: df.embed.sparse("t", model="Qdrant/bm25", **kw),
        "rerank": lambda df, **kw: df.embed.rerank(
            "t", query_text="cats", model=models["rerank"], **kw
        ),
    }


def _entries(folder: Path) -> list[tuple[int, bytes]]:
    """``(rowid, value)`` of every stored entry, in the order they were stored."""
    (db,) = folder.glob("*.sqlite")
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT rowid, value FROM entries ORDER BY rowid").fetchall()


def _tamper(folder: Path, values: dict[int, bytes]) -> None:
    """Overwrite the ``i``-th stored entry (the ``i``-th distinct input) with ``values[i]``."""
    rowids = [rowid for rowid, _ in _entries(folder)]
    (db,) = folder.glob("*.sqlite")
    with sqlite3.connect(db) as conn:
        for i, value in values.items():
            conn.execute("UPDATE entries SET value = ? WHERE rowid = ?", (value, rowids[i]))


def _row(values, dtype=np.float32) -> bytes:
    return pack(np.asarray(values, dtype=dtype), row=True)


# name -> (runner, {entry: a function of the entry's good value, giving the tampered bytes})
DAMAGE = {
    "one-element-row": ("text", {1: lambda v: _row([0.5])}),
    "float64-row-overflowing": (
        "text",
        {1: lambda v: _row(v.astype(np.float64) * 1e300, np.float64)},
    ),
    "float16-row": ("text", {2: lambda v: _row(v, np.float16)}),
    "inf": ("text", {1: lambda v: _row(np.where(np.arange(DIM) == 3, np.inf, v))}),
    "nan": ("text", {3: lambda v: _row(np.full(DIM, np.nan))}),
    "wrong-width-first-row": ("text", {0: lambda v: _row(np.append(v, 1.0))}),
    "wrong-width-later-row": ("text", {2: lambda v: _row(v[:-1])}),
    "dense-as-matrix": ("text", {1: lambda v: pack(v[None], row=False)}),
    "tokens-of-another-width": ("late", {1: lambda v: pack(v[:, :-1], row=False)}),
    "no-tokens": ("late", {0: lambda v: pack(v[:0], row=False)}),
    "tokens-float64": ("late", {1: lambda v: pack(v.astype(np.float64) * 1e300, row=False)}),
    "tokens-nan": ("late", {2: lambda v: pack(np.full_like(v, np.nan), row=False)}),
    "sparse-int64-indices": ("sparse", {0: lambda v: pack((v[0].astype(np.int64), v[1]), False)}),
    "sparse-short-values": ("sparse", {0: lambda v: pack((v[0], v[1][:-1]), False)}),
    "sparse-negative-index": ("sparse", {1: lambda v: pack((-v[0] - 1, v[1]), False)}),
    "sparse-repeated-index": ("sparse", {0: lambda v: pack((v[0][[0, 0]], v[1][[0, 0]]), False)}),
    "sparse-inf": ("sparse", {3: lambda v: pack((v[0], v[1] * np.inf), False)}),
    "score-as-vector": ("rerank", {0: lambda v: _row([v, v])}),
    "score-float64": ("rerank", {1: lambda v: _row(1e300, np.float64)}),
    "score-nan": ("rerank", {2: lambda v: _row(np.nan)}),
}


def _damaged_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "damaged" in r.getMessage()]


@pytest.mark.parametrize("case", list(DAMAGE))
def test_tampered_entries_are_embedded_again_and_stored_over(
    case, models, tmp_path, embedded, caplog
):
    runner, damage = DAMAGE[case]
    run = _runners(models)[runner]
    df = pd.DataFrame({"t": TEXTS})
    fresh = run(df)
    run(df, cache=tmp_path)
    stored = [unpack(value)[0] for _, value in _entries(tmp_path)]
    _tamper(tmp_path, {i: make(stored[i]) for i, make in damage.items()})
    del embedded[:]
    with caplog.at_level(logging.WARNING, logger="dfembed"):
        again = run(df, cache=tmp_path)
    assert again.equals(fresh), "a tampered entry was served"
    assert embedded == [len(damage)]  # only the tampered entries were embedded again
    (warning,) = _damaged_warnings(caplog)
    assert f"{len(damage)} damaged rows" in warning
    del embedded[:]
    assert run(df, cache=tmp_path).equals(fresh)
    assert embedded == [], "the recomputed outputs were not stored over the tampered ones"


def test_every_kind_of_damage_at_once_is_counted_in_one_warning(models, tmp_path, caplog):
    df = pd.DataFrame({"t": TEXTS})
    run = _runners(models)["text"]
    fresh = run(df)
    run(df, cache=tmp_path)
    good = unpack(_entries(tmp_path)[0][1])[0]
    _tamper(
        tmp_path,
        {
            0: _row(np.append(good, 0.0)),  # wrong width, first row
            1: _row([0.5]),
            2: _row(good.astype(np.float64) * 1e300, np.float64),
            3: _row(np.full(DIM, np.inf)),
            4: _row(good)[:-4],  # truncated bytes
        },
    )
    with caplog.at_level(logging.WARNING, logger="dfembed"):
        again = run(df, cache=tmp_path)
    np.testing.assert_array_equal(dfembed.to_numpy(again), dfembed.to_numpy(fresh))
    (warning,) = _damaged_warnings(caplog)
    assert "5 damaged rows" in warning


def test_outputs_that_fail_the_read_check_are_returned_but_not_stored(
    models, tmp_path, monkeypatch, embedded, caplog
):
    """A model that gives NaN: stored, its rows would be dropped as damage on every rerun."""
    from dfembed.encoders.text import TextEncoder

    df = pd.DataFrame({"t": TEXTS})
    run = _runners(models)["text"]
    with monkeypatch.context() as m:
        m.setattr(
            TextEncoder, "run", lambda self, p, pos, o: np.full((len(pos), DIM), np.nan, np.float32)
        )
        out = run(df, cache=tmp_path)
    assert np.isnan(dfembed.to_numpy(out)).all()  # returned as the model gave them
    assert _entries(tmp_path) == []
    del embedded[:]
    with caplog.at_level(logging.WARNING, logger="dfembed"):
        run(df, cache=tmp_path)
    assert embedded == [len(TEXTS)] and _damaged_warnings(caplog) == []


# ---------------------------------------------------------------------------- permissions


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def open_umask():
    """A umask that lets group and others read new files (a common default)."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_new_cache_folders_and_files_are_owner_only(models, tmp_path, open_umask):
    folder = tmp_path / "new" / "nested" / "cache"
    run = _runners(models)["text"]
    run(pd.DataFrame({"t": TEXTS[:2]}), cache=folder)
    for made in (tmp_path / "new", tmp_path / "new" / "nested", folder):
        assert _mode(made) == 0o700, made
    (db,) = folder.glob("*.sqlite")
    assert _mode(db) == 0o600
    # SQLite keeps its -wal and -shm files while a connection is open: hold one, then write
    with sqlite3.connect(db) as held:
        held.execute("SELECT COUNT(*) FROM entries").fetchall()
        run(pd.DataFrame({"t": TEXTS[2:]}), cache=folder)
        sidecars = [Path(f"{db}{suffix}") for suffix in ("-wal", "-shm")]
        assert all(p.exists() for p in sidecars)
        assert [_mode(p) for p in sidecars] == [0o600, 0o600]
    assert not [p for p in folder.iterdir() if _mode(p) & 0o077]


def test_an_existing_folder_keeps_its_permissions(models, tmp_path, open_umask):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o775)
    os.chmod(shared, 0o775)  # a team folder shared on purpose
    _runners(models)["text"](pd.DataFrame({"t": TEXTS[:2]}), cache=shared)
    assert _mode(shared) == 0o775
    (db,) = shared.glob("*.sqlite")
    assert _mode(db) == 0o600  # the file dfembed made is still its user's alone


# ---------------------------------------------------------------------------- links


def _namespace_file(models, folder: Path) -> Path:
    _runners(models)["text"](pd.DataFrame({"t": TEXTS[:1]}), cache=folder)
    (db,) = folder.glob("*.sqlite")
    return db


@pytest.mark.parametrize("suffix", ["", "-wal", "-shm"])
def test_a_link_in_place_of_a_cache_file_is_refused_and_not_written_through(
    models, tmp_path, suffix
):
    folder = tmp_path / "cache"
    db = _namespace_file(models, folder)
    victim = tmp_path / "elsewhere.txt"
    victim.write_bytes(b"" if suffix == "" else b"a file of the user's, outside the cache")
    before = victim.read_bytes()
    part = Path(f"{db}{suffix}")
    part.unlink(missing_ok=True)
    if suffix == "":
        for side in ("-wal", "-shm"):
            Path(f"{db}{side}").unlink(missing_ok=True)
    part.symlink_to(victim)
    with pytest.raises(CacheError, match="is a symbolic link .*Delete the link"):
        _runners(models)["text"](pd.DataFrame({"t": TEXTS}), cache=folder)
    assert victim.read_bytes() == before


def test_a_linked_cache_folder_is_followed_when_it_is_the_users_own(models, tmp_path):
    target = tmp_path / "big-disk" / "cache"
    target.mkdir(parents=True)
    link = tmp_path / "cache"
    link.symlink_to(target)
    _runners(models)["text"](pd.DataFrame({"t": TEXTS}), cache=link)
    assert len(list(target.glob("*.sqlite"))) == 1


def test_a_linked_cache_folder_of_another_user_is_refused(models, tmp_path, monkeypatch):
    target = tmp_path / "theirs"
    target.mkdir()
    if os.geteuid() == 0:
        os.chown(target, 65534, 65534)
    else:  # not allowed to give a folder away: be another user instead
        uid = os.getuid()
        monkeypatch.setattr(os, "getuid", lambda: uid + 1)
    link = tmp_path / "cache"
    link.symlink_to(target)
    with pytest.raises(CacheError, match="a folder of another user .*remove the link"):
        _runners(models)["text"](pd.DataFrame({"t": TEXTS}), cache=link)
    assert list(target.iterdir()) == []
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "missing")
    with pytest.raises(CacheError, match="not a folder"):
        _runners(models)["text"](pd.DataFrame({"t": TEXTS}), cache=dangling)
