"""Which device a session runs on: the CUDA policy, the CUDA libraries, and worker placement.

Placement is per host, because GPU numbers are per machine: a Dask worker's GPU comes
from its *local rank* (the scheduler's smallest free number among the live workers of its
host, see :mod:`dfembed.engine.plugin`), round-robin over ``device_ids`` or, without them,
over every GPU the host's driver reports. :func:`place` decides it without creating a
session, so the planned device shows in :func:`dfembed.devices` even where the session
ends up on the CPU.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import io
import logging
import os
import platform
import re
import threading
from dataclasses import dataclass

from ..errors import DeviceUnavailableError

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
#: What installs onnxruntime-gpu with the NVIDIA CUDA and cuDNN libraries it was built for.
INSTALL_GPU = "pip install 'dfembed[gpu]'"

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_said: set[str] = set()


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


def say_once(key: str, message: str, *args: object) -> None:
    """Log a warning the first time ``key`` is seen in this process (logger ``dfembed``)."""
    with _lock:
        if key in _said:
            return
        _said.add(key)
    logger.warning(message, *args)


def cpu_fallback(reason: str) -> None:
    """Say once why ``cuda="auto"`` runs on the CPU of a machine that has a GPU."""
    say_once("cpu-fallback", 'dfembed: cuda="auto" runs on the CPU although %s', reason)


def use_cuda(cuda: bool | str) -> bool:
    """Decide whether to ask for CUDA under a ``cuda=False|True|"auto"`` policy.

    Before the first CUDA session it preloads the CUDA and cuDNN libraries
    (:func:`cuda_libraries`). ``"auto"`` is quiet on a machine without a GPU, and says once
    why it runs on the CPU of one that has a GPU.
    """
    cuda = check_cuda(cuda)
    if cuda is False:
        return False
    gpus = gpu_count()
    if cuda == "auto":
        if gpus == 0:
            return False
        problem = cuda_libraries()
        if problem:
            cpu_fallback(f"the driver reports {_gpus(gpus)}: {problem}")
            return False
        return True
    if gpus == 0:
        raise DeviceUnavailableError(
            "cuda=True, but the NVIDIA driver reports no GPU to this process (no "
            'libcuda.so.1, or CUDA_VISIBLE_DEVICES hides them). Use cuda="auto" to fall back '
            "to the CPU."
        )
    problem = cuda_libraries()
    if problem:
        raise DeviceUnavailableError(f'cuda=True, but {problem}. Or use cuda="auto".')
    return True


def cuda_libraries() -> str | None:
    """Preload the CUDA and cuDNN libraries once; ``None`` when the CUDA provider can load.

    ONNX Runtime's CUDA provider needs CUDA and cuDNN 9 libraries that the bare
    ``onnxruntime-gpu`` wheel does not carry. ``onnxruntime.preload_dlls()`` (ORT >= 1.21)
    loads those of the NVIDIA packages (the ``gpu`` extra), else those on the loader's path;
    libraries that torch loaded already are found by name and reused. It only prints what
    failed, so its output is read for the names. Otherwise: what is missing, and the command
    that installs it.
    """
    return _preload()


@functools.cache
def _preload() -> str | None:
    import onnxruntime as ort

    if CUDA not in ort.get_available_providers():
        return (
            f"this onnxruntime build has no CUDA provider: install onnxruntime-gpu "
            f"(pip uninstall onnxruntime, then {INSTALL_GPU})"
        )
    preload = getattr(ort, "preload_dlls", None)
    if preload is None:  # ORT < 1.21: the libraries must be on the loader's path already
        return None
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            preload()
    except Exception as exc:  # e.g. a bad NVIDIA package folder
        printed.write(f"\nFailed to load CUDA libraries: {exc}")
    missing = missing_libraries(printed.getvalue())
    # preload_dlls counts cuDNN as optional; the CUDA provider does not
    if platform.system() == "Linux" and not _loads("libcudnn.so.9"):
        missing.append("libcudnn.so.9")
    if not missing:
        return None
    version = _cuda_version()
    return (
        f"the CUDA provider cannot find {', '.join(missing)} (CUDA {version} and cuDNN 9 "
        f"libraries): install them with {INSTALL_GPU} (the NVIDIA libraries as packages), "
        f"or install CUDA {version} and cuDNN 9 on the machine"
    )


def missing_libraries(printed: str) -> list[str]:
    """Library file names from ``preload_dlls``' ``Failed to load NAME: ...`` lines."""
    names = re.findall(r"^Failed to load (\S+?):", printed, flags=re.MULTILINE)
    return list(dict.fromkeys(os.path.basename(name) for name in names))


