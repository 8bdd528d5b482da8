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
    assert back["id"].tolist() == [1, 2, 3]
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
    with pytest.raises(SystemExit):
        main(["text", _csv(tmp_path), *base, "--output", str(tmp_path)])
    assert f"--output {tmp_path} is a folder" in capsys.readouterr().err
    a_file = _csv(tmp_path)  # a Dask run writes a folder
    with pytest.raises(SystemExit):
        main(["text", _csv(tmp_path), *base, "--output", a_file, "--workers", "1"])
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
