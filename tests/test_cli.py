"""The ``dfembed`` command on CSV, JSON lines and parquet inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import dfembed
from dfembed.cli import main


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet", "/"])
def test_cli_embeds_a_file(tmp_path, minilm_int8, suffix, capsys):
    df = pd.DataFrame({"id": [1, 2, 3], "body": ["first text", "second text", None]})
    src = tmp_path / f"in{suffix}"
    {
        ".csv": lambda: df.to_csv(src, index=False),
        ".jsonl": lambda: df.to_json(src, orient="records", lines=True),
        ".parquet": lambda: df.to_parquet(src),
        "/": lambda: dfembed.to_parquet(df.set_index("id", drop=False), src),  # a folder
    }[suffix]()
    out = tmp_path / "out.parquet"
    assert (
        main(["text", str(src), "--column", "body", "--output", str(out), "--model", minilm_int8])
        == 0
    )
    assert "embedded 3 rows" in capsys.readouterr().out
    back = dfembed.read_parquet(out)
    # CSV has no types: its cells are read as the texts they are
    assert back["id"].tolist() == (["1", "2", "3"] if suffix == ".csv" else [1, 2, 3])
    assert back["embedding"].isna().tolist() == [False, False, True]
    expected = dfembed.to_numpy(df["body"].iloc[:2].embed.text(model=minilm_int8))
    np.testing.assert_allclose(dfembed.to_numpy(back["embedding"])[:2], expected, atol=1e-6)


def test_cli_reports_errors_without_traceback(tmp_path, capsys):
    src = tmp_path / "in.csv"
    pd.DataFrame({"body": ["x"]}).to_csv(src, index=False)
    code = main(
        [
            "text",
            str(src),
            "--column",
            "bodyy",
            "--output",
            str(tmp_path / "o.parquet"),
            "--model",
            str(tmp_path),
        ]
    )
    assert code == 2
    assert "Did you mean 'body'" in capsys.readouterr().err


def test_cli_cache_folder_serves_a_rerun(tmp_path, minilm_int8):
    src = tmp_path / "in.csv"
    pd.DataFrame({"body": ["first text", "second text", "first text"]}).to_csv(src, index=False)
    cache = tmp_path / "cache"
    args = ["text", str(src), "--column", "body", "--model", minilm_int8, "--cache", str(cache)]
    assert main([*args, "--output", str(tmp_path / "a.parquet")]) == 0
    (db,) = cache.glob("text-*.sqlite")
    import sqlite3

    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM entries").fetchone() == (2,)
    assert main([*args, "--output", str(tmp_path / "b.parquet")]) == 0
    a, b = (dfembed.read_parquet(tmp_path / f"{x}.parquet") for x in "ab")
    vectors = [dfembed.to_numpy(frame["embedding"]) for frame in (a, b)]
    np.testing.assert_array_equal(*vectors)


def _csv(tmp_path) -> str:
    src = tmp_path / "in.csv"
    pd.DataFrame({"body": ["first text", "second text"]}).to_csv(src, index=False)
    return str(src)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--device-ids", "0,a"], "argument --device-ids: expected comma-separated GPU numbers"),
        (["--device-ids", "0,-1"], "argument --device-ids: expected comma-separated"),
        (["--max-length", "-3"], "argument --max-length: expected an int >= 3, not '-3'"),
        (["--max-length", "2"], "argument --max-length: expected an int >= 3"),
        (["--batch-size", "0"], "argument --batch-size: expected an int >= 1"),
        (["--workers", "-1"], "argument --workers: expected an int >= 0, not '-1'"),
        (["--workers", "two"], "argument --workers: expected an int >= 0"),
        (["--cache", ""], "argument --cache: expected a folder path"),
        (["--vector-column", "body"], "--vector-column body would overwrite the input column"),
    ],
)
def test_bad_arguments_are_usage_errors_without_traceback(tmp_path, capsys, extra, message):
    argv = ["text", _csv(tmp_path), "--column", "body", "--output", str(tmp_path / "o.parquet")]
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--model", "/no/such/model", *extra])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "error: " in err and message in err and "Traceback" not in err


def test_missing_input_and_output_folder_are_reported_before_any_work(tmp_path, capsys):
    base = ["--column", "body", "--model", "/no/such/model"]
    with pytest.raises(SystemExit) as exit_:
        main(["text", str(tmp_path / "nope.csv"), *base, "--output", str(tmp_path / "o.pq")])
    assert exit_.value.code == 2
    assert "dfembed: error: the input" in capsys.readouterr().err
    (tmp_path / "folder").mkdir()
    with pytest.raises(SystemExit):
        main(["text", _csv(tmp_path), *base, "--output", str(tmp_path / "folder")])
    assert f"--output {tmp_path / 'folder'} is a folder" in capsys.readouterr().err
    a_file = tmp_path / "taken.parquet"  # a Dask run writes a folder
    a_file.write_bytes(b"")
    with pytest.raises(SystemExit):
        main(["text", _csv(tmp_path), *base, "--output", str(a_file), "--workers", "1"])
    assert f"--output {a_file} is a file" in capsys.readouterr().err


def test_python_dash_m_dfembed_runs_the_command_with_a_plain_help(tmp_path):
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-m", "dfembed", "--help"], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert "The dfembed command: embed a column" in run.stdout
    assert "``" not in run.stdout


def test_a_dask_run_prints_no_span_annotation_warning(tmp_path, minilm_int8, monkeypatch):
    """The span around writing is kept (it groups the compute) without dask-expr's warning."""
    import warnings

    from dask.dataframe.dask_expr import _collection
    from distributed import LocalCluster

    monkeypatch.setattr(_collection, "_WARN_ANNOTATIONS", True)  # it warns once per process
    src, out = _csv(tmp_path), tmp_path / "out"
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        argv = ["text", src, "--column", "body", "--output", str(out), "--model", minilm_int8]
        assert main([*argv, "--scheduler", cluster.scheduler_address]) == 0
    assert not [w for w in caught if "annotations" in str(w.message)]
    assert dfembed.read_parquet(out)["embedding"].notna().all()


