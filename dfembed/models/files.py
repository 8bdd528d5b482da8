"""Where a model's files may be, and how they are read.

Model folders come from ``git clone``, archives and hub repositories, and any file in them
may be a link: ``model.onnx_data -> ../outside/secret.txt`` or ``-> /dev/zero``. So every
file dfembed reads for a model (ONNX graph, external weights, tokenizer, JSON configs,
stopword lists) is found through :func:`confined_file`: named by a relative path without
``..``, and a regular file (not a directory, FIFO or device) whose real path is inside the
model's folder. A Hugging Face cache snapshot links its files to ``../../blobs/<hash>``, so
for a snapshot the allowed folder is that repository's cache folder (:func:`model_root`).
Reads are bounded by what the caller expects and by the file's size (:func:`read_bounded`,
:func:`read_json`).
"""

from __future__ import annotations

import glob
import json
import os
import stat
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import ModelLoadError

#: Largest JSON configuration file read (dfembed.json, config.json, ...): real ones are a
#: few kilobytes, and a larger one is not a configuration dfembed should parse.
JSON_LIMIT = 4 << 20
_NO_FILE = (FileNotFoundError, NotADirectoryError)


def model_root(folder: Path) -> Path:
    """The folder the files of a model in ``folder`` must really be in (links resolved).

    ``folder`` itself, or, for a folder in a Hugging Face cache snapshot
    (``.../models--org--name/snapshots/<rev>/...``), the repository's cache folder
    ``.../models--org--name``, whose ``blobs`` hold the bytes the snapshot links to.
    """
    real = folder.resolve()
    for path in (real, *real.parents):
        if path.parent.name == "snapshots" and path.parent.parent.name.startswith("models--"):
            return path.parent.parent
    return real


def relative_name(name: object, what: str) -> str:
    """``name`` as a relative POSIX path inside a model folder (``\\`` read as ``/``).

    Raises
    ------
    ModelLoadError
        ``name`` is not a string, is empty, absolute, holds ``..`` or a NUL character.
    """
    relative = PurePosixPath(name.replace("\\", "/")) if isinstance(name, str) else None
    if relative is None or not name:
        why = "it is empty"
    elif "\0" in name:
        why = "it holds a NUL character"
    elif relative.is_absolute():
        why = "it is an absolute path"
    elif ".." in relative.parts:
        why = 'it goes up with ".."'
    elif relative.as_posix() == ".":
        why = "it names the folder itself"
    else:
        return relative.as_posix()
    raise ModelLoadError(
        f"{what} {name!r} is not a file name inside the model folder ({why}): dfembed "
        "reads only files inside a model's folder, named by relative paths such as "
        '"model.onnx" or "onnx/model.onnx".'
    )


def confined_file(folder: Path, name: str, what: str) -> Path | None:
    """``folder / name`` once checked, or ``None`` where the folder has no such file.

    The path is returned as named (a hub snapshot's link, not its blob: the blob's name is
    the hash that :mod:`dfembed.models.verify` checks). ``what`` says in messages which
    file it is (``"The ONNX graph"``).

    Raises
    ------
    ModelLoadError
        ``name`` is not a relative path inside the folder (:func:`relative_name`), or the
        file's real path is outside :func:`model_root`, or it is not a regular file.
    """
    path = folder / relative_name(name, what)
    try:
        real = path.resolve(strict=True)
    except _NO_FILE:
        return None
    except (OSError, RuntimeError) as exc:  # a loop of links (RuntimeError before 3.13)
        raise ModelLoadError(f"{what} {path} cannot be followed: {exc}.") from exc
    root = model_root(folder)
    if not real.is_relative_to(root):
        raise ModelLoadError(
            f"{what} {path} leads to {real}, outside the model folder {root}: dfembed reads "
            "only files inside a model's folder. Put the file itself there instead of a link."
        )
    try:
        mode = real.stat().st_mode
    except _NO_FILE:
        return None
    if not stat.S_ISREG(mode):
        raise ModelLoadError(
            f"{what} {path} is {_file_type(mode)}, not a regular file: replace it with the "
            "model's own file."
        )
    return path


def read_bounded(path: Path, what: str, offset: int = 0, length: int | None = None) -> bytes:
    """``length`` bytes of the regular file ``path`` from ``offset`` (``None``: to its end).

    Never reads past the file's size as it is when opened: a declared length that the
    file cannot hold is an error, not a read that waits or grows without end.

    Raises
    ------
    ModelLoadError
        The file is not a regular file, or too short for ``offset`` and ``length``.
    OSError
        The file cannot be opened or read.
    """
    # O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused just below)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        mode, size = info.st_mode, info.st_size
        if not stat.S_ISREG(mode):
            raise ModelLoadError(f"{what} {path} is {_file_type(mode)}, not a regular file.")
        end = size if length is None else offset + length
        if offset < 0 or end < offset or end > size:
            raise ModelLoadError(
                f"{what} {path} holds {size:,} bytes, but bytes {offset:,} to {end:,} are "
                "asked for: the file is truncated or does not belong to this model."
            )
        handle.seek(offset)
        data = handle.read(end - offset)
    if len(data) != end - offset:  # the file shrank while it was read
        raise ModelLoadError(f"{what} {path} changed while it was read: try again.")
    return data


def read_json(path: Path, advice: str, limit: int = JSON_LIMIT) -> Any:
    """The JSON value in ``path``, a model's configuration file of at most ``limit`` bytes.

    Raises
    ------
    ModelLoadError
        The file is larger than ``limit``, not JSON, or nested too deeply to parse; the
        message names the file and ends with ``advice``.
    """
    size = os.stat(path).st_size
    if size > limit:
        raise ModelLoadError(
            f"{path} is {size:,} bytes: dfembed reads model configuration files of up to "
            f"{limit >> 20} MiB only. {advice}"
        )
    data = read_bounded(path, "The configuration file", 0, size)
    try:
        return json.loads(data)
    except RecursionError as exc:
        raise ModelLoadError(f"{path} nests JSON values too deeply to read. {advice}") from exc
    except ValueError as exc:  # UnicodeDecodeError included
        raise ModelLoadError(f"{path} is not valid JSON ({exc}). {advice}") from exc


def exact_pattern(name: str) -> str:
    """A hub download pattern (``allow_patterns``) that matches the file ``name`` only.

    Hub patterns are globs: a weight file named ``*`` in a graph would otherwise fetch the
    whole repository, pickles included.
    """
    return glob.escape(name)


def _file_type(mode: int) -> str:
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((kind for test, kind in kinds if test(mode)), "a special file")
