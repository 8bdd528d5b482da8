"""The ``dfembed`` command on CSV, JSON lines and parquet inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import dfembed
from dfembed.cli import main


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_cli_embeds_a_file(tmp_path, minilm_int8, suffix, capsys):
    df = pd.DataFrame({"id": [1, 2, 3], "body": ["first text", "second text", None]})
    src = tmp_path / f"in{suffix}"
    {".csv": lambda: df.to_csv(src, index=False),
     ".jsonl": lambda: df.to_json(src, orient="records", lines=True),
     ".parquet": lambda: df.to_parquet(src)}[suffix]()
    out = tmp_path / "out.parquet"
    assert main(["text", str(src), "--column", "body", "--output", str(out),
                 "--model", minilm_int8]) == 0
    assert "embedded 3 rows" in capsys.readouterr().out
    back = dfembed.read_parquet(out)
    assert back["id"].tolist() == [1, 2, 3]
    assert back["embedding"].isna().tolist() == [False, False, True]
    expected = dfembed.to_numpy(df["body"].iloc[:2].embed.text(model=minilm_int8))
    np.testing.assert_allclose(dfembed.to_numpy(back["embedding"])[:2], expected, atol=1e-6)


def test_cli_reports_errors_without_traceback(tmp_path, capsys):
    src = tmp_path / "in.csv"
    pd.DataFrame({"body": ["x"]}).to_csv(src, index=False)
    code = main(["text", str(src), "--column", "bodyy", "--output", str(tmp_path / "o.parquet"),
                 "--model", str(tmp_path)])
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
