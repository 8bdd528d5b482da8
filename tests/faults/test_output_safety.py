"""Outputs never destroy inputs or files dfembed did not write, and a failed write leaves the
last output whole: ``dfembed.to_parquet``, ``dfembed.write_parquet`` and the command line.

Every case here lost data before: the output folder's ``part.*.parquet`` files were deleted
before the lazy graph read its input (the input was gone), a folder of Dask's own part files
was silently replaced, a failed run left a half-deleted folder, and ``--output in.csv``
replaced the CSV with parquet bytes.
"""

from __future__ import annotations

import json
import os

import dask
import dask.dataframe as dd
import pandas as pd
import pytest

import dfembed
from dfembed import OutputError
from dfembed.cli import main

MANIFEST = "_dfembed_manifest.json"


def _texts(n: int, tag: str = "row") -> pd.DataFrame:
    return pd.DataFrame({"t": [f"{tag} {i}" for i in range(n)]})


def _snapshot(folder) -> dict[str, bytes]:
    """Every file under ``folder`` and its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _staging_left(parent) -> list[str]:
    return [p.name for p in parent.iterdir() if ".dfembed-" in p.name]


def _boom(part: pd.DataFrame) -> pd.DataFrame:
    if part["t"].str.contains("new 7").any():
        raise RuntimeError("partition failed")
    return part


# -- the Python API ---------------------------------------------------------------------


def test_the_folder_a_lazy_frame_reads_can_be_its_output(tmp_path):
    """Before, the old parts were deleted before the graph read them: FileNotFoundError."""
    out = tmp_path / "vectors"
    dfembed.to_parquet(dd.from_pandas(_texts(12), npartitions=3), out)
    lazy = dd.read_parquet(out)
    dfembed.to_parquet(lazy.assign(n=lazy["t"].str.len()), out)
    back = dfembed.read_parquet(out)
    assert back["t"].tolist() == _texts(12)["t"].tolist()
    assert back["n"].tolist() == [len(t) for t in _texts(12)["t"]]


def test_a_failed_dask_write_leaves_the_last_output_whole(tmp_path):
    out = tmp_path / "vectors"
    dfembed.to_parquet(dd.from_pandas(_texts(12), npartitions=3), out)
    before = _snapshot(out)
    failing = dd.from_pandas(_texts(12, "new"), npartitions=4).map_partitions(_boom)
    with dask.config.set(scheduler="sync"), pytest.raises(RuntimeError, match="partition failed"):
        dfembed.to_parquet(failing, out)
    assert _snapshot(out) == before
    assert _staging_left(tmp_path) == []
    assert dfembed.read_parquet(out)["t"].tolist() == _texts(12)["t"].tolist()


def test_a_failed_pandas_write_leaves_the_last_output_whole(tmp_path):
    out = tmp_path / "vectors"
    dfembed.to_parquet(_texts(5), out)
    before = _snapshot(out)
    unwritable = pd.DataFrame({"t": ["text", 3, b"x"]}, dtype=object)  # Arrow refuses it
    with pytest.raises(Exception, match="(?i)convert|bytes|int"):
        dfembed.to_parquet(unwritable, out)
    assert _snapshot(out) == before
    assert _staging_left(tmp_path) == []


def test_a_folder_of_parquet_files_dfembed_did_not_write_is_refused(tmp_path):
    out = tmp_path / "dask-wrote-this"
    dd.from_pandas(_texts(8), npartitions=2).to_parquet(out)  # Dask's own part.N.parquet
    before = _snapshot(out)
    with pytest.raises(OutputError, match="did not write .*part.0.parquet.*empty folder"):
        dfembed.to_parquet(dd.from_pandas(_texts(3, "new"), npartitions=1), out)
    with pytest.raises(OutputError, match="did not write"):
        dfembed.to_parquet(_texts(3, "new"), out)
    assert _snapshot(out) == before


def test_only_manifest_listed_parts_are_replaced_and_readers_skip_the_manifest(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "_notes.md").write_text("mine")
    (out / "_SUCCESS").write_text("")
    dfembed.to_parquet(dd.from_pandas(_texts(12), npartitions=4), out)
    listed = json.loads((out / MANIFEST).read_text())["parts"]
    assert listed == [f"part.{i:05d}.parquet" for i in range(4)]
    dfembed.to_parquet(dd.from_pandas(_texts(6, "again"), npartitions=2), out)
    assert json.loads((out / MANIFEST).read_text())["parts"] == listed[:2]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*listed[:2], MANIFEST, "_SUCCESS", "_notes.md"]
    )
    assert (out / "_notes.md").read_text() == "mine"
    expected = _texts(6, "again")["t"].tolist()
    assert pd.read_parquet(out)["t"].tolist() == expected
    assert dd.read_parquet(out).compute()["t"].tolist() == expected
    assert dfembed.read_parquet(out)["t"].tolist() == expected


def test_a_new_folder_is_moved_into_place_whole(tmp_path):
    files = dfembed.to_parquet(dd.from_pandas(_texts(6), npartitions=2), tmp_path / "a" / "out")
    assert [f.parent for f in files] == [(tmp_path / "a" / "out").resolve()] * 2
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["out"]  # no staging left
    assert (tmp_path / "a" / "out" / MANIFEST).exists()


def test_a_manifest_cannot_make_dfembed_remove_other_files(tmp_path):
    out = tmp_path / "out"
    dfembed.to_parquet(_texts(3), out)
    (tmp_path / "victim.parquet").write_bytes(b"keep")
    (out / "notes.txt").write_text("keep")
    hostile = ["part.00000.parquet", "../victim.parquet", "notes.txt", "/etc/hostname", 7]
    (out / MANIFEST).write_text(json.dumps({"parts": hostile}))
    dfembed.to_parquet(_texts(2), out)
    assert (tmp_path / "victim.parquet").read_bytes() == b"keep"
    assert (out / "notes.txt").read_text() == "keep"
    (out / MANIFEST).write_text("{not json")
    with pytest.raises(OutputError, match="Cannot read .*_dfembed_manifest.json"):
        dfembed.to_parquet(_texts(2), out)


def test_a_swap_stopped_halfway_is_cleaned_up_by_the_next_run(tmp_path, monkeypatch):
    from dfembed.io import output

    out = tmp_path / "out"
    (out).mkdir()
    (out / "_notes.md").write_text("mine")  # not empty: parts are moved one by one
    dfembed.to_parquet(dd.from_pandas(_texts(9), npartitions=3), out)
    real_replace, moved = output.os.replace, []

    def replace_once(src, dst):
        if str(dst).endswith(".parquet") and moved:
            raise OSError("disk gone")
        moved.append(dst)
        return real_replace(src, dst)

    monkeypatch.setattr(output.os, "replace", replace_once)
    with pytest.raises(OSError, match="disk gone"):
        dfembed.to_parquet(dd.from_pandas(_texts(8, "new"), npartitions=4), out)
    monkeypatch.undo()
    # every part file in the folder is listed, so the next run may replace them all
    on_disk = {p.name for p in out.glob("part.*.parquet")}
    assert on_disk <= set(json.loads((out / MANIFEST).read_text())["parts"])
    dfembed.to_parquet(dd.from_pandas(_texts(4, "last"), npartitions=2), out)
    assert dfembed.read_parquet(out)["t"].tolist() == _texts(4, "last")["t"].tolist()
    assert _staging_left(tmp_path) == []


def test_write_parquet_keeps_the_old_file_if_writing_fails(tmp_path, monkeypatch):
    from dfembed.io import parquet

    path = dfembed.write_parquet(_texts(3), tmp_path / "x.parquet")
    before = path.read_bytes()
    real_write = parquet.pq.write_table

    def half_write(table, where, **kwargs):
        if not isinstance(where, (str, os.PathLike)):
            return real_write(table, where, **kwargs)  # to a buffer, not the file
        with open(where, "wb") as file:
            file.write(b"PAR1 half")
        raise OSError("No space left on device")

    monkeypatch.setattr(parquet.pq, "write_table", half_write)
    with pytest.raises(OSError, match="No space"):
        dfembed.write_parquet(_texts(5), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.parquet"]


# -- the command line -------------------------------------------------------------------


def _cli(src, out, *extra) -> list[str]:
    return ["text", str(src), "--column", "t", "--output", str(out), "--model", "/no/model", *extra]


def _refused(capsys, argv, message: str) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "dfembed: error: " in err and message in err and "Traceback" not in err


@pytest.mark.parametrize("where", [["--workers", "1"], ["--scheduler", "tcp://127.0.0.1:9"]])
def test_cli_refuses_an_output_folder_that_is_the_input(tmp_path, capsys, where):
    """``dfembed text vectors/ --output vectors/ --workers 1`` deleted its input."""
    src = tmp_path / "vectors"
    dfembed.to_parquet(_texts(6), src)
    before = _snapshot(src)
    _refused(capsys, _cli(src, src, *where), f"--output {src} is the input")
    _refused(capsys, _cli(src, tmp_path / "vectors" / ".", *where), "is the input")
    assert _snapshot(src) == before


def test_cli_refuses_to_write_over_an_input_csv(tmp_path, capsys):
    src = tmp_path / "in.csv"
    _texts(3).to_csv(src, index=False)
    before = src.read_bytes()
    _refused(capsys, _cli(src, src), f"--output {src} is the input")
    link = tmp_path / "link.csv"
    link.symlink_to(src)
    _refused(capsys, _cli(src, link), "is the input")
    _refused(capsys, _cli(link, src), "is the input")
    assert src.read_bytes() == before


def test_cli_refuses_an_in_process_output_that_is_not_named_parquet(tmp_path, capsys):
    src = tmp_path / "in.csv"
    _texts(3).to_csv(src, index=False)
    _refused(capsys, _cli(src, tmp_path / "out.csv"), "name a .parquet or .pq file")
    assert not (tmp_path / "out.csv").exists()


def test_cli_refuses_outputs_inside_or_around_an_input(tmp_path, capsys):
    folder = tmp_path / "vectors"
    dfembed.to_parquet(_texts(4), folder)
    _refused(capsys, _cli(folder, folder / "more.parquet"), "lies inside the input folder")
    csv = tmp_path / "data" / "in.csv"
    csv.parent.mkdir()
    _texts(3).to_csv(csv, index=False)
    _refused(capsys, _cli(csv, tmp_path / "data", "--workers", "1"), "lies inside the --output")
    _refused(capsys, _cli(csv, tmp_path, "--workers", "1"), "lies inside the --output")
    assert not (folder / "more.parquet").exists()


def test_cli_refuses_a_dask_output_folder_of_files_it_did_not_write(tmp_path, capsys):
    src = tmp_path / "in.csv"
    _texts(3).to_csv(src, index=False)
    theirs = tmp_path / "theirs"
    dd.from_pandas(_texts(8), npartitions=2).to_parquet(theirs)
    before = _snapshot(theirs)
    _refused(capsys, _cli(src, theirs, "--workers", "1"), "parquet files dfembed did not write")
    assert _snapshot(theirs) == before
