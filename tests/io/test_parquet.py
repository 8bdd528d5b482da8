"""Vector columns written to parquet read back with pandas, Dask and dfembed."""

from __future__ import annotations

import dask.dataframe as dd
import numpy as np
import pandas as pd

import dfembed


def _frame(minilm_int8) -> pd.DataFrame:
    df = pd.DataFrame({"body": ["one", None, "three", "four"]}, index=["a", "b", "c", "a"])
    df["vec"] = df.embed.text("body", model=minilm_int8)
    return df


def test_pandas_round_trip(tmp_path, minilm_int8):
    df = _frame(minilm_int8)
    path = dfembed.write_parquet(df, tmp_path / "x.parquet")
    plain = pd.read_parquet(path)
    assert plain.index.tolist() == df.index.tolist()
    assert plain["vec"].iloc[1] is None
    np.testing.assert_array_equal(
        np.stack(plain["vec"].iloc[[0, 2, 3]]), dfembed.to_numpy(df["vec"])[[0, 2, 3]]
    )
    back = dfembed.read_parquet(path)
    assert isinstance(back["vec"].dtype, pd.ArrowDtype)
    np.testing.assert_array_equal(dfembed.to_numpy(back["vec"]), dfembed.to_numpy(df["vec"]))


def test_dask_partitioned_write_reads_back(tmp_path, minilm_int8):
    df = _frame(minilm_int8)
    ddf = dd.from_pandas(df, npartitions=3, sort=False)
    files = dfembed.to_parquet(ddf, tmp_path / "out")
    assert len(files) == ddf.npartitions
    back = dd.read_parquet(tmp_path / "out").compute()
    assert back.index.tolist() == df.index.tolist()
    pandas_back = dfembed.read_parquet(tmp_path / "out")
    np.testing.assert_array_equal(dfembed.to_numpy(pandas_back["vec"]), dfembed.to_numpy(df["vec"]))


def test_to_numpy_of_object_column_from_plain_read(tmp_path, minilm_int8):
    df = _frame(minilm_int8).dropna()
    dfembed.write_parquet(df, tmp_path / "y.parquet")
    plain = pd.read_parquet(tmp_path / "y.parquet")
    np.testing.assert_array_equal(dfembed.to_numpy(plain["vec"]), dfembed.to_numpy(df["vec"]))


def _vectors_part(start: int) -> pd.DataFrame:
    """A partition made where it runs: text and a 4-wide vector column, rows start..start+5."""
    from dfembed import columns

    index = pd.RangeIndex(start, start + 5)
    matrix = np.arange(start * 4, (start + 5) * 4, dtype=np.float32).reshape(5, 4)
    vec = columns.dense(matrix, np.ones(5, dtype=bool), index, "vec", 4)
    return pd.DataFrame({"text": [f"row {i}" for i in index], "vec": vec}, index=index)


def test_row_groups_are_bounded_and_vectors_skip_the_dictionary(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    from dfembed.io import parquet

    frame = pd.concat([_vectors_part(s) for s in range(0, 100, 5)])
    monkeypatch.setattr(parquet, "ROW_GROUP_BYTES", 512)
    path = dfembed.write_parquet(frame, tmp_path / "groups.parquet")
    meta = pq.ParquetFile(path).metadata
    assert meta.num_rows == 100 and meta.num_row_groups > 1
    group = meta.row_group(0)
    encodings = {group.column(i).path_in_schema: group.column(i).encodings for i in range(3)}
    assert "RLE_DICTIONARY" not in encodings["vec.list.element"]
    assert "RLE_DICTIONARY" in encodings["text"]
    back = dfembed.read_parquet(path)
    assert back.index.tolist() == frame.index.tolist()
    assert back["text"].tolist() == frame["text"].tolist()
    np.testing.assert_array_equal(dfembed.to_numpy(back["vec"]), dfembed.to_numpy(frame["vec"]))


def test_dask_write_runs_in_the_task_that_computes_each_partition(tmp_path):
    from distributed import Client, LocalCluster, get_task_stream

    meta = _vectors_part(0).iloc[:0]
    ddf = dd.from_map(_vectors_part, [0, 5, 10], meta=meta)
    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
        get_task_stream(client) as stream,
    ):
        files = dfembed.to_parquet(ddf, tmp_path / "out")
    assert [f.name for f in files] == [f"part.{i:05d}.parquet" for i in range(3)]
    # one task per partition: made and written together, so no partition waits in memory
    assert len(stream.data) == 3
    back = dfembed.read_parquet(tmp_path / "out")
    assert back.index.tolist() == list(range(15))
    np.testing.assert_array_equal(
        dfembed.to_numpy(back["vec"]), np.arange(60, dtype=np.float32).reshape(15, 4)
    )


def test_a_typeless_partition_does_not_break_reading_the_folder(tmp_path):
    # object columns (as image paths are, under convert-string=False): empty in the first
    # partition after a filter, and all missing in one partition
    import dask

    df = pd.DataFrame(
        {"path": [f"/img/{i}.png" for i in range(20)], "note": [None] * 10 + ["x"] * 10},
        dtype=object,
    ).assign(k=range(20))
    with dask.config.set({"dataframe.convert-string": False}):
        ddf = dd.from_pandas(df, npartitions=4, sort=False)
    expected = df[df.k >= 5]
    dfembed.to_parquet(ddf[ddf.k >= 5], tmp_path / "out")
    for back in (
        pd.read_parquet(tmp_path / "out"),
        dfembed.read_parquet(tmp_path / "out"),
        dd.read_parquet(tmp_path / "out").compute(),
    ):
        assert back.index.tolist() == expected.index.tolist()
        assert back["path"].tolist() == expected["path"].tolist()
        assert back["note"].isna().tolist() == expected["note"].isna().tolist()


def test_a_rerun_replaces_the_part_files_of_the_last_one(tmp_path):
    df = pd.DataFrame({"t": [f"row {i}" for i in range(12)]})
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "_notes.txt").write_text("kept")
    dfembed.to_parquet(dd.from_pandas(df, npartitions=4), tmp_path / "out")
    dfembed.to_parquet(dd.from_pandas(df, npartitions=2), tmp_path / "out")
    assert dfembed.read_parquet(tmp_path / "out")["t"].tolist() == df["t"].tolist()
    dfembed.to_parquet(df.iloc[:3], tmp_path / "out")  # pandas: one file
    assert len(pd.read_parquet(tmp_path / "out")) == 3
    assert (tmp_path / "out" / "_notes.txt").read_text() == "kept"
