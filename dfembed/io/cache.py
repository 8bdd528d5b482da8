"""The persistent embedding cache: rerunning a job only embeds the inputs it has not seen.

A cache is a folder. Each *namespace* (one model's exact files plus the options that change
its outputs, see :meth:`dfembed.encoders.base.Encoder.cache_namespace`) is one SQLite file
in it, mapping a 16-byte BLAKE2b digest of an input to its packed output. SQLite gives
atomic commits (a crash loses at most the chunk being embedded) and safe concurrent writers
on one machine (every Dask worker process of a node can share a folder on local disk).

SQLite's locking is unreliable on network filesystems, so on a multi-node cluster give each
node a folder on its own disk (the default, ``~/.cache/dfembed/embeddings``, already is):
a row is then a hit on any node that embedded it before.

Values are packed without pickle, so a cache file cannot run code when read:

- ``R`` a row of a numeric output (a dense vector, a score): dtype, shape, bytes;
- ``A`` one array output (a late-interaction matrix);
- ``T`` a tuple of arrays (a sparse vector's indices and values).

A file SQLite cannot read raises :class:`~dfembed.errors.CacheError`. A single row whose
bytes do not unpack, or whose output is not one the encoder gives (a row of another width or
dtype, ``inf`` or ``NaN``: see :mod:`dfembed.io.cache_checks`), is a miss instead: a disk
error, another program or user writing to the file. :meth:`CacheStore.lookup` deletes it, so
its input is embedded again and stored in its place, and logs one warning with the count.

Whoever can write the cache folder decides the vectors read from it: it is trusted input.
New folders and files are made owner-only, and links are refused where the cache would write
through them (see :mod:`dfembed.io.cache_files`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import sqlite3
import struct
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CacheError
from .cache_checks import Layout
from .cache_files import check_folder, make_folder, prepare_file

log = logging.getLogger("dfembed")

CACHE_ENV = "DFEMBED_CACHE"
#: Inputs per ``SELECT ... IN (...)``: below SQLite's default limit of bound parameters.
_LOOKUP_CHUNK = 500
#: Seconds a writer waits for another process's transaction before giving up.
_BUSY_TIMEOUT_S = 120.0
# A rowid table: WITHOUT ROWID stores each ~1.5 KB vector in its own B-tree cell, which
# takes about twice the disk space (benchmarks/README.md, "Measurements behind defaults").
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS entries (key BLOB PRIMARY KEY, value BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS about (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
)


def default_folder() -> Path:
    """``$DFEMBED_CACHE``, else ``~/.cache/dfembed/embeddings`` (of the process that runs)."""
    return Path(os.environ.get(CACHE_ENV) or "~/.cache/dfembed/embeddings").expanduser()


def cache_folder(cache: str | os.PathLike | bool | None) -> Path | None:
    """The folder an accessor's ``cache=`` argument names; ``None`` when caching is off."""
    if cache is None or cache is False:
        return None
    if cache is True:
        return default_folder()
    if isinstance(cache, (str, os.PathLike)) and os.fspath(cache):
        return Path(cache).expanduser()
    raise TypeError(f"cache= takes a folder path, True or None, not {cache!r}.")


def digest(data: bytes) -> bytes:
    """The key an input is stored under: 16 bytes of BLAKE2b."""
    return hashlib.blake2b(data, digest_size=16).digest()


# -------------------------------------------------------------------------------- packing


def _pack_array(value: np.ndarray) -> bytes:
    value = np.asarray(value)
    if not value.flags.c_contiguous:  # (np.ascontiguousarray would make a 0-d array 1-d)
        value = value.copy()
    dtype = value.dtype.str.encode()
    header = struct.pack(
        f"<B{len(dtype)}sB{value.ndim}q", len(dtype), dtype, value.ndim, *value.shape
    )
    return header + value.tobytes()


