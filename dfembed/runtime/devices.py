"""Which device a session runs on: CUDA detection, device policy and worker assignment."""

from __future__ import annotations

import ctypes
import functools
import os

from ..errors import DeviceUnavailableError

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"


@functools.cache
def gpu_count() -> int:
    """Number of CUDA devices the driver reports to this process (0 without a driver).

    Asked of the driver directly, because onnxruntime-gpu lists the CUDA provider as
    available even on machines without a GPU, then logs an error and falls back to the CPU.
    """
    try:
        lib = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return 0
    count = ctypes.c_int(0)
    if lib.cuInit(0) != 0 or lib.cuDeviceGetCount(ctypes.byref(count)) != 0:
        return 0
    return int(count.value)


def check_cuda(cuda: object) -> bool | str:
    """``cuda`` itself when it is ``False``, ``True`` or ``"auto"``; else a ``ValueError``.

    The accessor calls this at call time, so a bad policy fails before any work is sent.
    """
    if isinstance(cuda, bool) or (isinstance(cuda, str) and cuda == "auto"):
        return cuda
    raise ValueError(f'cuda must be False, True or "auto", not {cuda!r}.')


def use_cuda(cuda: bool | str) -> bool:
    """Decide whether to ask for CUDA under a ``cuda=False|True|"auto"`` policy."""
    cuda = check_cuda(cuda)
    if cuda == "auto":
        import onnxruntime as ort

        return CUDA in ort.get_available_providers() and gpu_count() > 0
    if cuda is True:
        import onnxruntime as ort

        if CUDA not in ort.get_available_providers():
            raise DeviceUnavailableError(
                "cuda=True, but this onnxruntime build has no CUDA provider: install "
                "onnxruntime-gpu (not onnxruntime) on a machine with an NVIDIA GPU, or use "
                'cuda="auto" to fall back to the CPU.'
            )
        return True
    return False


def worker_device(device_ids: tuple[int, ...] | None, ordinal: int, default: int = 0) -> int:
    """The GPU a worker uses: round-robin over ``device_ids`` by a stable worker ordinal.

    Without ``device_ids``, a worker started dask-cuda style (its own
    ``CUDA_VISIBLE_DEVICES``) sees its GPU as device 0; otherwise ``default`` is used.
    """
    if device_ids:
        return int(device_ids[ordinal % len(device_ids)])
    if os.environ.get("CUDA_VISIBLE_DEVICES"):
        return 0
    return default
