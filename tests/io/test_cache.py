"""The persistent embedding cache: hits are exact, misses are embedded once, nothing else.

Real weights (paraphrase-MiniLM-L3-v2, SPLADE-tiny, DINOv2-small, MiniLM token vectors) are
embedded with and without ``cache=``; the model work is counted by wrapping the one
batching path (:meth:`Encoder.encode_distinct`), so "only the new rows were embedded" is
measured, not assumed.
"""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dfembed
from dfembed.encoders import cached
from dfembed.encoders.base import Encoder
from dfembed.encoders.load import clear_cache
from dfembed.errors import CacheError
from dfembed.io.cache import pack, unpack

TEXTS = [
    "The cat sat on the mat.",
    "A dog barked at the mailman all morning.",
    "Stock markets fell sharply on Tuesday.",
    "Quantum computers use qubits.",
    "The recipe needs two cups of flour.",
    "Rain is expected over the weekend.",
    "She finished the marathon in under four hours.",
    "The library opens at nine.",
]


def _frame(texts: list, index=None) -> pd.DataFrame:
    return pd.DataFrame({"t": texts}, index=index)


@pytest.mark.parametrize(
    "value, row",
    [
        (np.arange(5, dtype=np.float32), True),
        (np.float32(2.5), True),
        (np.arange(12, dtype=np.float32).reshape(3, 4), False),
        ((np.array([3, 7], np.int32), np.array([0.5, 1.5], np.float32)), False),
        ((np.zeros(0, np.int32), np.zeros(0, np.float32)), False),
    ],
)
def test_pack_round_trips_every_output_shape(value, row):
    back, is_row = unpack(pack(value, row))
    assert is_row == row
    for got, want in zip(
        back if isinstance(back, tuple) else (back,),
        value if isinstance(value, tuple) else (value,),
        strict=True,
    ):
        assert got.dtype == np.asarray(want).dtype
        assert got.shape == np.asarray(want).shape
        np.testing.assert_array_equal(got, want)


def test_rerun_reads_every_row_and_returns_the_same_vectors(paraphrase_l3, tmp_path, embedded):
    df = _frame(TEXTS, index=[f"r{i}" for i in range(len(TEXTS))])
    plain = df.embed.text("t", model=paraphrase_l3)
    first = df.embed.text("t", model=paraphrase_l3, cache=tmp_path)
    assert embedded == [len(TEXTS), len(TEXTS)]
    second = df.embed.text("t", model=paraphrase_l3, cache=tmp_path)
    assert embedded == [len(TEXTS), len(TEXTS)], "a full cache still ran the model"
    np.testing.assert_array_equal(dfembed.to_numpy(first), dfembed.to_numpy(plain))
    np.testing.assert_array_equal(dfembed.to_numpy(second), dfembed.to_numpy(plain))
    assert second.index.equals(df.index)
    assert second.dtype == plain.dtype


def test_grown_table_embeds_only_new_rows_and_keeps_order_and_nulls(
    paraphrase_l3, tmp_path, embedded
):
    dfembed_args = {"model": paraphrase_l3, "cache": tmp_path}
    _frame(TEXTS[:5]).embed.text("t", **dfembed_args)
    grown = _frame([TEXTS[7], None, *TEXTS[::-1], TEXTS[6]], index=np.arange(11)[::-1])
    out = grown.embed.text("t", **dfembed_args)
    assert embedded == [5, 3], "only the three texts not stored yet should be embedded"
    plain = grown.embed.text("t", model=paraphrase_l3)
    assert out.index.equals(grown.index)
    assert out.isna().tolist() == plain.isna().tolist() == [False, True] + [False] * 9
    np.testing.assert_array_equal(dfembed.to_numpy(out.dropna()), dfembed.to_numpy(plain.dropna()))