def _loads(name: str) -> bool:
    try:
        ctypes.CDLL(name)
    except OSError:
        return False
    return True


def _cuda_version() -> str:
    try:
        from onnxruntime.capi.build_and_package_info import cuda_version
    except ImportError:
        return "12/13"
    major = str(cuda_version or "").split(".")[0]
    return f"{major}.x" if major.isdigit() else "12/13"


def _gpus(n: int) -> str:
    return f"{n} GPU" + ("" if n == 1 else "s")


@dataclass(frozen=True)
class Placement:
    """Where one worker's sessions of one model run.

    Attributes
    ----------
    host
        The host part of the worker's address: GPU numbers are this machine's.
    local_rank
        The worker's number among the live workers of its host (0, 1, ...).
    device_id
        The GPU this worker uses when its session runs on CUDA; ``None`` when no GPU is
        planned (``cuda=False``, or no ``device_ids`` and no GPU on the host).
    shared
        More workers than GPUs on the host: this one shares its GPU with another.
    """

    host: str
    local_rank: int
    device_id: int | None
    shared: bool = False


def place(
    cuda: bool | str, device_ids: tuple[int, ...] | None, host: str, local_rank: int, worker: str
) -> Placement:
    """The device of the worker with ``local_rank`` on ``host``, from what its driver reports.

    * ``device_ids``: round-robin over them by local rank. On a host whose driver reports
      GPUs, every entry must be one of them, else a
      :class:`~dfembed.errors.DeviceUnavailableError` naming ``worker``, the host and its
      GPUs. On a host without GPUs the result is the plan, shown by ``dfembed.devices``.
    * A worker started dask-cuda style (``CUDA_VISIBLE_DEVICES`` set for it) uses device 0,
      the first GPU it sees: dask-cuda rotates that list so each worker's own GPU comes first.
    * Otherwise every GPU the driver reports, round-robin by local rank.

    More workers than GPUs: they share round-robin, said once per host and set of GPUs in
    the log (by the first worker that shares). Keyed by the GPUs too: two models placed
    over different ``device_ids`` on one worker each have their own line, whichever of
    their plugins happens to be set up first.
    """
    if cuda is False:
        return Placement(host, local_rank, None)
    gpus = gpu_count()
    if device_ids:
        if gpus and any(d >= gpus for d in device_ids):
            raise DeviceUnavailableError(_missing_gpus(device_ids, gpus, host, worker))
        pool = tuple(device_ids)
    elif not gpus:
        return Placement(host, local_rank, None)
    elif os.environ.get("CUDA_VISIBLE_DEVICES"):
        return Placement(host, local_rank, 0)
    else:
        pool = tuple(range(gpus))
    device = pool[local_rank % len(pool)]
    # the first rank whose device a lower rank holds already: it says so for the host
    first_shared = next(r for r in range(len(pool) + 1) if pool[r % len(pool)] in pool[:r])
    if local_rank == first_shared:
        say_once(
            f"shared-{host}-{sorted(set(pool))}",
            "dfembed: host %s has more workers than GPUs %s: they share them round-robin by "
            "local rank (worker %s, local rank %d, shares GPU %d). One worker per GPU runs "
            "fastest.",
            host,
            sorted(set(pool)),
            worker,
            local_rank,
            device,
        )
    shared = device in pool[: min(local_rank, len(pool))]
    return Placement(host, local_rank, int(device), shared)


def _missing_gpus(device_ids: tuple[int, ...], gpus: int, host: str, worker: str) -> str:
    absent = sorted({d for d in device_ids if d >= gpus})
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    seen = f" (CUDA_VISIBLE_DEVICES={visible})" if visible else ""
    return (
        f"device_ids={list(device_ids)} names GPU {', '.join(map(str, absent))}, but worker "
        f"{worker} on host {host} has {_gpus(gpus)}{seen}: GPUs {list(range(gpus))}. List only "
        "GPUs every host has, or leave device_ids out: each worker then takes one of its "
        "own host's GPUs by local rank."
    )
