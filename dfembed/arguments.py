"""Accessor arguments checked when the call is made, turned into a model spec and options.

Checking here (not where a worker first uses a value) gives a clear ``TypeError`` or
``ValueError`` naming the argument at call time, on lazy Dask frames too, and leaves
plain, picklable values (numpy integers become ints) for specs and cache namespaces.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping

import numpy as np

from .encoders.base import EncodeOptions
from .io.cache import cache_folder
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
    changes = {
        "batch_size": check_count(options.batch_size, "batch_size", 1, none="the default"),
        "token_budget": check_count(options.token_budget, "token_budget", 1),
    }
    if hasattr(options, "max_length"):
        changes["max_length"] = check_max_length(options.max_length, kind)
    normalize = getattr(options, "normalize", None)
    if normalize is not None and not isinstance(normalize, (bool, np.bool_)):
        raise TypeError(
            f"normalize must be True, False or None (the model's own), not {normalize!r}."
        )
    if normalize is not None:
        changes["normalize"] = bool(normalize)
    return dataclasses.replace(options, **changes)


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
