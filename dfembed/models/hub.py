"""Turn a model reference into a folder on disk: a local directory, or a hub download.

Hub downloads go through ``huggingface_hub`` and so honour its cache, ``cache_dir``,
``local_files_only``, ``HF_ENDPOINT`` and ``HF_HUB_OFFLINE``. Only the files the model needs
are fetched (the ONNX graph, the weight files it names, tokenizer and JSON configs): never
pickles or remote code. The weight files are known only once the graph is on disk, so they
come in a second request, pinned to the snapshot's commit.
``huggingface_hub`` writes each file to a temporary name and renames it when complete, so
a download cut mid-file is never seen as a whole file in the cache.
"""

from __future__ import annotations

import functools
import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import ModelNotFoundError
from ..runtime.graphs import external_data_files
from ..spec import ModelSpec
from .descriptor import info_from_folder, with_graph_width
from .files import confined_file, exact_pattern
from .names import check_kind, local_folder, registry_entry
from .registry import DESCRIPTOR, PROMPTS_FILE, ModelInfo
from .verify import verify_snapshot

#: Where an unknown hub repository may keep its ONNX graph, in order of preference.
ONNX_CANDIDATES = ("onnx/model.onnx", "model.onnx")
#: Files shipped inside dfembed (BM25 stopword lists, laid out like the Qdrant/bm25 repo):
#: the folder of registry models that have no ONNX graph and no hub repository.
PACKAGED_DATA = Path(__file__).parent / "data"

_OFFLINE_HELP = (
    "To use it without network access, either pass model= a local directory holding the "
    "ONNX file and tokenizer.json, or download it once with network access (it is then "
    "served from the Hugging Face cache, also with HF_HUB_OFFLINE=1)."
)


@dataclass(frozen=True)
class ResolvedModel:
    """A model's folder on disk and how to run it.

    ``local`` is true for a folder named by its path: its name then says only how the path
    was spelled, and the files' :attr:`fingerprint` alone identifies the model.
    """

    folder: Path
    info: ModelInfo
    local: bool = False

    @property
    def onnx_path(self) -> Path:
        """The ONNX graph, checked as :meth:`file` checks; :class:`ModelNotFoundError` if none."""
        path = self.file(self.info.onnx_file, "The ONNX graph")
        if path is None:
            raise ModelNotFoundError(f"No ONNX file {self.info.onnx_file!r} in {self.folder}.")
        return path

    def file(self, name: str, what: str = "The model file") -> Path | None:
        """A file of the model's folder, or ``None`` when the model has no such file. Every
        model file is found here: one that is not a regular file inside the folder is a
        :class:`ModelLoadError` (:func:`~dfembed.models.files.confined_file`)."""
        return confined_file(self.folder, name, what)

    def weight_files(self) -> list[str]:
        """The external weight files the ONNX graph names, as paths in the folder.

        Read from the graph (only the graph knows them: ``model.onnx_data``,
        ``model.onnx.data``, one file per tensor, ...).
        """
        graph = self.file(self.info.onnx_file, "The ONNX graph") if self.info.onnx_file else None
        if graph is None:
            return []
        base = PurePosixPath(self.info.onnx_file).parent
        return [(base / name).as_posix() for name in external_data_files(graph)]

    def files(self) -> list[str]:
        """Every file the model uses: those :meth:`ModelInfo.files` names, and the graph's
        external weight files. Fingerprinted, downloaded and checksum-verified alike."""
        return sorted({*self.info.files(), *self.weight_files()})

    @functools.cached_property
    def fingerprint(self) -> str:
        """SHA-256 of the model's files (the ones :meth:`files` names) and names.

        Identifies the exact weights and tokenizer whatever the folder is called, so the
        embedding cache can tell a retrained or re-exported model from the one it stored.
        """
        digest = hashlib.sha256()
        for name in self.files():
            path = self.file(name)
            if path is None:
                continue
            digest.update(f"{name}\0{path.stat().st_size}\0".encode())
            with open(path, "rb") as handle:
                while block := handle.read(1 << 20):
                    digest.update(block)
        return digest.hexdigest()


