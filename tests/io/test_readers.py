"""Tables the command line reads: text kept as written, and Dask partitions that agree."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from dfembed import InputError
from dfembed.io import readers
from tests.test_cli import _reviews


def test_quoted_line_breaks_survive_dask_blocks(tmp_path):
    """16 MB blocks cut quoted multi-line fields: pandas failed with ``EOF inside string``."""
    src = tmp_path / "reviews.csv"
    _reviews(400).to_csv(src, index=False)
    assert src.stat().st_size > 10 * 2048
    frame = readers.read_dask(src, blocksize=2048, min_partitions=4)
    assert frame.npartitions >= 4
    back = frame.compute(scheduler="sync")
    assert back["body"].tolist() == _reviews(400)["body"].tolist()
    assert back["id"].tolist() == _reviews(400)["id"].tolist()
    assert back.index.tolist() == list(range(400))


def test_a_csv_without_quotes_is_still_split_into_blocks(tmp_path):
    plain = tmp_path / "plain.csv"
    pd.DataFrame({"body": [f"line {i}" for i in range(2000)]}).to_csv(plain, index=False)
    assert readers.csv_blocksize(plain, 2048) == 2048
    frame = readers.read_dask(plain, blocksize=2048)
    assert frame.npartitions > 4
    assert frame.compute(scheduler="sync")["body"].tolist() == [f"line {i}" for i in range(2000)]


def test_json_lines_on_dask_keep_json_types_across_blocks(tmp_path):
    """A column whose null or text first shows late failed with "Metadata mismatch"."""
    rows = [{"body": None, "flag": True, "n": 1}] * 300
    rows += [{"body": "NA", "flag": None, "n": None}, {"body": "00123", "flag": False, "n": 3}]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(row) + "\n" for row in rows))
    options = readers.ReadOptions(na_values=("00123",))
    back = readers.read_dask(src, blocksize=1000, min_partitions=3, options=options)
    back = back.compute(scheduler="sync")
    expected = readers.read_pandas(src, options)
    assert back["body"].isna().tolist() == [True] * 300 + [False, True]
    assert back["flag"].tolist()[-1] is False and back["flag"].iloc[0] is True
    pd.testing.assert_frame_equal(back.reset_index(drop=True), expected)


def test_a_broken_json_line_is_an_input_error_naming_the_file(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"body": "one"}\n{"body": \n')
    for read in (readers.read_pandas, readers.read_dask):
        with pytest.raises(InputError, match=r"^Cannot read .*in.jsonl as JSON lines"):
            read(src)