def test_options_that_change_outputs_change_the_namespace(paraphrase_l3, tmp_path, embedded):
    df = _frame(TEXTS)
    df.embed.text("t", model=paraphrase_l3, cache=tmp_path)
    # how rows are batched does not change outputs: served from the cache
    df.embed.text("t", model=paraphrase_l3, cache=tmp_path, token_budget=64, batch_size=3)
    df.embed.text("t", model=paraphrase_l3, cache=tmp_path, dedup=False)
    assert embedded == [8]
    unnormalized = df.embed.text("t", model=paraphrase_l3, cache=tmp_path, normalize=False)
    short = df.embed.text("t", model=paraphrase_l3, cache=tmp_path, max_length=6)
    assert embedded == [8, 8, 8]
    assert len(list(Path(tmp_path).glob("*.sqlite"))) == 3
    norms = np.linalg.norm(dfembed.to_numpy(unnormalized), axis=1)
    assert not np.allclose(norms, 1.0)
    assert not np.allclose(dfembed.to_numpy(short), dfembed.to_numpy(unnormalized))


def test_a_changed_model_file_is_a_different_namespace(minilm_int8, tmp_path, embedded):
    import shutil

    copy = tmp_path / "model"
    shutil.copytree(minilm_int8, copy)
    store = tmp_path / "cache"
    _frame(TEXTS).embed.text("t", model=str(copy), cache=store)
    # the same files under another folder name: the same namespace
    moved = tmp_path / "moved"
    shutil.copytree(copy, moved)
    _frame(TEXTS).embed.text("t", model=str(moved), cache=store)
    assert embedded == [8]
    # a different tokenizer file (lower-casing off) with the same name: a new namespace
    import json

    tok = json.loads((moved / "tokenizer.json").read_text())
    tok["normalizer"]["lowercase"] = False
    (moved / "tokenizer.json").write_text(json.dumps(tok))
    clear_cache()
    _frame(TEXTS).embed.text("t", model=str(moved), cache=store)
    assert embedded == [8, 8]


def test_a_crash_keeps_the_chunks_already_stored(paraphrase_l3, tmp_path, monkeypatch, embedded):
    monkeypatch.setattr(cached, "CHUNK", 3)
    texts = [f"{t} (copy {i})" for i in range(2) for t in TEXTS]  # 16 distinct
    original = Encoder.encode_distinct
    runs = {"n": 0}

    def failing_third(self, items, options, on_batch=None):
        runs["n"] += 1
        if runs["n"] == 3:
            raise RuntimeError("worker killed")
        return original(self, items, options, on_batch)

    with monkeypatch.context() as m:
        m.setattr(Encoder, "encode_distinct", failing_third)
        with pytest.raises(RuntimeError, match="worker killed"):
            _frame(texts).embed.text("t", model=paraphrase_l3, cache=tmp_path)
    out = _frame(texts).embed.text("t", model=paraphrase_l3, cache=tmp_path)
    # two chunks of 3 were embedded (and stored) before the crash; the rerun embeds the rest
    assert embedded == [3, 3] + [3, 3, 3, 1]
    plain = _frame(texts).embed.text("t", model=paraphrase_l3)
    np.testing.assert_allclose(dfembed.to_numpy(out), dfembed.to_numpy(plain), atol=1e-6)


def test_sparse_and_late_interaction_outputs_round_trip(
    splade_tiny, minilm_int8, tmp_path_factory, embedded
):
    from tests.encoders.test_late_interaction import late_interaction_folder

    colbert = late_interaction_folder(minilm_int8, tmp_path_factory.mktemp("li"))
    store = tmp_path_factory.mktemp("cache")
    df = _frame([*TEXTS[:4], None])
    for method, model in (("sparse", splade_tiny), ("late_interaction", colbert)):
        plain = getattr(df.embed, method)("t", model=model)
        getattr(df.embed, method)("t", model=model, cache=store)
        again = getattr(df.embed, method)("t", model=model, cache=store)
        assert again.isna().tolist() == plain.isna().tolist()
        assert again.dtype == plain.dtype
        assert again.tolist()[:4] == plain.tolist()[:4]
    assert embedded == [4, 4, 4, 4]


