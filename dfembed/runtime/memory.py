"""Giving freed memory back to the operating system between partitions.

A worker that embeds partition after partition frees its token arrays, tokenizer encodings
and Python strings into glibc's heap, where they stay counted in its resident memory until
glibc trims the heap. Its automatic trimming only returns the top of the heap, so the free
chunks below a live allocation are kept, and they add up partition after partition
(benchmarks/README.md, "Measurements behind defaults in the code"). Arrow's allocator keeps
its own freed pages until asked.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.cache
def _malloc_trim():
    """glibc's ``malloc_trim``, or ``None`` on other C libraries (musl, macOS, Windows)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None


def release_free_memory() -> None:
    """Return freed heap pages and Arrow's unused pool memory to the OS (a few ms)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
