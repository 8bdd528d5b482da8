"""What the CPU is: its model name, its feature flags, and its int8 dot-product instructions.

Both rewrites of a graph depend on them: whether graph fusion pays was measured to differ
between an AVX-512 and an AVX2-only CPU, and int8 products on x86 CPUs without a VNNI
(or AMX) dot product add pairs of 8-bit products in 16 bits, which can saturate unless the
weights keep to 7 bits (ONNX Runtime's ``reduce_range``).
"""

from __future__ import annotations

import functools
import platform
from pathlib import Path

#: Flags (``/proc/cpuinfo``) of instructions that multiply-add 8-bit integers into 32 bits.
INT8_DOT_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8", "avx_vnni_int8", "asimddp")


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``; elsewhere what ``platform`` says)."""
    for line in _cpuinfo():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def cpu_flags() -> list[str]:
    """The CPU's feature flags, sorted (empty where ``/proc/cpuinfo`` is missing)."""
    for line in _cpuinfo():
        if line.startswith(("flags", "Features")):
            return sorted(line.split(":", 1)[1].split())
    return []


def int8_dot_products() -> list[str]:
    """Which of :data:`INT8_DOT_FLAGS` this CPU has."""
    flags = set(cpu_flags())
    return [flag for flag in INT8_DOT_FLAGS if flag in flags]


def is_x86() -> bool:
    return platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")


@functools.lru_cache(maxsize=1)
def _cpuinfo() -> tuple[str, ...]:
    try:
        return tuple(Path("/proc/cpuinfo").read_text().splitlines())
    except OSError:
        return ()
