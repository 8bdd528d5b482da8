"""The model spec: a small, frozen, picklable description of what to load and where.

The spec is what travels to Dask workers. Sessions are built where they run and cached by
:meth:`ModelSpec.key`, a stable hash of the spec's fields (never ``id()``), so equal specs
built in different processes share one cached encoder. Per-call choices that do not change
what is loaded (``normalize``, ``query``, ``max_length``, ``prompt``, ``dim``) are not part of
the spec: they are the call's options, which the embedding cache's namespace includes, and
one loaded session serves them all.

The spec only stores what it is given; the checks below are what the accessor (and the
command line) run on the numbers that go into a spec or its options, at call time, so a
bad argument fails in the caller's process rather than on a worker.
"""

from __future__ import annotations

import hashlib
import json
import numbers
from dataclasses import asdict, dataclass
from typing import Any, Literal, Union

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
        Which encoder runs the model: a name of :data:`dfembed.encoders.kinds.KINDS`.
    revision
        Hub revision (branch, tag or commit); ignored for local directories.
    cache_dir, local_files_only
        Passed to ``huggingface_hub`` for hub models.
    cuda
        ``False`` runs on the CPU; ``True`` requires CUDA and raises
        :class:`~dfembed.errors.DeviceUnavailableError` when it cannot load; ``"auto"`` uses
        CUDA when it is present and the CPU otherwise.
    device_ids
        GPUs for Dask workers, round-robin by each worker's local rank on its host; ``None``
        uses every GPU of the worker's host (or, dask-cuda style, the worker's own visible
        device 0). See :func:`dfembed.runtime.devices.place`.
    device_id
        The GPU for in-process runs.
    threads
        ``intra_op_num_threads`` for ONNX Runtime; ``None`` follows the worker's thread count
        (or the machine's cores in process).
    session_options
        ONNX Runtime settings as sorted ``(name, value)`` pairs: memory (``cpu_mem_arena``,
        ``gpu_mem_limit``, ``arena_extend_strategy``) and graph rewrites (``precision``,
        ``graph_fusion``); see :func:`dfembed.runtime.session.check_settings`.
    """

    model: str
    kind: str = "text"
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


def check_count(value: object, name: str, minimum: int, *, none: str | None = None) -> int | None:
    """``value`` as a plain ``int`` of at least ``minimum``; ``TypeError``/``ValueError`` naming it.

    numpy integers are accepted and made plain ints (specs and options are hashed as JSON);
    bools are refused although Python counts them as ints. ``none`` says what ``None``
    means where it is allowed (``None`` is refused when it is not given).
    """
    if value is None and none is not None:
        return None
    allowed = f"an int >= {minimum}" + (f" or None ({none})" if none is not None else "")
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be {allowed}, not {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be {allowed}, not {value}.")
    return int(value)


def check_max_length(value: object, kind: str, minimum: int) -> int | None:
    """``max_length=`` checked for ``kind``: ``None`` (the model's limit) or at least
    ``minimum``, room for the kind's special tokens and one token of text (below it, 0 would
    read as "the model's limit" and 1 as no truncation at all)."""
    try:
        return check_count(value, "max_length", minimum, none="the model's own limit")
    except ValueError as exc:
        kind = kind.replace("_", "-")
        raise ValueError(
            f"{exc} A {kind} input needs {minimum - 1} special tokens and one token of text."
        ) from None


def check_device_ids(device_ids: object) -> tuple[int, ...] | None:
    """``device_ids=`` as a tuple of GPU numbers, or ``None`` (every GPU of each host)."""
    if device_ids is None:
        return None
    if not isinstance(device_ids, (list, tuple)):
        raise TypeError(
            f"device_ids must be a list of GPU numbers such as [0, 1], not {device_ids!r}."
        )
    if not device_ids:
        raise ValueError("device_ids must list at least one GPU, such as [0, 1]; or pass None.")
    return tuple(check_count(d, "each of device_ids", 0) for d in device_ids)
