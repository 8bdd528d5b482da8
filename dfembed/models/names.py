"""What a model name names: a local folder, a registry entry or a hub repository.

Shared by :func:`~dfembed.models.resolve.resolve` (which fetches the model) and
:func:`~dfembed.models.describe.describe` (which only reads what it is), so both accept and
refuse the same names with the same errors.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ModelLoadError, ModelNotFoundError
from ..spec import ModelSpec
from .registry import ModelInfo, lookup


def local_folder(spec: ModelSpec) -> Path | None:
    """The local directory ``spec.model`` names; ``None`` for a registry name or hub id.

    Raises
    ------
    ModelNotFoundError
        ``spec.model`` is spelt as a path, but no such directory exists here.
    """
    folder = Path(os.path.expanduser(spec.model))
    if folder.is_dir():
        return folder
    if spec.model.startswith(("/", "~", ".")):  # a path (no hub id starts so): say so
        raise ModelNotFoundError(
            f"{spec.model!r} is not a local directory: {folder} does not exist here. On a "
            "cluster, every worker needs the model folder at this same path."
        )
    return None


def registry_entry(spec: ModelSpec) -> ModelInfo | None:
    """The registry entry ``spec.model`` names (its kind checked against ``spec.kind``), or
    ``None`` for a hub repository id the registry does not know.

    Raises
    ------
    ModelNotFoundError
        ``spec.model`` is neither a known name nor shaped like a hub id (``owner/name``).
    ModelLoadError
        The registry's model is of another kind.
    """
    known = lookup(spec.model)
    if known is None and spec.model.count("/") != 1:
        raise ModelNotFoundError(
            f"{spec.model!r} is not a local directory, a known model name or a hub "
            "repository id ('owner/name'). See dfembed.list_models() for known names."
        )
    if known is not None:
        check_kind(known, spec)
    return known


def check_kind(info: ModelInfo, spec: ModelSpec) -> None:
    """Raise :class:`ModelLoadError` unless ``info`` is of the kind ``spec`` asks for."""
    if info.kind != spec.kind:
        raise ModelLoadError(
            f"{spec.model!r} is a model of kind {info.kind!r}, not {spec.kind!r}: call "
            f"df.embed.{info.kind}(...) instead, or pick a {spec.kind} model from "
            f"dfembed.list_models(kind={spec.kind!r})."
        )
