"""Where the embedding cache may write: owner-only new files, never through a symbolic link.

Whoever can write a cache folder decides the vectors read from it, so the folders and files
dfembed creates are the user's alone: folders ``0700``, SQLite files ``0600`` (SQLite gives
its ``-wal`` and ``-shm`` files the database file's permissions). Folders and files that
already exist keep theirs: a cache shared on purpose (a group-writable team folder) stays
shared, and dfembed never changes the permissions of a folder it did not make.

Symbolic links:

- A namespace file or one of its SQLite side files that is a link is refused: written
  through, it would overwrite whatever the link points to (a link planted in a shared
  folder could make a job write into any file of its user).
- The cache folder the user names may be a link (a cache moved to a larger disk is usually
  linked back into ``~/.cache``): it is followed when the folder it leads to is the user's
  own (or root's), and refused when it belongs to another user, since someone else's folder
  reached through a link is one the user probably does not know they are trusting. Only the
  named folder is checked: links higher up the path (``/tmp`` on macOS) are the system's.

These checks guard against mistakes and planted links, not against someone racing the
process with write access to the folder: such a person decides the vectors anyway.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from ..errors import CacheError

#: SQLite's files for one database: the database, its write-ahead log, its shared-memory
#: index, and the rollback journal used before the file is switched to WAL.
_SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")
FOLDER_MODE = 0o700
FILE_MODE = 0o600


def check_folder(folder: Path) -> None:
    """Refuse a cache ``folder`` that is a symbolic link to a folder of another user."""
    if not folder.is_symlink():
        return
    target = Path(os.path.realpath(folder))  # (Path.resolve raises on a loop of links)
    if not target.is_dir():
        raise CacheError(
            f"The cache folder {folder} is a symbolic link to {target}, which is not a "
            "folder: create that folder, remove the link, or pass another cache= folder."
        )
    owner = target.stat().st_uid
    if hasattr(os, "getuid") and owner not in (os.getuid(), 0):
        raise CacheError(
            f"The cache folder {folder} is a symbolic link to {target}, a folder of another "
            f"user (uid {owner}); whoever can write a cache folder decides the vectors read "
            f"from it. Pass {target} itself as cache= if you mean to share it, or remove "
            "the link."
        )


def make_folder(folder: Path) -> None:
    """Create ``folder`` and its missing parents, each readable by its owner only."""
    missing = []
    while not os.path.lexists(folder):
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another worker made it meanwhile
            path.mkdir(mode=FOLDER_MODE)


def prepare_file(path: Path) -> None:
    """Refuse a cache file (or SQLite side file) that is a link; create it ``0600``.

    An empty file is an empty SQLite database, so SQLite opens the one made here, and makes
    its side files with the same permissions.
    """
    for suffix in _SQLITE_SUFFIXES:
        part = path.with_name(path.name + suffix)
        if part.is_symlink():
            raise CacheError(
                f"The embedding cache file {part} is a symbolic link (to "
                f"{os.readlink(part)}): dfembed only writes regular files in a cache folder, "
                "so that nothing outside it is overwritten. Delete the link (its entries are "
                "computed again), or pass another cache= folder."
            )
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    # an existing file (made earlier, or by another worker) keeps its permissions
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, flags, FILE_MODE))
