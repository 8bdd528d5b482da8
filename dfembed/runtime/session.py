"""The one ONNX Runtime session factory: providers, device, threads and memory arena."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import DeviceUnavailableError, ModelLoadError
from .devices import CPU, CUDA, INSTALL_GPU, cpu_fallback, use_cuda
from .graph_store import drop
from .graph_store import is_file_error as _is_file_error
from .precision import PRECISIONS
from .rewrites import graph_source


@dataclass(frozen=True)
class SessionOptions:
    """How to build a session.

    Parameters
    ----------
    cuda
        ``False``, ``True`` (required: raise if unavailable) or ``"auto"``.
    device_id
        CUDA device ordinal, as this process sees it.
    threads
        ``intra_op_num_threads``; ``None`` uses the cores this process may run on.
    cpu_mem_arena
        ONNX Runtime's CPU arena: faster repeated runs, but it keeps its peak allocation.
    gpu_mem_limit
        Bytes the CUDA arena may grow to (``None``: no limit).
    arena_extend_strategy
        How the CUDA arena grows: ``"kSameAsRequested"`` (by what a run needs: least memory,
        the default here) or ``"kNextPowerOfTwo"`` (ONNX Runtime's default: fewer growths).
    precision
        ``"fp32"`` runs the file as it is; ``"fp16"`` converts an fp32 graph to half
        precision when the session is built (inputs and outputs stay float32). Meant for
        CUDA, where fp16 runs on tensor cores; on the CPU it runs but is slower than fp32.
        ``"int8"`` quantizes an fp32 graph's weight products to int8 (CPU only), once per
        model file and machine (:mod:`dfembed.runtime.quantize`).
    graph_fusion
        Run a BERT-family graph with ONNX Runtime's transformer fusions, built once and
        kept on disk (:mod:`dfembed.runtime.fusion`); fp32 only (fp16 and int8 convert the
        unfused graph). ``None`` (the default) uses the fused graph where a measurement on
        this machine found it faster (:mod:`dfembed.runtime.fusion_choice`; always on CUDA);
        ``True``/``False`` decide.
    """

    cuda: bool | str = False
    device_id: int = 0
    threads: int | None = None
    cpu_mem_arena: bool = True
    gpu_mem_limit: int | None = None
    arena_extend_strategy: str = "kSameAsRequested"
    precision: str = "fp32"
    graph_fusion: bool | None = None


#: The session settings users may choose (``session_options=`` of the accessor methods).
USER_SETTINGS = (
    "cpu_mem_arena",
    "gpu_mem_limit",
    "arena_extend_strategy",
    "precision",
    "graph_fusion",
)
_STRATEGIES = ("kSameAsRequested", "kNextPowerOfTwo")


def check_settings(settings: Mapping[str, Any] | None) -> tuple[tuple[str, Any], ...]:
    """``session_options=`` validated and frozen (sorted pairs: hashable, picklable).

    Raises ``TypeError`` for an unknown name and ``ValueError`` for a bad value, at call time
    rather than on a worker.
    """
    if not settings:
        return ()
    unknown = sorted(set(settings) - set(USER_SETTINGS))
    if unknown:
        raise TypeError(f"Unknown session option(s) {unknown}: use {list(USER_SETTINGS)}.")
    for name in ("cpu_mem_arena", "graph_fusion"):
        value = settings.get(name, True)
        if not isinstance(value, bool) and not (name == "graph_fusion" and value is None):
            also = " or None (measured on each machine)" if name == "graph_fusion" else ""
            raise ValueError(f"{name} must be True or False{also}, not {value!r}.")
    limit = settings.get("gpu_mem_limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0):
        raise ValueError(f"gpu_mem_limit must be a positive number of bytes, not {limit!r}.")
    strategy = settings.get("arena_extend_strategy", "kSameAsRequested")
    if strategy not in _STRATEGIES:
        raise ValueError(f"arena_extend_strategy must be one of {list(_STRATEGIES)}.")
    precision = settings.get("precision", "fp32")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {list(PRECISIONS)}, not {precision!r}.")
    return tuple(sorted(settings.items()))


def default_threads() -> int:
    """Cores this process may run on (respects affinity masks and containers)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def create_session(
    path: Path, options: SessionOptions, config: Path | None = None, _retry: bool = True
):
    """Load ``path`` into an ``onnxruntime.InferenceSession`` as ``options`` say.

    ``config`` is the model's config.json: it says whether graph fusion applies.

    Raises
    ------
    ModelLoadError
        The file is missing, truncated or not an ONNX model this runtime can run, or a
        provider failed to build the session; or ``precision`` is ``"fp16"`` or ``"int8"``
        and the graph cannot be converted.
    DeviceUnavailableError
        ``cuda=True`` and no GPU, missing CUDA or cuDNN libraries (named, with the command
        that installs them), or a CUDA provider that did not load (onnxruntime itself would
        only log an error and quietly run on the CPU). Under ``cuda="auto"`` these run on
        the CPU instead, and the first such fallback on a machine with a GPU is logged.
    """
    import onnxruntime as ort

    want_cuda = use_cuda(options.cuda)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = options.threads or default_threads()
    so.inter_op_num_threads = 1
    so.enable_cpu_mem_arena = options.cpu_mem_arena
    so.log_severity_level = 3
    providers: list = [CPU]
    if want_cuda:
        cuda_opts = {
            "device_id": options.device_id,
            "arena_extend_strategy": options.arena_extend_strategy,
        }
        if options.gpu_mem_limit:
            cuda_opts["gpu_mem_limit"] = options.gpu_mem_limit
        providers = [(CUDA, cuda_opts), CPU]
    source, rewritten = graph_source(
        path, options.precision, options.graph_fusion, config, want_cuda, so.intra_op_num_threads
    )
    try:
        session = ort.InferenceSession(source, sess_options=so, providers=providers)
    except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
        if rewritten is None:
            raise _load_error(path, exc) from exc
        if _is_file_error(exc):  # a damaged rewritten copy: dropped, made afresh next time
            drop(rewritten)
        if options.precision == "int8":  # required: made again once, from the source
            if _retry and _is_file_error(exc):
                return create_session(path, options, config, _retry=False)
            raise _load_error(rewritten, exc) from exc
        # fusion is never required: the source graph decides whether the model loads
        return create_session(path, replace(options, graph_fusion=False))
    if want_cuda and CUDA not in session.get_providers():
        reason = (
            f"the CUDA provider did not load for GPU {options.device_id} (see ONNX Runtime's "
            f"error above: a driver too old for this build's CUDA, or libraries missing: "
            f"{INSTALL_GPU})"
        )
        if options.cuda is True:
            raise DeviceUnavailableError(f'cuda=True, but {reason}. Or use cuda="auto".')
        cpu_fallback(reason)
    return session


def _load_error(path: Path, exc: Exception) -> ModelLoadError:
    """The error for a session that did not load: a damaged file only when ORT says so."""
    if _is_file_error(exc):
        advice = (
            "The file may be truncated or corrupt: delete it (or the model's cache folder) "
            "and download it again."
        )
    else:
        advice = (
            "If this names a weight file or tensor, the model's files may be incomplete "
            "(download or copy them again); if it names a device or provider, check its "
            "setup or run with cuda=False."
        )
    return ModelLoadError(f"ONNX Runtime could not load {path}: {exc}. {advice}")
