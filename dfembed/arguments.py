"""Accessor arguments checked when the call is made, turned into a model spec and options.

Checking here (not where a worker first uses a value) gives a clear ``TypeError`` or
``ValueError`` naming the argument at call time, on lazy Dask frames too, and leaves
plain, picklable values (numpy integers become ints) for specs and cache namespaces.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Mapping

import numpy as np

from .encoders.base import EncodeOptions
from .encoders.kinds import kind_of
from .encoders.text import DenseOptions
from .errors import ModelNotFoundError
from .io.cache import cache_folder
from .models.info import DESCRIPTOR, ModelInfo
from .models.names import local_folder
from .models.prompts import prompt_text, warn_missing_query_prompt
from .models.registry import lookup
from .runtime.devices import check_cuda
from .runtime.session import check_settings
from .spec import ModelSpec, check_count, check_device_ids, check_max_length


def cache_argument(cache: object) -> str | bool | None:
    """``cache=`` checked early (a clear error here, not on a worker), kept picklable.

    ``True`` stays ``True``: the default folder is the one of the process that runs.
    """
    if cache_folder(cache) is None:  # raises TypeError for anything but a path, True, None
        return None
    return True if cache is True else os.fspath(cache)


def checked_options(kind: str, options: EncodeOptions) -> EncodeOptions:
    """``options`` with their counts checked now (not on a worker) and made plain ints."""
    record = kind_of(kind)
    changes = {
        "batch_size": check_count(options.batch_size, "batch_size", 1, none="the default"),
        "token_budget": check_count(options.token_budget, "token_budget", 1),
    }
    if record.min_max_length is not None:
        changes["max_length"] = check_max_length(options.max_length, kind, record.min_max_length)
    normalize = getattr(options, "normalize", None)
    if normalize is not None and not isinstance(normalize, (bool, np.bool_)):
        raise TypeError(
            f"normalize must be True, False or None (the model's own), not {normalize!r}."
        )
    if normalize is not None:
        changes["normalize"] = bool(normalize)
    if hasattr(options, "query"):
        if not isinstance(options.query, (bool, np.bool_)):
            raise TypeError(
                f"query must be True (these texts are queries) or False, not {options.query!r}; "
                "to score texts against a query text, use .embed.rerank(column, query_text=...)."
            )
        changes["query"] = bool(options.query)
    if isinstance(options, DenseOptions):
        changes["dim"] = check_count(options.dim, "dim", 1, none="the model's width")
        if options.prompt is not None and not isinstance(options.prompt, str):
            raise TypeError(
                f"prompt must be a string (a prompt's name or its text) or None, not "
                f"{options.prompt!r}."
            )
    return dataclasses.replace(options, **changes)


#: Models already warned about cutting with dim= in this process: warn once each.
_warned_cuts: set[str] = set()


def text_width(info: ModelInfo, options: DenseOptions, described: bool = False) -> int:
    """The width of a text call's vectors, its ``prompt=`` and ``dim=`` checked against the
    model ``info`` now (a bad one fails here, not on a worker) and warnings given here.

    ``described``: the model is a folder with a ``dfembed.json``, whose author states its
    prompts as a registry row does (no query prompt there is meant, not overlooked).

    Raises
    ------
    ValueError
        ``dim`` is wider than the model's vectors, or ``prompt`` looks like a prompt name
        the model does not have.
    """
    prompt_text(info, options.query, options.prompt)
    if options.query and options.prompt is None:
        warn_missing_query_prompt(info, known=described or lookup(info.name) == info)
    if options.dim is None or not info.dim:
        return info.dim
    if options.dim > info.dim:
        raise ValueError(
            f"dim={options.dim} is wider than {info.name}'s {info.dim}-wide vectors: dim= "
            f"keeps the first values of each vector, so pass at most {info.dim} (or None)."
        )
    if not info.matryoshka and info.name not in _warned_cuts:
        _warned_cuts.add(info.name)
        warnings.warn(
            f"dim={options.dim} cuts {info.name}'s {info.dim}-wide vectors, but it is not "
            "known to be a Matryoshka model (trained so that its first values stand on their "
            "own): the cut vectors may rank much worse. Those that are: "
            'dfembed.list_models().query("matryoshka"); a folder says so with '
            '"matryoshka": true in its dfembed.json.',
            UserWarning,
            stacklevel=4,  # the user's df.embed.text(...) call
        )
    return options.dim


def model_spec(
    kind: str,
    model: object,
    revision: str | None,
    cuda: object,
    device_ids: object,
    device_id: object,
    threads: object,
    cache_dir: str | None,
    local_files_only: bool,
    session_options: Mapping[str, object] | None,
) -> ModelSpec:
    """The model spec of one accessor call (the same for every kind), arguments checked."""
    device = check_count(device_id, "device_id", 0, none="GPU 0")
    return ModelSpec(
        model=str(model),
        kind=kind,
        revision=revision,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
        cuda=check_cuda(cuda),
        device_ids=check_device_ids(device_ids),
        device_id=0 if device is None else device,
        threads=check_count(threads, "threads", 1, none="the default"),
        session_options=check_settings(session_options),
    )


def described_folder(spec: ModelSpec) -> bool:
    """Whether ``spec`` names a local folder described by its own ``dfembed.json``."""
    try:
        folder = local_folder(spec)
    except ModelNotFoundError:  # a folder only the workers have: they read it
        return False
    return folder is not None and (folder / DESCRIPTOR).is_file()