def test_images_are_keyed_by_content_not_by_path(dinov2_small, tmp_path, embedded):
    from tools.datasets import photos

    images = list(photos().values())[:3]
    paths = []
    for i, image in enumerate(images):
        path = tmp_path / f"img{i}.png"
        image.convert("RGB").save(path)
        paths.append(str(path))
    store = tmp_path / "cache"
    first = _frame(paths).embed.image("t", model=dinov2_small, cache=store)
    # a file's bytes in a cell are the same input as the file
    as_bytes = [Path(p).read_bytes() for p in paths]
    second = _frame(as_bytes).embed.image("t", model=dinov2_small, cache=store)
    assert embedded == [3]
    # rewrite one file in place with another picture: a miss for that row only
    images[2].convert("RGB").save(paths[0])
    third = _frame(paths).embed.image("t", model=dinov2_small, cache=store)
    assert embedded == [3]  # img0 now has img2's content, which is stored
    np.testing.assert_array_equal(dfembed.to_numpy(third)[0], dfembed.to_numpy(first)[2])
    np.testing.assert_array_equal(dfembed.to_numpy(second), dfembed.to_numpy(first))
    buffer = io.BytesIO()
    images[1].convert("L").save(buffer, format="PNG")
    _frame([buffer.getvalue()]).embed.image("t", model=dinov2_small, cache=store)
    assert embedded == [3, 1]  # a new picture: embedded
    pil = [images[0].convert("RGB"), images[0].convert("RGB")]
    _frame(pil).embed.image("t", model=dinov2_small, cache=store)
    _frame(pil[:1]).embed.image("t", model=dinov2_small, cache=store)
    # dedup tells PIL objects apart by identity (two embedded); the cache by their pixels
    assert embedded == [3, 1, 2], "a PIL image with stored pixels was embedded again"


def test_workers_share_one_cache_folder(paraphrase_l3, tmp_path, embedded):
    texts = [f"{t} #{i}" for i in range(3) for t in TEXTS]
    df = _frame(texts)
    plain = df.embed.text("t", model=paraphrase_l3)
    on_cluster = df.embed.text("t", model=paraphrase_l3, cache=tmp_path, parallel=2)
    np.testing.assert_allclose(dfembed.to_numpy(on_cluster), dfembed.to_numpy(plain), atol=1e-6)
    # every row was stored by the workers: in process, nothing is embedded now
    del embedded[:]
    again = df.embed.text("t", model=paraphrase_l3, cache=tmp_path)
    assert embedded == []
    np.testing.assert_array_equal(dfembed.to_numpy(again), dfembed.to_numpy(on_cluster))


def test_bad_cache_arguments_and_damaged_files_raise_clear_errors(paraphrase_l3, tmp_path):
    df = _frame(TEXTS[:2])
    with pytest.raises(TypeError, match="cache= takes a folder path"):
        df.embed.text("t", model=paraphrase_l3, cache=3)
    df.embed.text("t", model=paraphrase_l3, cache=tmp_path)
    (db,) = Path(tmp_path).glob("*.sqlite")
    db.write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    with pytest.raises(CacheError, match="delete it"):
        df.embed.text("t", model=paraphrase_l3, cache=tmp_path)
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder should be")
    with pytest.raises(CacheError, match="writable"):
        df.embed.text("t", model=paraphrase_l3, cache=blocked)


def test_default_folder_follows_the_environment(paraphrase_l3, tmp_path, monkeypatch):
    monkeypatch.setenv("DFEMBED_CACHE", str(tmp_path / "env"))
    _frame(TEXTS[:2]).embed.text("t", model=paraphrase_l3, cache=True)
    (db,) = (tmp_path / "env").glob("text-*.sqlite")
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM entries").fetchone() == (2,)
        about = dict(conn.execute("SELECT name, value FROM about").fetchall())
    assert '"text"' in about["kind"] and len(about["fingerprint"]) == 66