def _unpack_array(blob: memoryview, at: int) -> tuple[np.ndarray, int]:
    (n,) = struct.unpack_from("<B", blob, at)
    dtype = np.dtype(bytes(blob[at + 1 : at + 1 + n]).decode())
    at += 1 + n
    (ndim,) = struct.unpack_from("<B", blob, at)
    shape = struct.unpack_from(f"<{ndim}q", blob, at + 1)
    at += 1 + 8 * ndim
    size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    array = np.frombuffer(blob[at : at + size], dtype=dtype).reshape(shape).copy()
    return array, at + size


def pack(value: Any, row: bool) -> bytes | None:
    """Bytes of one output: ``row`` says it is a row of a numeric output array.

    ``None`` for values that are not cached (a missing output).
    """
    if value is None:
        return None
    if row:
        return b"R" + _pack_array(np.asarray(value))
    if isinstance(value, np.ndarray):
        return b"A" + _pack_array(value)
    if isinstance(value, tuple) and all(isinstance(v, np.ndarray) for v in value):
        return b"T" + bytes([len(value)]) + b"".join(_pack_array(v) for v in value)
    raise TypeError(f"Cannot cache an output of type {type(value).__name__}.")


def _unpack_value(view: memoryview) -> tuple[Any, bool, int]:
    """The output packed at the start of ``view``, whether it is a row, and where it ends."""
    tag = bytes(view[:1])
    if tag in (b"R", b"A"):
        value, end = _unpack_array(view, 1)
        return value, tag == b"R", end
    if tag == b"T":
        at, parts = 2, []
        for _ in range(view[1]):
            part, at = _unpack_array(view, at)
            parts.append(part)
        return tuple(parts), False, at
    raise ValueError(f"unknown tag {tag!r}")


def unpack(blob: bytes) -> tuple[Any, bool]:
    """One output from :func:`pack`'s bytes, and whether it is a row of a numeric output.

    Raises :class:`CacheError` for bytes that are not one whole packed output (a damaged
    row), never a bare ``ValueError``.
    """
    try:
        view = memoryview(blob)
        value, row, end = _unpack_value(view)
        if end != len(view):
            raise ValueError(f"{len(view)} bytes where the entry takes {end}")
    except (ValueError, TypeError, IndexError, struct.error) as exc:
        raise CacheError(f"A damaged cache entry: {exc}.") from exc
    return value, row


# -------------------------------------------------------------------------------- storage


def _busy(exc: BaseException) -> bool:
    """Whether SQLite refused because another connection holds a lock (not damage)."""
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def _while_busy(step: Callable[[], None]) -> None:
    """Run ``step``, retrying while another connection holds the file.

    SQLite's busy timeout does not cover switching a new file to WAL: two processes (Dask
    workers) opening a new cache file together got "database is locked" at once, in 3 of 30
    two-worker jobs.
    """
    deadline = time.monotonic() + _BUSY_TIMEOUT_S
    pause = 0.01
    while True:
        try:
            step()
            return
        except sqlite3.OperationalError as exc:
            if not _busy(exc) or time.monotonic() > deadline:
                raise
        time.sleep(pause + random.random() * pause)
        pause = min(pause * 2, 1.0)


