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
    np.testing.assert_array_equal(np.stack(plain["vec"].iloc[[0, 2, 3]]),
                                  dfembed.to_numpy(df["vec"])[[0, 2, 3]])
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
    np.testing.assert_array_equal(dfembed.to_numpy(pandas_back["vec"]),
                                  dfembed.to_numpy(df["vec"]))


def test_to_numpy_of_object_column_from_plain_read(tmp_path, minilm_int8):
    df = _frame(minilm_int8).dropna()
    dfembed.write_parquet(df, tmp_path / "y.parquet")
    plain = pd.read_parquet(tmp_path / "y.parquet")
    np.testing.assert_array_equal(dfembed.to_numpy(plain["vec"]), dfembed.to_numpy(df["vec"]))
