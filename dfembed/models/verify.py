"""Checking that files in the Hugging Face cache hold the bytes the hub announced.

``huggingface_hub`` checks only a download's length; large (LFS) files are stored under their
sha256, so the name itself says what the bytes must hash to. dfembed hashes each such blob
once and remembers the good ones (a marker under ``~/.cache/dfembed/verified``), so a
corrupted or tampered download is caught before ONNX Runtime reads it, and deleted so the next
run downloads it again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from pathlib import Path

from ..errors import ModelLoadError

log = logging.getLogger("dfembed")

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1 << 20


def marker_dir() -> Path:
    """Where verified blob hashes are remembered (``DFEMBED_VERIFIED_DIR`` overrides)."""
    default = Path(os.path.expanduser("~/.cache/dfembed/verified"))
    return Path(os.environ.get("DFEMBED_VERIFIED_DIR", default))


def verify_snapshot(folder: Path, files: list[Path]) -> None:
    """Hash every sha256-named cache blob behind ``files`` (once) and reject mismatches.

    ``files`` are the model's own files: a mismatch deletes the file, so other files of the
    snapshot (another tool's downloads) are never checked here. Files that are not links into
    a Hugging Face cache (local folders) are left alone.
    """
    for path in files:
        expected = _blob_sha256(path)
        if expected is None:
            continue
        if _verified(expected):
            continue
        blob = path.resolve()
        actual = file_sha256(blob)
        if actual != expected:
            blob.unlink(missing_ok=True)
            path.unlink(missing_ok=True)
            raise ModelLoadError(
                f"{path.relative_to(folder)} in {folder} does not match the hub's checksum "
                f"(sha256 {actual[:12]}... instead of {expected[:12]}...): the download was "
                "corrupted. The bad file was deleted: run again to download it afresh."
            )
        _remember(marker_dir() / expected)


def _verified(sha256: str) -> bool:
    """Whether a blob of this hash was checked before (an unreadable marker folder: no)."""
    try:
        return (marker_dir() / sha256).exists()
    except OSError:
        return False


def _remember(marker: Path) -> None:
    """Leave the marker of a verified blob; where that folder cannot be written, the blob
    (already checked) is used anyway and hashed again on the next load."""
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError as exc:
        log.debug(
            "dfembed: cannot remember a verified blob in %s (%s): it is checked again on "
            "the next load; set DFEMBED_VERIFIED_DIR to a writable folder to avoid that",
            marker.parent,
            exc,
        )


def _blob_sha256(path: Path) -> str | None:
    """The SHA-256 a Hugging Face cache blob is named by, when ``path`` links to one."""
    if not path.is_symlink():
        return None
    blob = path.resolve()
    if not _SHA256.match(blob.name) or blob.parent.name != "blobs":
        return None
    return blob.name


def content_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, without reading a verified hub blob again.

    A link into the Hugging Face cache whose blob :func:`verify_snapshot` has checked is
    named by its hash; any other file is hashed.
    """
    named = _blob_sha256(path)
    if named is not None and _verified(named):
        return named
    return file_sha256(path)


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, read in chunks (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
