"""Encoding through the persistent cache: look every input up, embed only the misses.

Misses go through :meth:`Encoder.encode_distinct` (the one batching path) in chunks of
:data:`CHUNK` inputs, each stored as soon as it is done, so a job that crashes or is stopped
keeps everything but its last chunk, and a rerun, or a run over a grown table, embeds only
the inputs it has not stored yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..io.cache import digest, open_store, pack
from ..io.cache_checks import Layout
from ..runtime.batching import OnBatch

#: Misses embedded (and stored) per chunk: large enough that batching by length still
#: pays, small enough that a crash loses at most a minute or so of a CPU's work.
CHUNK = 4096


class CachingEncoder(Protocol):
    """What the cache asks of an encoder (:class:`~dfembed.encoders.base.Encoder` has it all);
    said here so this module, which the encoder calls, does not import it back."""

    kind: str

    def cache_namespace(self, options: Any) -> tuple[str, dict[str, Any]]: ...

    def width(self, options: Any) -> int: ...

    def cache_key(self, item: Any) -> bytes | None: ...

    def encode_distinct(
        self, items: Sequence[Any], options: Any, on_batch: OnBatch | None = None
    ) -> np.ndarray: ...


def encode_cached(
    encoder: CachingEncoder,
    items: Sequence[Any],
    options: Any,
    on_batch: OnBatch | None,
    folder: Path,
) -> np.ndarray:
    """Outputs of distinct ``items``, read from the cache in ``folder`` where stored.

    Rows served by the cache are reported to ``on_batch`` as rows with no tokens and no
    model time, so progress bars still reach the total. Damaged rows count as misses (see
    :meth:`~dfembed.io.cache.CacheStore.lookup`): embedded again and stored over. Outputs
    that would fail the check made on read (see :mod:`dfembed.io.cache_checks`) are not
    stored.
    """
    namespace, about = encoder.cache_namespace(options)
    store = open_store(folder, encoder.kind, namespace, about, encoder.width(options))
    keys = [encoder.cache_key(item) for item in items]
    digests = [None if key is None else digest(key) for key in keys]
    outputs = _Outputs(len(items))
    missing: list[int] = []
    for start in range(0, len(items), CHUNK):
        # a chunk at a time: only one chunk of stored rows is in memory besides the outputs
        positions = range(start, min(start + CHUNK, len(items)))
        found = store.lookup([digests[i] for i in positions if digests[i] is not None])
        for i in positions:
            hit = found.get(digests[i]) if digests[i] is not None else None
            if hit is None:
                missing.append(i)
            else:
                outputs.put(i, *hit)
    hits = len(items) - len(missing)
    if hits and on_batch is not None:
        on_batch(hits, 0, 0.0)

    for start in range(0, len(missing), CHUNK):
        chunk = missing[start : start + CHUNK]
        out = encoder.encode_distinct([items[i] for i in chunk], options, on_batch)
        numeric = out.dtype != object
        entries = []
        for i, value in zip(chunk, out, strict=True):
            outputs.put(i, value, numeric)
            if digests[i] is not None and _storable(store.layout, value, numeric):
                entries.append((digests[i], pack(value, numeric)))
        store.put(entries)
    return outputs.result()


def _storable(layout: Layout | None, value: Any, numeric: bool) -> bool:
    """Whether an output passes the check entries pass when read: one that fails (a model
    that gave ``NaN``) is returned but not stored, so it is never read back as damage."""
    if value is None:
        return False
    if layout is None:
        return True
    return layout.problem(np.asarray(value) if numeric else value, numeric) is None


class _Outputs:
    """The outputs of ``n`` inputs, filled row by row in any order, laid out as
    :func:`~dfembed.runtime.batching.run_batched` lays them out.

    Numeric rows are copied into one array allocated at the first row, not kept and stacked
    at the end: a rerun served wholly by the cache then holds the output once, not twice.
    """

    def __init__(self, n: int):
        self.n = n
        self.array: np.ndarray | None = None
        self.objects = np.empty(n, dtype=object)

    def put(self, i: int, value: Any, numeric: bool) -> None:
        """Row ``i``'s output (``numeric``: a row of a numeric array, else any object)."""
        if numeric:
            value = np.asarray(value)
            if self.array is None:
                self.array = np.empty((self.n, *value.shape), dtype=value.dtype)
            self.array[i] = value
        else:
            self.objects[i] = value

    def result(self) -> np.ndarray:
        return self.array if self.array is not None else self.objects
