"""Known models and how to run them.

This is the one place that knows a model's files and post-processing: which ONNX file,
which tokenizer files, the output to read, pooling, normalization, maximum length and
prompts. The rows themselves live in :mod:`dfembed.models.known_text` (sentence-transformers
models), :mod:`dfembed.models.known_retrieval` (prompted retrieval models, CLIP text) and
:mod:`dfembed.models.known_other` (the other kinds); local folders describe themselves the
same way through a ``dfembed.json`` file (read and checked by
:mod:`dfembed.models.descriptor`).
"""

from __future__ import annotations

from dataclasses import asdict, fields

import pandas as pd

from .info import (  # noqa: F401 - the registry's names, imported from here elsewhere
    ABOUT_FIELDS,
    DESCRIPTOR,
    KINDS,
    POOLINGS,
    PROMPTS_FILE,
    SIZED_KINDS,
    TOKENIZER_FILES,
    ModelInfo,
    output_to_read,
)
from .known_other import OTHER_MODELS
from .known_retrieval import RETRIEVAL_MODELS
from .known_text import TEXT_MODELS

_REGISTRY: dict[str, ModelInfo] = {}


def register(info: ModelInfo) -> None:
    """Add a model to the registry under its name and its hub repository id."""
    _REGISTRY[info.name.lower()] = info
    if info.repo:
        # a repository id names its first (main) entry; variants are reached by their names
        _REGISTRY.setdefault(info.repo.lower(), info)


for _info in (*TEXT_MODELS, *RETRIEVAL_MODELS, *OTHER_MODELS):
    register(_info)


def lookup(name: str) -> ModelInfo | None:
    """The registry entry for a name or hub repository id (case-insensitive), if any."""
    return _REGISTRY.get(name.lower())


#: The columns :func:`list_models` shows first: what a row is, how it runs, its prompts,
#: and whether it was run here on real weights.
_FIRST = [
    "name",
    "kind",
    "repo",
    "dim",
    "pooling",
    "normalize",
    "max_length",
    "license",
    "query_prefix",
    "document_prefix",
    "prompts",
    "matryoshka",
    "run_here",
]


def _row(info: ModelInfo) -> dict:
    """One :func:`list_models` row: the fields, named prompts as a ``{name: text}`` dict."""
    row = asdict(info)
    row["prompts"] = dict(info.prompts)
    return row


def list_models(kind: str | None = None) -> pd.DataFrame:
    """The registry as a DataFrame, one row per model, optionally of one kind.

    Each row shows the model's prompts (``query_prefix``, ``document_prefix`` and other
    named ``prompts``), whether it may be cut with ``dim=`` (``matryoshka``), whether it
    was run here on its real weights (``run_here``) and where its facts come from
    (``source``).

    Raises
    ------
    ValueError
        ``kind`` is not one of :data:`KINDS` (a misspelt kind would list nothing).
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(
            f"Unknown model kind {kind!r}: use one of {', '.join(map(repr, KINDS))}, or "
            "kind=None for every model."
        )
    seen = {id(v): v for v in _REGISTRY.values()}.values()
    rows = [_row(info) for info in seen if kind is None or info.kind == kind]
    columns = _FIRST + [f.name for f in fields(ModelInfo) if f.name not in _FIRST]
    frame = pd.DataFrame(rows, columns=columns)  # the columns stay when no row matches
    return frame.sort_values(["kind", "name"], ignore_index=True)
