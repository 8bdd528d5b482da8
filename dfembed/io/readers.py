"""Reading the tables the command line embeds: parquet, CSV and JSON lines."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..errors import InputError

FORMATS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".jsonl": "json",
    ".ndjson": "json",
    ".json": "json",
}


def table_format(path: str | Path) -> str:
    """``parquet``, ``csv`` or ``json`` from a file's suffix; any folder is read as parquet
    (``dfembed.to_parquet`` and Dask write folders of part files, named as the user likes)."""
    if Path(path).is_dir():
        return "parquet"
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(
            f"Cannot tell the format of {path}: use a .parquet, .csv or .jsonl file, or a "
            "folder of parquet files."
        )
    return FORMATS[suffix]


def read_pandas(path: str | Path) -> pd.DataFrame:
    """Read a whole table into pandas."""
    fmt = table_format(path)
    if fmt == "parquet":
        return pd.read_parquet(path)
    if fmt == "csv":
        return pd.read_csv(path)
    return pd.read_json(path, lines=True)


def read_dask(path: str | Path, blocksize: str = "16MB", min_partitions: int = 1):
    """Read a table lazily as a Dask DataFrame, partitioned by blocks of the file (parquet:
    by row group), then split into at least ``min_partitions`` partitions in row order.

    pandas writes up to a million rows per row group and small CSV files are one block, so
    without the split a typical file was one partition: one worker did everything.
    """
    import dask.dataframe as dd

    fmt = table_format(path)
    if fmt == "parquet":
        frame = dd.read_parquet(path)
    elif fmt == "csv":
        frame = dd.read_csv(path, blocksize=blocksize)
    else:
        frame = dd.read_json(path, lines=True, blocksize=blocksize)
    if frame.npartitions < min_partitions:
        frame = frame.repartition(npartitions=min_partitions)
    return frame
