"""The model spec: a small, frozen, picklable description of what to load and where.

The spec is what travels to Dask workers. Sessions are built where they run and cached by
:meth:`ModelSpec.key`, a stable hash of the spec's fields (never ``id()``), so equal specs
built in different processes share one cached encoder. Per-call choices that do not change
what is loaded (``normalize``, ``query``, ``max_length``) are not part of the spec.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any, Literal, Union

Kind = Literal["text", "sparse", "late_interaction", "image", "rerank"]
CudaPolicy = Union[bool, Literal["auto"]]  # noqa: UP007 - keeps 3.10 happy at runtime


@dataclass(frozen=True)
class ModelSpec:
    """What model to run, and on which device policy.

    Parameters
    ----------
    model
        A registry name (see :func:`dfembed.list_models`), a hub repository id, or a local
        directory holding the model's files.
    kind
        Which encoder runs the model.
    revision
        Hub revision (branch, tag or commit); ignored for local directories.
    cache_dir, local_files_only
        Passed to ``huggingface_hub`` for hub models.
    cuda
        ``False`` runs on the CPU; ``True`` requires CUDA and raises
        :class:`~dfembed.errors.DeviceUnavailableError` when it cannot load; ``"auto"`` uses
        CUDA when it is present and the CPU otherwise.
    device_ids
        GPUs assigned round-robin to Dask workers; ``None`` uses each worker's own visible
        device 0 (dask-cuda style), or ``device_id`` in process.
    device_id
        The GPU for in-process runs.
    threads
        ``intra_op_num_threads`` for ONNX Runtime; ``None`` follows the worker's thread count
        (or the machine's cores in process).
    session_options
        ONNX Runtime memory settings as sorted ``(name, value)`` pairs: ``cpu_mem_arena``,
        ``gpu_mem_limit``, ``arena_extend_strategy`` (see
        :class:`dfembed.runtime.session.SessionOptions`).
    """

    model: str
    kind: Kind = "text"
    revision: str | None = None
    cache_dir: str | None = None
    local_files_only: bool = False
    cuda: CudaPolicy = False
    device_ids: tuple[int, ...] | None = None
    device_id: int = 0
    threads: int | None = None
    session_options: tuple[tuple[str, Any], ...] = ()

    def key(self) -> str:
        """A stable hash of every field: equal specs give equal keys in any process."""
        payload = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def describe(self) -> str:
        """A short human label for logs, spans and errors."""
        where = "cuda" if self.cuda else "cpu"
        return f"{self.kind}:{self.model} ({where})"
