"""Encoding through the persistent cache: look every input up, embed only the misses.

Misses go through :meth:`Encoder.encode_distinct` (the one batching path) in chunks of
:data:`CHUNK` inputs, each stored as soon as it is done, so a job that crashes or is stopped
keeps everything but its last chunk, and a rerun, or a run over a grown table, embeds only
the inputs it has not stored yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..io.cache import digest, open_store, pack
from .base import EncodeOptions, Encoder, OnBatch

#: Misses embedded (and stored) per chunk: large enough that batching by length still
#: pays, small enough that a crash loses at most a minute or so of a CPU's work.
CHUNK = 4096


def encode_cached(
    encoder: Encoder,
    items: Sequence[Any],
    options: EncodeOptions,
    on_batch: OnBatch | None,
    folder: Path,
) -> np.ndarray:
    """Outputs of distinct ``items``, read from the cache in ``folder`` where stored.

    Rows served by the cache are reported to ``on_batch`` as rows with no tokens and no
    model time, so progress bars still reach the total. Damaged rows count as misses (see
    :meth:`~dfembed.io.cache.CacheStore.lookup`): embedded again and stored over.
    """
    namespace, about = encoder.cache_namespace(options)
    store = open_store(folder, encoder.kind, namespace, about)
    keys = [encoder.cache_key(item) for item in items]
    digests = [None if key is None else digest(key) for key in keys]
    found = store.lookup([d for d in digests if d is not None])

    values: list[Any] = [None] * len(items)
    numeric: bool | None = None
    missing: list[int] = []
    for i, key in enumerate(digests):
        hit = found.get(key) if key is not None else None
        if hit is None:
            missing.append(i)
        else:
            values[i], numeric = hit
    hits = len(items) - len(missing)
    if hits and on_batch is not None:
        on_batch(hits, 0, 0.0)

    for start in range(0, len(missing), CHUNK):
        chunk = missing[start : start + CHUNK]
        out = encoder.encode_distinct([items[i] for i in chunk], options, on_batch)
        numeric = out.dtype != object
        entries = []
        for i, value in zip(chunk, out, strict=True):
            values[i] = value
            blob = pack(value, numeric) if digests[i] is not None else None
            if blob is not None:
                entries.append((digests[i], blob))
        store.put(entries)
    return _gather(values, bool(numeric))


def _gather(values: list[Any], numeric: bool) -> np.ndarray:
    """One output array, laid out as :func:`~dfembed.runtime.batching.run_batched` does."""
    if numeric and values:
        return np.stack(values)
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        out[i] = value
    return out
