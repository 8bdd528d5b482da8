"""Output folders of part files and their manifest: :mod:`dfembed.io.output`.

The functions on their own, on plain files; ``tests/faults/test_output_safety.py`` drives
them through ``to_parquet`` and the command line, failures included.
"""

from __future__ import annotations

import json

import pytest

from dfembed.errors import OutputError
from dfembed.io import output


def _manifest(folder, parts) -> None:
    (folder / output.MANIFEST).write_text(json.dumps({"parts": parts}))


def test_part_names_are_numbered_with_five_digits_or_more():
    names = [output.part_name(n) for n in (0, 7, 12345)]
    assert names == ["part.00000.parquet", "part.00007.parquet", "part.12345.parquet"]
    assert output.part_name(100000) == "part.100000.parquet"
    assert all(output.PART_NAME.fullmatch(n) for n in [*names, "part.100000.parquet"])
    assert not output.PART_NAME.fullmatch("part.0001.parquet")


def test_previous_parts_of_a_new_or_unlisted_folder(tmp_path):
    assert output.previous_parts(tmp_path / "new") == []
    (tmp_path / "notes.txt").write_text("the user's")
    (tmp_path / "_hidden.parquet").write_bytes(b"")  # readers skip it: so does the check
    (tmp_path / ".also").mkdir()
    (tmp_path / ".also" / "x.parquet").write_bytes(b"")
    assert output.previous_parts(tmp_path) == []


def test_previous_parts_are_the_manifests_part_names_only(tmp_path):
    (tmp_path / "part.00000.parquet").write_bytes(b"")
    _manifest(tmp_path, ["part.00000.parquet", "part.00001.parquet", "../etc/passwd", 3])
    assert output.previous_parts(tmp_path) == ["part.00000.parquet", "part.00001.parquet"]


def test_parquet_files_no_manifest_lists_are_refused_naming_them(tmp_path):
    (tmp_path / "sub").mkdir()
    for name in ("a.parquet", "b.PQ", "sub/c.parquet", "sub/d.parquet"):
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(OutputError, match=r"dfembed did not write \(a\.parquet, b\.PQ, sub/c"):
        output.previous_parts(tmp_path)


def test_a_file_or_an_unreadable_manifest_is_refused(tmp_path):
    (tmp_path / "out.parquet").write_bytes(b"")
    with pytest.raises(OutputError, match="is a file: .* Name a folder"):
        output.previous_parts(tmp_path / "out.parquet")
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / output.MANIFEST).write_text("{not json")
    with pytest.raises(OutputError, match="Cannot read .*_dfembed_manifest.json"):
        output.previous_parts(folder)
    _manifest(folder, "part.00000.parquet")
    with pytest.raises(OutputError, match="parts is not a list"):
        output.previous_parts(folder)


def test_a_failed_block_removes_its_staging_folder(tmp_path):
    with pytest.raises(RuntimeError), output.staging(tmp_path / "out") as stage:
        (stage / "part.00000.parquet").write_bytes(b"half")
        assert stage.parent == tmp_path and stage.name.startswith(".out.dfembed-")
        raise RuntimeError("writing failed")
    assert list(tmp_path.iterdir()) == []


def test_a_new_folder_is_the_staging_folder_renamed(tmp_path):
    with output.staging(tmp_path / "out") as stage:
        (stage / "part.00000.parquet").write_bytes(b"new")
        paths = output.swap_in(stage, tmp_path / "out", ["part.00000.parquet"], [])
    assert paths == [tmp_path / "out" / "part.00000.parquet"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert output.previous_parts(tmp_path / "out") == ["part.00000.parquet"]


def test_a_rerun_replaces_its_parts_and_keeps_the_users_files(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    for name in ("part.00000.parquet", "part.00001.parquet"):
        (folder / name).write_bytes(b"old")
    _manifest(folder, ["part.00000.parquet", "part.00001.parquet"])
    (folder / "README.txt").write_text("the user's")
    old = output.previous_parts(folder)
    with output.staging(folder) as stage:
        (stage / "part.00000.parquet").write_bytes(b"new")
        output.swap_in(stage, folder, ["part.00000.parquet"], old)
    assert sorted(p.name for p in folder.iterdir()) == [
        "README.txt",
        output.MANIFEST,
        "part.00000.parquet",
    ]
    assert (folder / "part.00000.parquet").read_bytes() == b"new"
    assert output.previous_parts(folder) == ["part.00000.parquet"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging folder left
