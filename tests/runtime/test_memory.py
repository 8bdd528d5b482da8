"""``release_free_memory``: freed heap pages below live allocations go back to the OS."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dfembed.runtime import memory

CHILD = r"""
import psutil
from dfembed.runtime.memory import release_free_memory

blocks = [bytearray(4000) for _ in range(50_000)]  # ~200 MB of small heap blocks
keep = blocks[::500]  # live blocks spread through the heap: the top cannot be trimmed
del blocks
before = psutil.Process().memory_info().rss
release_free_memory()
after = psutil.Process().memory_info().rss
print((before - after) / 2**20)
"""


@pytest.mark.skipif(memory._malloc_trim() is None, reason="needs glibc's malloc_trim")
def test_freed_heap_below_live_blocks_is_returned():
    out = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, check=True, timeout=60
    )
    returned_mb = float(out.stdout.split()[-1])
    assert returned_mb > 100, out.stdout


def test_release_is_safe_to_call_repeatedly():
    for _ in range(3):
        memory.release_free_memory()