def resolve(spec: ModelSpec) -> ResolvedModel:
    """Find or download the files of ``spec.model``; raise a specific error otherwise."""
    folder = local_folder(spec)
    if folder is not None:
        return _from_folder(folder, None, spec, local=True)
    known = registry_entry(spec)
    if known is not None:
        if not known.onnx_file and not known.repo:
            # nothing to download (BM25): its data files ship with dfembed, so it works offline
            return _from_folder(PACKAGED_DATA, known, spec)
        repo, names = known.repo or spec.model, known.files()
    else:
        repo, names = spec.model, _unknown_repo_files()
    model = _from_folder(download(repo, spec.revision, spec, names), known, spec)
    _complete(repo, model, spec)
    return model


def _complete(repo: str, model: ResolvedModel, spec: ModelSpec) -> None:
    """Fetch the weight files the model's graph names, and check every file it uses against
    the hub's checksums (only its own files: a bad one is deleted)."""
    folder = model.folder
    verify_snapshot(folder, _present(model, model.info.files()))  # graph first
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
    verify_snapshot(folder, _present(model, model.weight_files()))


def _present(model: ResolvedModel, names: list[str]) -> list[Path]:
    """The files of ``names`` the folder has, checked (a bad checksum deletes the file)."""
    return [path for name in names if (path := model.file(name)) is not None]


def _unknown_repo_files() -> list[str]:
    """Files to fetch from a repository the registry does not know."""
    onnx = [p for candidate in ONNX_CANDIDATES for p in (candidate, candidate + "_data")]
    extra = [
        "1_Pooling/config.json",
        "sentence_bert_config.json",
        "modules.json",
        "preprocessor_config.json",
        PROMPTS_FILE,
    ]
    return sorted({*onnx, *ModelInfo(name="", kind="image").files(), *extra})


def download(repo: str, revision: str | None, spec: ModelSpec, names: list[str]) -> Path:
    """The snapshot folder of ``repo`` at ``revision`` holding the files ``names`` (those
    the repository has), with ``spec``'s cache and offline settings. Names are exact: a
    graph may name a weight file ``*``, which as a pattern would fetch everything.

    Raises
    ------
    ModelNotFoundError
        The repository or revision does not exist, or the files can be neither found in
        the cache nor downloaded now (offline, unreachable, broken off).
    """
    import warnings

    with warnings.catch_warnings():
        # huggingface_hub imports tqdm.auto, which warns in Jupyter without ipywidgets; its
        # bars still work as text, so the warning is only noise in the user's notebook
        warnings.filterwarnings("ignore", message="IProgress not found")
        from huggingface_hub import errors as hf_errors
        from huggingface_hub import snapshot_download

    # Newer huggingface_hub versions only (IncompleteSnapshotError subclasses LocalEntryNotFound).
    incomplete = getattr(hf_errors, "IncompleteSnapshotError", ())
    invalid = getattr(hf_errors, "HFValidationError", ())
    try:
        path = snapshot_download(
            repo_id=repo,
            revision=revision,
            cache_dir=spec.cache_dir,
            local_files_only=spec.local_files_only,
            allow_patterns=[exact_pattern(name) for name in names],
        )
    except invalid as exc:
        raise ModelNotFoundError(
            f"{repo!r} (revision {revision!r}) is not a valid hub repository id / revision "
            f"({exc}). Check model= and revision=."
        ) from exc
    except hf_errors.RevisionNotFoundError as exc:
        raise ModelNotFoundError(
            f"Revision {revision!r} of {repo!r} does not exist on the hub: check "
            "revision= (a branch, tag or commit hash)."
        ) from exc
    except (hf_errors.RepositoryNotFoundError, hf_errors.GatedRepoError) as exc:
        raise ModelNotFoundError(
            f"The hub has no repository {repo!r} (or it is private/gated): check the name, "
            "or log in with `hf auth login` for private models."
        ) from exc
    except incomplete as exc:
        raise ModelNotFoundError(
            f"The cached copy of {repo!r} is incomplete (an earlier download was interrupted) "
            f"and the missing files cannot be downloaded now ({_why_not_downloaded(spec, exc)}). "
            f"Run once with network access to complete it. {_OFFLINE_HELP}"
        ) from exc
    except hf_errors.LocalEntryNotFoundError as exc:
        raise ModelNotFoundError(
            f"{repo!r} is not in the Hugging Face cache and cannot be downloaded now "
            f"({_why_not_downloaded(spec, exc)}). {_OFFLINE_HELP}"
        ) from exc
    except (hf_errors.HfHubHTTPError, OSError, *_transport_errors()) as exc:
        raise ModelNotFoundError(
            f"Downloading {repo!r} from the hub failed ({type(exc).__name__}: {exc}). Partly "
            f"downloaded files are not kept: try again. {_OFFLINE_HELP}"
        ) from exc
    return Path(path)