# -- text is read as written ------------------------------------------------------------

#: Texts pandas' readers turn into missing values or numbers by default.
TRICKY = ["NA", "None", "null", "nan", "N/A", "#N/A", "<NA>", "00123", "1e5", "-0", "TRUE"]


def _embed_cli(minilm, src, out, *extra) -> int:
    argv = ["text", str(src), "--column", "body", "--output", str(out), "--model", minilm]
    return main([*argv, *extra])


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_texts_that_look_missing_or_numeric_are_embedded_as_written(tmp_path, minilm_int8, suffix):
    df = pd.DataFrame({"body": TRICKY, "zip": ["00501"] * len(TRICKY)})
    src = tmp_path / f"in{suffix}"
    if suffix == ".csv":
        df.to_csv(src, index=False)
    else:
        df.to_json(src, orient="records", lines=True)
    assert _embed_cli(minilm_int8, src, tmp_path / "out.parquet") == 0
    back = dfembed.read_parquet(tmp_path / "out.parquet")
    assert back["body"].tolist() == TRICKY
    assert back["zip"].tolist() == ["00501"] * len(TRICKY)
    assert back["embedding"].notna().all()
    expected = dfembed.to_numpy(pd.Series(TRICKY).embed.text(model=minilm_int8))
    np.testing.assert_allclose(dfembed.to_numpy(back["embedding"]), expected, atol=1e-6)


def test_missing_values_are_empty_csv_cells_json_nulls_and_na_values(tmp_path, minilm_int8):
    csv = tmp_path / "in.csv"
    csv.write_text('n,body\n1,NA\n2,\n3,""\n4,N/A\n5,kept\n')
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text(
        '{"body": "NA"}\n{"body": null}\n{"body": ""}\n{"body": "N/A"}\n{"body": "kept"}\n'
    )
    for src in (csv, jsonl):
        out = tmp_path / f"{src.suffix[1:]}.parquet"
        assert _embed_cli(minilm_int8, src, out) == 0
        default = dfembed.read_parquet(out)["embedding"].isna().tolist()
        assert _embed_cli(minilm_int8, src, out, "--na-values", "NA,N/A") == 0
        chosen = dfembed.read_parquet(out)["embedding"].isna().tolist()
        if src is csv:  # CSV cannot tell an empty text from no value
            assert default == [False, True, True, False, False]
            assert chosen == [True, True, True, True, False]
        else:
            assert default == [False, True, False, False, False]
            assert chosen == [True, True, False, True, False]


