"""The machine's folder of rewritten graphs (fused, int8) and what was measured about them.

A rewrite takes seconds (benchmarks/README.md, "Measurements behind defaults in the
code"), more than it saves on a short job, so each result is written once, named by what
it was made from, and every later session on any worker of the machine loads it as is.
Files are written beside their final name and renamed into place, so workers rewriting at
once never read half a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
from pathlib import Path

log = logging.getLogger("dfembed")

#: Folders found unwritable in this process (each said once, at INFO).
_UNWRITABLE: set[Path] = set()


def store_dir() -> Path:
    """Where rewritten graphs are kept (``DFEMBED_FUSED_DIR`` overrides)."""
    default = Path(os.path.expanduser("~/.cache/dfembed/fused"))
    return Path(os.environ.get("DFEMBED_FUSED_DIR", default))


def writable(folder: Path, what: str) -> bool:
    """Whether files can be kept in ``folder``, checked before seconds are spent making one.

    ``what`` finishes the INFO line said once per folder and process when it cannot:
    ``"dfembed: {what}: <folder> cannot be written ..."``.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        if folder not in _UNWRITABLE:
            _UNWRITABLE.add(folder)
            log.info(
                "dfembed: %s: %s cannot be written (%s); set DFEMBED_FUSED_DIR to a writable "
                "folder to keep rewritten graphs there",
                what,
                folder,
                exc.strerror or exc,
            )
        return False
    return True


def write_atomic(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` through a temporary file renamed into place."""
    handle, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


#: onnxruntime's exception classes (matched by name: they are not public) for a file that
#: is missing, truncated or not an ONNX graph, rather than a provider or memory failure.
_FILE_ERRORS = frozenset({"InvalidProtobuf", "NoSuchFile", "NoModel", "InvalidGraph"})


def is_file_error(exc: Exception) -> bool:
    """Whether ONNX Runtime failed on the file itself (damaged, missing, not ONNX)."""
    return type(exc).__name__ in _FILE_ERRORS


def drop(path: Path) -> None:
    """Remove a damaged or stale file; a folder gone read-only leaves it for next time."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def short_hash(*parts: object) -> str:
    """12 hex digits naming a combination of settings in a file name."""
    return hashlib.sha256("\0".join(map(str, parts)).encode()).hexdigest()[:12]