def _why_not_downloaded(spec: ModelSpec, exc: Exception) -> str:
    """Why the hub was not asked: offline by choice, or, in the hub client's words, not
    reachable (a proxy, DNS or firewall problem the user has to see to fix)."""
    from huggingface_hub import constants

    if spec.local_files_only or constants.HF_HUB_OFFLINE:
        return "offline: HF_HUB_OFFLINE=1 or local_files_only=True"
    reason = " ".join(str(exc).split())
    cause = exc.__cause__
    if cause is not None and str(cause) not in reason:  # newer clients already quote it
        reason += f" ({type(cause).__name__}: {cause})"
    return f"the hub could not be reached: {reason}"


def _transport_errors() -> tuple[type[Exception], ...]:
    """Connection-level errors of the HTTP client huggingface_hub uses (its choice varies by
    version), which it re-raises when a download breaks off and its retries run out."""
    found = []
    for module, name in (
        ("httpx2", "TransportError"),
        ("httpx", "TransportError"),
        ("requests", "RequestException"),
    ):
        cls = getattr(sys.modules.get(module), name, None)
        if isinstance(cls, type) and issubclass(cls, Exception):
            found.append(cls)
    return tuple(found)


def _hub_onnx_files(folder: Path, spec: ModelSpec) -> list[str] | None:
    """The ONNX files of the hub repository whose snapshot is ``folder`` (cached listing only,
    no network), or ``None`` when ``folder`` is not a hub snapshot or no listing is cached."""
    if folder.parent.name != "snapshots" or not folder.parent.parent.name.startswith("models--"):
        return None
    repo = folder.parent.parent.name[len("models--") :].replace("--", "/")
    try:
        from huggingface_hub import get_cached_repo_tree
    except ImportError:  # older huggingface_hub
        return None
    try:
        tree = get_cached_repo_tree(repo, revision=folder.name, cache_dir=spec.cache_dir)
    except Exception:  # no cached listing: say nothing rather than fail differently
        return None
    return sorted(f.path for f in tree if f.path.endswith(".onnx"))


def _from_folder(
    folder: Path, known: ModelInfo | None, spec: ModelSpec, *, local: bool = False
) -> ResolvedModel:
    """Describe a folder (its dfembed.json overrides the registry) and check its ONNX file,
    which says the vectors' width where nothing else does."""
    if known is None:
        present = [c for c in ONNX_CANDIDATES if (folder / c).exists()]
        base = ModelInfo(name=spec.model, kind=spec.kind, onnx_file=(present or ["model.onnx"])[0])
    else:
        base = known
    info = info_from_folder(folder, base)
    check_kind(info, spec)
    model = ResolvedModel(folder=folder, info=info, local=local)
    if not info.onnx_file:  # BM25: no graph
        return model
    what = "The ONNX graph"
    if info.onnx_file != base.onnx_file:  # named by the folder's dfembed.json
        what += f' ("onnx_file" of {folder / DESCRIPTOR})'
    graph = model.file(info.onnx_file, what)
    if graph is None:
        in_repo = _hub_onnx_files(folder, spec)
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
        raise ModelNotFoundError(f"No ONNX file {info.onnx_file!r} in {folder}.{hint}")
    # a column's dtype needs the width before any row is embedded
    return ResolvedModel(folder, with_graph_width(info, graph), local)
