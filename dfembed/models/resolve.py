"""From a model name to a model on disk, ready to run: :func:`resolve`, read top to bottom.

1. **Where**: a local folder, else a registry name, else a hub repository
   (:mod:`dfembed.models.names`).
2. **Files**: a folder is used as it is; a hub repository's files known before its graph is
   read (:mod:`dfembed.models.file_names`) are fetched (:mod:`dfembed.models.hub`).
3. **Descriptor**: the folder's ``dfembed.json`` over the registry's row, else its
   sentence-transformers files (:mod:`dfembed.models.descriptor`); the kind is checked.
4. **Width**: the ONNX graph must be there; where nothing else said the vectors' width, its
   declared output shape does (a column's dtype needs it before any row is embedded).
5. **Verification**: for a hub model, the weight files its graph names are fetched, and every
   file is checked against the hub's checksums (:mod:`dfembed.models.verify`).

:func:`~dfembed.models.describe.describe` answers steps 1-3 without the graph, for a client
that only needs the model's kind and width.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelNotFoundError
from ..spec import ModelSpec
from .descriptor import info_from_folder, with_graph_width
from .file_names import DESCRIPTOR, ONNX_CANDIDATES, PACKAGED_DATA, unknown_repo_files
from .files import confined_file
from .hub import cached_onnx_files, download
from .info import ModelInfo
from .names import check_kind, local_folder, registry_entry
from .resolved import ResolvedModel
from .verify import verify_snapshot


@dataclass(frozen=True)
class Source:
    """Where a model's files are: a ``folder`` on disk, or a hub ``repo`` to fetch them from,
    with the registry's row (``known``) where the name is a registry name."""

    known: ModelInfo | None
    folder: Path | None = None
    repo: str | None = None
    local: bool = False


def resolve(spec: ModelSpec) -> ResolvedModel:
    """Find or download the files of ``spec.model``, describe and check them.

    Raises
    ------
    ModelNotFoundError
        Step 1: a path that is not a directory here, or a name that is neither a registry
        name nor a hub id. Step 2: no such repository or revision, or its files can be
        neither found in the cache nor downloaded now. Step 4: no ONNX graph. Step 5: the
        graph names weight files the repository does not have.
    ModelLoadError
        Steps 1 and 3: the model is of another kind, or its ``dfembed.json`` is invalid.
        Step 4: the width is needed but neither said nor stated by the graph. Step 5: a
        file does not match the hub's checksum (it is deleted, to be fetched again).
    """
    source = locate(spec)  # 1. where
    folder = fetch(source, spec)  # 2. files
    base = _starting_info(source, folder, spec)
    info = info_from_folder(folder, base)  # 3. descriptor
    check_kind(info, spec)
    if info.onnx_file:  # 4. width (BM25 runs without a graph)
        info = with_graph_width(info, _graph(folder, info, base, spec))
    model = ResolvedModel(folder=folder, info=info, local=source.local)
    if source.repo is not None:  # 5. verification
        complete_and_verify(source.repo, model, spec)
    return model


def locate(spec: ModelSpec) -> Source:
    """Step 1: where ``spec.model``'s files are. A local folder wins over a registry name
    (its own files describe it); a registry row without graph or repository (BM25) has its
    files inside dfembed; any other name is a hub repository."""
    folder = local_folder(spec)
    if folder is not None:
        return Source(known=None, folder=folder, local=True)
    known = registry_entry(spec)
    if known is not None and not known.onnx_file and not known.repo:
        return Source(known=known, folder=PACKAGED_DATA)  # works offline
    repo = known.repo if known is not None and known.repo else spec.model
    return Source(known=known, repo=repo)


def fetch(source: Source, spec: ModelSpec) -> Path:
    """Step 2: the folder holding the model's files known before its graph is read (a hub
    snapshot at ``spec.revision``, fetched or found in the cache)."""
    if source.folder is not None:
        return source.folder
    names = source.known.files() if source.known is not None else unknown_repo_files()
    return download(source.repo, spec.revision, spec, names)


def _starting_info(source: Source, folder: Path, spec: ModelSpec) -> ModelInfo:
    """What the descriptor starts from: the registry's row, or defaults for ``spec``'s kind
    with the first ONNX graph the folder has where an unknown model may keep one."""
    if source.known is not None:
        return source.known
    present = [name for name in ONNX_CANDIDATES if (folder / name).exists()]
    return ModelInfo(name=spec.model, kind=spec.kind, onnx_file=(present or ["model.onnx"])[0])


def _graph(folder: Path, info: ModelInfo, base: ModelInfo, spec: ModelSpec) -> Path:
    """Step 4's graph: the ONNX file ``info`` names, or a :class:`ModelNotFoundError` saying
    which graphs the repository or folder has instead."""
    name = info.onnx_file
    what = "The ONNX graph"
    if name != base.onnx_file:  # named by the folder's dfembed.json
        what += f' ("onnx_file" of {folder / DESCRIPTOR})'
    graph = confined_file(folder, name, what)
    if graph is not None:
        return graph
    in_repo = cached_onnx_files(folder, spec)
    if in_repo:
        hint = (
            f" The hub repository has {in_repo}: download it to a local folder and name "
            'one in a dfembed.json file ("onnx_file").'
        )
    elif in_repo is None and (
        local := sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.onnx"))
    ):
        hint = f' It has {local}: name one in a dfembed.json file ("onnx_file").'
    else:
        hint = " Export the model to ONNX first (e.g. with optimum or torch.onnx)."
    raise ModelNotFoundError(f"No ONNX file {name!r} in {folder}.{hint}")


def complete_and_verify(repo: str, model: ResolvedModel, spec: ModelSpec) -> None:
    """Step 5: fetch the weight files the model's graph names, and check every file it uses
    against the hub's checksums (only its own files: a bad one is deleted)."""
    folder = model.folder
    verify_snapshot(folder, model.present(model.info.files()))  # the graph first
    missing = [name for name in model.weight_files() if model.file(name) is None]
    if missing:  # from the snapshot's own commit, even if the branch has moved on since
        download(repo, folder.name, spec, missing)
    absent = [name for name in missing if model.file(name) is None]
    if absent:
        raise ModelNotFoundError(
            f"The ONNX graph {model.onnx_path} names weight files {absent} that {repo!r} "
            f"does not have at revision {folder.name}: the repository is incomplete or its "
            "graph belongs to other files. Use another revision or model."
        )
    verify_snapshot(folder, model.present(model.weight_files()))
