"""Fetching a model's files from the Hugging Face hub, and saying why when that fails.

Downloads go through ``huggingface_hub`` and so honour its cache, ``cache_dir``,
``local_files_only``, ``HF_ENDPOINT`` and ``HF_HUB_OFFLINE``. Only the files named are
fetched (:mod:`dfembed.models.file_names` says which). ``huggingface_hub`` writes each file
to a temporary name and renames it when complete, so a download cut mid-file is never seen
as a whole file in the cache. The hub client's many errors become one
:class:`~dfembed.errors.ModelNotFoundError` each, saying what to do. Which files to ask for,
and what to make of them, is :func:`dfembed.models.resolve.resolve`'s business.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import ModelNotFoundError
from ..spec import ModelSpec
from .files import exact_pattern

_OFFLINE_HELP = (
    "To use it without network access, either pass model= a local directory holding the "
    "ONNX file and tokenizer.json, or download it once with network access (it is then "
    "served from the Hugging Face cache, also with HF_HUB_OFFLINE=1)."
)


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


def cached_onnx_files(folder: Path, spec: ModelSpec) -> list[str] | None:
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
