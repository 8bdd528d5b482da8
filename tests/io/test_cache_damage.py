"""Damaged rows of the embedding cache are misses: embedded again and stored over.

A whole file that SQLite cannot read stays a :class:`~dfembed.errors.CacheError`
(tests/io/test_cache.py); a row whose bytes do not unpack used to raise a bare ValueError.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dfembed
from dfembed.errors import CacheError
from dfembed.io.cache import pack, unpack
from tests.tiny_models import build_tiny_text_model

TEXTS = ["the cat sat on the mat", "a dog", "hello world", "red car fast"]
GOOD = pack(np.arange(4, dtype=np.float32), row=True)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> str:
    return str(build_tiny_text_model(tmp_path_factory.mktemp("cache-damage") / "tiny"))


@pytest.mark.parametrize(
    "blob",
    [
        GOOD[:20],  # truncated: not a whole number of float32s
        GOOD[:-4],  # truncated on an element boundary
        GOOD + b"\0",  # trailing bytes
        b"Z\0",  # unknown tag
        b"",
        b"T",  # a tuple without its count
        b"T\x02" + GOOD[1:],  # a tuple missing its second array
        b"R\x03xyz\x00",  # not a dtype
        "text, not bytes",
    ],
    ids=[
        "truncated",
        "short-by-one",
        "trailing",
        "tag",
        "empty",
        "no-count",
        "missing-part",
        "dtype",
        "text",
    ],
)
def test_unpack_of_damaged_bytes_is_a_cache_error(blob):
    with pytest.raises(CacheError, match="damaged"):
        unpack(blob)


def _damage(folder: Path, *values: bytes) -> None:
    """Overwrite the first stored rows with ``values``."""
    (db,) = folder.glob("*.sqlite")
    with sqlite3.connect(db) as conn:
        rowids = [r for (r,) in conn.execute("SELECT rowid FROM entries ORDER BY rowid")]
        for rowid, value in zip(rowids, values, strict=False):
            conn.execute("UPDATE entries SET value = ? WHERE rowid = ?", (value, rowid))


def test_damaged_rows_are_embedded_again_and_replaced(tiny, tmp_path, embedded, caplog):
    df = pd.DataFrame({"t": TEXTS})
    expected = dfembed.to_numpy(df.embed.text("t", model=tiny, cache=tmp_path))
    _damage(tmp_path, GOOD[:20], b"Z\0")
    del embedded[:]
    with caplog.at_level(logging.WARNING, logger="dfembed"):
        again = df.embed.text("t", model=tiny, cache=tmp_path)
    np.testing.assert_allclose(dfembed.to_numpy(again), expected, rtol=1e-6)
    assert embedded == [2]  # only the damaged rows
    warnings = [r for r in caplog.records if "damaged" in r.getMessage()]
    assert len(warnings) == 1 and "2 damaged" in warnings[0].getMessage()
    del embedded[:]
    third = df.embed.text("t", model=tiny, cache=tmp_path)
    assert embedded == []  # the recomputed rows were stored over the damaged ones
    np.testing.assert_allclose(dfembed.to_numpy(third), expected, rtol=1e-6)


def test_workers_opening_a_new_cache_file_together_wait_for_each_other(tmp_path):
    """Switching a new file to WAL is not covered by SQLite's busy timeout: before the retry,
    4 threads opening fresh files together failed with "database is locked" about 1 in 20."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from dfembed.io.cache import CacheStore

    def open_together(path, barrier):
        barrier.wait()
        return CacheStore(path, {"model": "m"}).get([b"k" * 16])

    with ThreadPoolExecutor(4) as pool:
        for i in range(25):
            barrier = threading.Barrier(4)
            path = tmp_path / f"f{i}.sqlite"
            results = [pool.submit(open_together, path, barrier) for _ in range(4)]
            assert [r.result() for r in results] == [{}] * 4
