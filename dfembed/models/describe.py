"""What a model is, read without fetching its graph or weights.

A process that builds a lazy result but does not run the model (a Dask client) needs the
model's kind checked and the width of its vectors (the column's dtype), not a 1 GB graph.
:func:`describe` finds them the way :func:`~dfembed.models.resolve.resolve` would, from less:

* a registry name: its row (no network at all);
* a local folder: as ``resolve`` reads it (nothing to download; its graph is read only where
  no JSON file states the width);
* a hub repository: only the small JSON files that can state the width or the prompts
  (:data:`~dfembed.models.file_names.WIDTH_FILES`), read exactly as ``resolve`` reads them
  in the full snapshot, so the width and prompts found are the ones the model's runners
  will find.

A text call's ``dim=`` narrows that width (the accessor checks it against this one and
declares the cut width). Where none of them states the width, the result says ``dim=0`` and
the caller decides how to learn it (the Dask engine asks a worker, which downloads the
model anyway to run it).
"""

from __future__ import annotations

from ..spec import ModelSpec
from .descriptor import info_from_folder
from .file_names import WIDTH_FILES
from .hub import download
from .info import SIZED_KINDS, ModelInfo
from .names import check_kind
from .resolve import locate, resolve


def describe(spec: ModelSpec) -> ModelInfo:
    """The model ``spec`` names, described without downloading its ONNX graph or weights.

    ``dim`` is the vectors' width as the model's runners will see it, or 0 where that
    needs the graph of a hub model (or the kind has no fixed width: sparse, rerank).

    Raises
    ------
    ModelNotFoundError
        No such folder, name or repository, or its JSON files cannot be fetched now.
    ModelLoadError
        The model is of another kind, or its ``dfembed.json`` is invalid.
    """
    source = locate(spec)  # resolve's step 1
    if source.local:
        return resolve(spec).info  # nothing to download: local files, as runners read them
    known = source.known
    if known is not None and (known.dim or known.kind not in SIZED_KINDS or not known.repo):
        return known
    folder = download(source.repo, spec.revision, spec, list(WIDTH_FILES))
    info = info_from_folder(folder, known or ModelInfo(name=spec.model, kind=spec.kind))
    check_kind(info, spec)
    return info
