"""Parameter docs shared by the five ``.embed`` methods, written once.

Like pandas' ``@doc``: each method's docstring holds its summary, the parameters only it
has (or that mean something else there) and its ``Returns``; :func:`shared_parameters`
fills the ``Parameters`` section in, in signature order, from :data:`SHARED`. A parameter
documented nowhere fails at import, so ``help(df.embed.text)`` always lists every one.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)

#: The docs of parameters that mean the same in every method that has them.
SHARED: dict[str, str] = {
    "column": "Column to embed, given first (omit it on a Series).",
    "model": "Registry name (``dfembed.list_models()``), hub repository id, or local folder.",
    "revision": "Hub revision (branch, tag or commit) to download.",
    "batch_size": (
        "Most inputs per model run. ``None`` (the default of every method): texts are\n"
        "batched by ``token_budget`` alone; images 32 per run (an image is large)."
    ),
    "token_budget": ("Most padded tokens per model run: bounds memory whatever the text lengths."),
    "normalize": (
        "L2-normalize each vector (a dot product is then the cosine); ``None`` (default):\n"
        "as the model's description says (all-MiniLM-L6-v2, bge, e5: yes; the paraphrase\n"
        "models: no, as in sentence-transformers)."
    ),
    "max_length": "Truncate texts to this many tokens (at most the model's own limit).",
    "dedup": "Run identical inputs once (each row still gets its own output).",
    "cache": (
        "A folder for the persistent embedding cache (``True``: ``$DFEMBED_CACHE`` or\n"
        "``~/.cache/dfembed/embeddings`` of the process that runs): outputs are stored\n"
        "there keyed by the model's exact files, the options, dfembed's version and each\n"
        "input's hash, so a rerun, or a run over a grown table, only embeds inputs it has\n"
        "not seen. On a multi-node cluster give each node a folder on local disk (SQLite)."
    ),
    "progress": "Show a progress bar (tqdm in process, Dask's progress bar on a cluster).",
    "parallel": (
        "pandas only: ``None`` runs in process; ``0`` one Dask worker process per core;\n"
        "``n`` n worker processes (an existing ``distributed.Client`` is used if active)."
    ),
    "cuda": (
        "``False`` (default) runs on the CPU; ``True`` requires CUDA and raises\n"
        '``DeviceUnavailableError`` when it cannot load; ``"auto"``: a GPU when there is one.'
    ),
    "device_ids": (
        "GPUs for Dask workers, round-robin by each worker's rank on its host (default:\n"
        "every GPU of the host)."
    ),
    "device_id": "The GPU used in process.",
    "threads": (
        "ONNX Runtime's threads; ``None``: the worker's thread count (in process, the cores)."
    ),
    "session_options": (
        "ONNX Runtime settings: ``cpu_mem_arena`` (default True: faster repeated runs, but\n"
        "the arena keeps its peak), ``gpu_mem_limit`` (bytes), ``arena_extend_strategy``\n"
        '(CUDA, default ``"kSameAsRequested"``), ``precision`` (``"fp32"``; ``"int8"`` for\n'
        'CPUs or ``"fp16"`` for GPUs: the fp32 graph converted when loaded) and\n'
        "``graph_fusion`` (``True``/``False``: BERT-family graphs with or without ONNX\n"
        "Runtime's transformer fusions; default ``None``: whichever a short measurement on\n"
        "the machine found faster)."
    ),
    "cache_dir": "Hub download folder (default: the hub's own cache).",
    "local_files_only": "Never download (``HF_HUB_OFFLINE=1`` is honoured too).",
    "name": "Name of the result (default: the column's name).",
}

_SECTION = re.compile(r"^(Parameters|Returns)\n-+\n", re.MULTILINE)


def shared_parameters(func: F) -> F:
    """Fill ``func``'s ``Parameters`` section in from its signature and :data:`SHARED`.

    Raises
    ------
    TypeError
        A parameter is documented neither in ``func`` nor in :data:`SHARED`, or ``func``
        documents one it does not take: a docstring out of step with its signature.
    """
    doc = inspect.cleandoc(func.__doc__ or "")
    sections = _sections(doc)
    own = _entries(sections.get("Parameters", ""))
    lines = []
    for parameter in list(inspect.signature(func).parameters.values())[1:]:  # after self
        name = parameter.name
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            name = "*" + name
        body = own.pop(name, None) or SHARED.get(name)
        if body is None:
            raise TypeError(f"{func.__qualname__}: parameter {name!r} is not documented.")
        lines.append(name)
        lines.extend("    " + line for line in body.splitlines())
    if own:
        raise TypeError(f"{func.__qualname__} documents parameters it lacks: {sorted(own)}.")
    parts = [sections[""], "Parameters\n----------\n" + "\n".join(lines)]
    if "Returns" in sections:
        parts.append("Returns\n-------\n" + sections["Returns"])
    func.__doc__ = "\n\n".join(part.strip("\n") for part in parts) + "\n"
    return func


def _sections(doc: str) -> dict[str, str]:
    """``doc`` split at its numpy-style headers: ``""`` is the text before the first."""
    found = list(_SECTION.finditer(doc))
    sections = {"": doc[: found[0].start()] if found else doc}
    ends = [match.start() for match in found[1:]] + [len(doc)]
    for match, end in zip(found, ends, strict=False):  # no header: no section
        sections[match.group(1)] = doc[match.end() : end]
    return sections


def _entries(block: str) -> dict[str, str]:
    """A ``Parameters`` block's entries: each name (unindented) to its dedented body."""
    entries: dict[str, list[str]] = {}
    current: list[str] = []
    for line in block.strip("\n").splitlines():
        if line and not line[0].isspace():
            current = entries.setdefault(line.strip(), [])
        elif line.strip():
            current.append(line[4:] if line.startswith("    ") else line.strip())
    return {name: "\n".join(body) for name, body in entries.items()}
