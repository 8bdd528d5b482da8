"""Output folders of part files: what dfembed wrote there, and replacing it safely.

A folder :func:`dfembed.to_parquet` writes holds ``part.NNNNN.parquet`` files and a manifest,
``_dfembed_manifest.json``, naming them. Readers skip names starting with ``_`` or ``.``, so
pandas, Dask and pyarrow read the folder as before. A rerun removes only the parts that
manifest lists: a folder holding parquet files dfembed did not write (Dask's own part files,
say) is refused rather than emptied.

New parts are written into a hidden staging folder beside the output (same parent, so the
same file system and renames are atomic) and moved in only once every part is written: a
failed run leaves the old output whole. A new or empty output folder is the staging folder
renamed. Otherwise the folder may hold the user's own files, which renaming a whole folder
over it would lose, so parts are moved in one by one (each ``os.replace`` is atomic), old
parts the new run did not replace are removed, and the manifest is written twice: first
naming old and new parts, so that a run stopped in the middle of the swap leaves only
listed parts that the next run cleans up, then naming the new parts alone. A process killed
while writing leaves its staging folder (``.NAME.dfembed-*``, hidden from readers) behind:
it is never reused, and may be removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from ..errors import OutputError

MANIFEST = "_dfembed_manifest.json"
#: The only names a manifest can make dfembed remove.
PART_NAME = re.compile(r"part\.\d{5,}\.parquet")
PARQUET_SUFFIXES = (".parquet", ".pq")


def part_name(number: int) -> str:
    """The file name of partition ``number``."""
    return f"part.{number:05d}.parquet"


def previous_parts(folder: str | Path) -> list[str]:
    """The part files an earlier dfembed run wrote in ``folder``, from its manifest.

    Raises :class:`OutputError` if ``folder`` is a file, if its manifest cannot be read, or if
    it holds parquet files that no manifest lists: readers of the folder would take those
    for rows of the output, and removing them could destroy someone's data.
    """
    folder = Path(folder)
    if not folder.exists():
        return []
    if not folder.is_dir():
        raise OutputError(
            f"The output {folder} is a file: dfembed.to_parquet writes a folder of part files. "
            "Name a folder."
        )
    listed = _read_manifest(folder)
    foreign = [path for path in _parquet_files(folder) if path.name not in listed]
    if foreign:
        shown = ", ".join(str(path.relative_to(folder)) for path in foreign[:3])
        raise OutputError(
            f"The output folder {folder} holds parquet files dfembed did not write ({shown}"
            f"{', ...' if len(foreign) > 3 else ''}): writing there would mix them with the "
            "output, and dfembed only removes part files it wrote itself. Choose a new or "
            "empty folder, or remove those files."
        )
    return listed


def _read_manifest(folder: Path) -> list[str]:
    """Part names the folder's manifest lists; names that are not part files are ignored,
    so a manifest can never make dfembed remove anything else."""
    path = folder / MANIFEST
    if not path.exists():
        return []
    try:
        parts = json.loads(path.read_text(encoding="utf-8"))["parts"]
        if not isinstance(parts, list):
            raise TypeError("parts is not a list")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise OutputError(
            f"Cannot read {path} ({exc}): it names the part files an earlier dfembed run "
            "wrote. Remove the folder's part files and that file, or choose another folder."
        ) from None
    return [name for name in parts if isinstance(name, str) and PART_NAME.fullmatch(name)]


def _parquet_files(folder: Path) -> list[Path]:
    """Parquet files under ``folder`` that readers of it would read (hidden names skipped)."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(name for name in dirs if not name.startswith(("_", ".")))
        found += [
            Path(root) / name
            for name in sorted(files)
            if not name.startswith(("_", ".")) and name.lower().endswith(PARQUET_SUFFIXES)
        ]
    return found


@contextlib.contextmanager
def staging(folder: str | Path) -> Iterator[Path]:
    """A new, empty staging folder beside ``folder``, removed if the block fails."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    stage = folder.parent / f".{folder.name}.dfembed-{uuid.uuid4().hex[:12]}"
    stage.mkdir()
    try:
        yield stage
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def swap_in(stage: Path, folder: str | Path, names: list[str], old: list[str]) -> list[Path]:
    """Move the parts ``names`` from ``stage`` into ``folder`` in place of the parts ``old``
    (see the module docstring); returns the new parts' paths in ``folder``."""
    folder = Path(folder)
    if not folder.exists() or (folder.is_dir() and not any(folder.iterdir())):
        _write_manifest(stage, names)
        try:
            os.rename(stage, folder)  # atomic; replaces an empty folder on POSIX
            return [folder / name for name in names]
        except OSError:
            (stage / MANIFEST).unlink(missing_ok=True)  # created meanwhile: swap part by part
    _write_manifest(folder, sorted({*old, *names}))
    for name in names:
        os.replace(stage / name, folder / name)
    for name in set(old) - set(names):
        (folder / name).unlink(missing_ok=True)
    _write_manifest(folder, names)
    shutil.rmtree(stage, ignore_errors=True)
    return [folder / name for name in names]


def _write_manifest(folder: Path, names: list[str]) -> None:
    """Write the manifest under a temporary name first, so it is never seen half written."""
    text = json.dumps({"written_by": "dfembed", "version": 1, "parts": names}, indent=1)
    temporary = folder / f"{MANIFEST}.{uuid.uuid4().hex[:8]}"
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, folder / MANIFEST)