def test_a_latin1_csv_is_refused_with_a_hint_then_read_with_encoding(tmp_path, minilm_int8, capsys):
    src = tmp_path / "in.csv"
    src.write_bytes("body\ncaf\xe9 au lait\nna\xefve\n".encode("latin-1"))
    out = tmp_path / "out.parquet"
    assert _embed_cli(minilm_int8, src, out) == 2
    err = capsys.readouterr().err
    assert err.startswith("dfembed: error: Cannot read") and "--encoding latin-1" in err
    assert "the byte 0xe9 is not valid utf-8" in err
    assert "Traceback" not in err and not out.exists()
    assert _embed_cli(minilm_int8, src, out, "--encoding", "latin-1") == 0
    assert dfembed.read_parquet(out)["body"].tolist() == ["café au lait", "naïve"]
    with pytest.raises(SystemExit):
        _embed_cli(minilm_int8, src, out, "--encoding", "latin-99")
    assert "argument --encoding: unknown encoding 'latin-99'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("open-quote.csv", b'body\n"never closed\nmore\n', "Cannot parse"),
        ("ragged.csv", b"body\none\ntwo,three,four\n", "Cannot parse"),
        ("empty.csv", b"", "is empty"),
        ("broken.jsonl", b'{"body": "one"}\n{"body": \n', "as JSON lines"),
        ("garbage.parquet", b"not parquet at all", "as parquet"),
        ("utf16.jsonl", '{"body": "x"}\n'.encode("utf-16"), "--encoding"),
    ],
)
def test_unreadable_inputs_are_reported_without_traceback(
    tmp_path, minilm_int8, capsys, name, content, message
):
    src = tmp_path / name
    src.write_bytes(content)
    assert _embed_cli(minilm_int8, src, tmp_path / "out.parquet") == 2
    err = capsys.readouterr().err
    assert err.startswith("dfembed: error: ") and message in err and "Traceback" not in err


# -- CSV on Dask ------------------------------------------------------------------------


def _reviews(n: int) -> pd.DataFrame:
    """Texts with quoted line breaks, commas and quotes, as review exports have."""
    return pd.DataFrame(
        {
            "id": [f"{i:04d}" for i in range(n)],
            "body": [f'review {i},\nsecond line "quoted"\n\nthird, NA' for i in range(n)],
        }
    )


@pytest.fixture(scope="module")
def scheduler():
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0"
    ) as cluster:
        yield cluster.scheduler_address


def test_cli_on_dask_reads_quoted_multiline_csv(tmp_path, minilm_int8, scheduler, monkeypatch):
    from dfembed.io import readers

    monkeypatch.setattr(readers, "BLOCKSIZE", 1024)  # the file is many blocks long
    src = tmp_path / "reviews.csv"
    _reviews(60).to_csv(src, index=False)
    out = tmp_path / "out"
    assert _embed_cli(minilm_int8, src, out, "--scheduler", scheduler) == 0
    back = dfembed.read_parquet(out)
    assert back["body"].tolist() == _reviews(60)["body"].tolist()
    assert back["embedding"].notna().all()


def test_cli_on_dask_reports_a_bad_byte_in_a_later_block(
    tmp_path, minilm_int8, scheduler, monkeypatch, capsys
):
    """The block holding the byte is read on a worker while the run computes."""
    from dfembed.io import readers

    monkeypatch.setattr(readers, "BLOCKSIZE", 64 * 1024)
    src = tmp_path / "in.csv"
    # one distinct text (embedded once), made long by another column
    lines = [f"same text,{'x' * 150}" for _ in range(2_000)]
    lines[-5] = f"caf\xe9,{'x' * 150}"
    src.write_bytes(("body,filler\n" + "\n".join(lines) + "\n").encode("latin-1"))
    assert src.stat().st_size > 300_000  # past the sample Dask reads for the columns
    assert _embed_cli(minilm_int8, src, tmp_path / "out", "--scheduler", scheduler) == 2
    err = capsys.readouterr().err
    assert err.startswith("dfembed: error: Cannot read") and "--encoding latin-1" in err
    assert "the byte 0xe9 is not valid utf-8" in err
    assert not (tmp_path / "out").exists()