class CacheStore:
    """One namespace's SQLite file: look inputs up by digest, add new outputs.

    A connection is opened per call, so one store may be used from any thread (Dask runs
    tasks on a thread pool) and by several processes at once. Entries read are checked
    against ``layout`` (``None``: only that they unpack).
    """

    def __init__(self, path: Path, about: dict[str, Any], layout: Layout | None = None):
        self.path = path
        self.layout = layout
        self._about = about
        self._ready = False

    def _connect(self) -> sqlite3.Connection:
        try:
            check_folder(self.path.parent)
            make_folder(self.path.parent)
            prepare_file(self.path)
            conn = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
            if not self._ready:
                _while_busy(lambda: self._set_up(conn))
                self._ready = True
            conn.execute("PRAGMA synchronous=NORMAL")
            return conn
        except (OSError, sqlite3.Error) as exc:
            raise self._error(exc) from exc

    def _set_up(self, conn: sqlite3.Connection) -> None:
        """WAL mode (kept in the file: switched once), the tables, and what the file holds."""
        if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            conn.execute("PRAGMA journal_mode=WAL")
        for statement in _SCHEMA:
            conn.execute(statement)
        conn.executemany(
            "INSERT OR IGNORE INTO about VALUES (?, ?)",
            [(k, json.dumps(v, default=str)) for k, v in self._about.items()],
        )

    def _error(self, exc: Exception) -> CacheError:
        if _busy(exc):
            return CacheError(
                f"The embedding cache {self.path} stayed locked by another process for "
                f"{_BUSY_TIMEOUT_S:.0f} s: {exc}. Check that its folder is on a local disk "
                "(SQLite locking is unreliable on network filesystems), or pass cache=None."
            )
        return CacheError(
            f"The embedding cache {self.path} cannot be used: {exc}. Check that its folder is "
            "writable and on a local disk; if the file is damaged, delete it (it only holds "
            "outputs that can be computed again), or pass cache=None."
        )

    def get(self, keys: Sequence[bytes]) -> dict[bytes, bytes]:
        """The stored outputs of those ``keys`` that are in the cache."""
        found: dict[bytes, bytes] = {}
        if not keys:
            return found
        with closing(self._connect()) as conn:
            try:
                for start in range(0, len(keys), _LOOKUP_CHUNK):
                    chunk = keys[start : start + _LOOKUP_CHUNK]
                    marks = ",".join("?" * len(chunk))
                    query = f"SELECT key, value FROM entries WHERE key IN ({marks})"
                    found.update(conn.execute(query, chunk).fetchall())
            except sqlite3.Error as exc:
                raise self._error(exc) from exc
        return found

    def lookup(self, keys: Sequence[bytes]) -> dict[bytes, tuple[Any, bool]]:
        """The unpacked outputs (see :func:`unpack`) of those ``keys`` that are in the cache.

        Damaged rows (bytes that do not unpack, or an output that does not fit the store's
        :class:`~dfembed.io.cache_checks.Layout`) are left out, so their inputs are embedded
        again, and deleted, so the new outputs are stored in their place; one warning gives
        their count. Only an unreadable file raises :class:`CacheError`: a bad row costs one
        recomputation.
        """
        found: dict[bytes, tuple[Any, bool]] = {}
        damaged: list[bytes] = []
        for key, blob in self.get(keys).items():
            try:
                value, row = unpack(blob)
                if self.layout is not None:
                    self.layout.check(value, row)
            except CacheError:
                damaged.append(key)
            else:
                found[key] = value, row
        if damaged:
            self.delete(damaged)
            log.warning(
                "%d damaged rows in the embedding cache %s were dropped and are embedded "
                "again. If this keeps happening, check the disk, or delete the file.",
                len(damaged),
                self.path,
            )
        return found

    def put(self, entries: Sequence[tuple[bytes, bytes]]) -> None:
        """Add outputs in one transaction (an input already stored keeps its first output)."""
        self._write("INSERT OR IGNORE INTO entries VALUES (?, ?)", entries)

    def delete(self, keys: Sequence[bytes]) -> None:
        """Remove the rows of ``keys`` in one transaction."""
        self._write("DELETE FROM entries WHERE key = ?", [(key,) for key in keys])

    def _write(self, statement: str, rows: Sequence[tuple[bytes, ...]]) -> None:
        """Run ``statement`` once per row, all in one transaction."""
        if not rows:
            return
        with closing(self._connect()) as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(statement, rows)
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise self._error(exc) from exc

    def __len__(self) -> int:
        with closing(self._connect()) as conn:
            return conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]


def open_store(
    folder: Path, kind: str, namespace: str, about: dict[str, Any], dim: int = 0
) -> CacheStore:
    """The store of one namespace in a cache folder (its file is created on first use).

    Entries read are checked against ``kind``'s layout, and against ``dim`` when it is not 0
    (the width of text, image and late-interaction vectors).
    """
    return CacheStore(folder / f"{kind}-{namespace}.sqlite", about, Layout(kind, dim))
