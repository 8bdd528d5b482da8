"""Parquet files with vector columns that pandas, Dask and pyarrow all read back.

pandas records an ArrowDtype's string (``fixed_size_list<item: float>[384][pyarrow]``) in the
file's metadata and cannot parse it back (pandas #57411): reading such a file raises
``NotImplementedError``. The Arrow schema already says everything, so the writer marks those
columns as plain ``object`` in the pandas metadata: pandas then reads them as arrays (or as
ArrowDtype with ``dtype_backend="pyarrow"``) and :func:`read_parquet` restores ArrowDtype.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


def arrow_table(frame: pd.DataFrame) -> pa.Table:
    """``frame`` as an Arrow table whose pandas metadata every reader can parse."""
    table = pa.Table.from_pandas(frame, preserve_index=True)
    meta = table.schema.metadata or {}
    if b"pandas" not in meta:
        return table
    pandas_meta = json.loads(meta[b"pandas"])
    for col in pandas_meta.get("columns", []):
        if str(col.get("numpy_type", "")).endswith("[pyarrow]") and "<" in col["numpy_type"]:
            col["numpy_type"] = "object"
    return table.replace_schema_metadata({**meta, b"pandas": json.dumps(pandas_meta).encode()})


def write_parquet(frame: pd.DataFrame | pd.Series, path: str | Path) -> Path:
    """Write one pandas frame (its index kept) to one parquet file."""
    if isinstance(frame, pd.Series):
        frame = frame.to_frame()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(arrow_table(frame), path)
    return path


def read_parquet(path: str | Path) -> pd.DataFrame:
    """Read a file or folder written by dfembed, vector columns as ``pd.ArrowDtype``."""
    table = pq.read_table(path)
    return table.to_pandas(types_mapper=lambda t: pd.ArrowDtype(t) if _nested(t) else None)


def _nested(arrow_type: pa.DataType) -> bool:
    return (
        pa.types.is_fixed_size_list(arrow_type)
        or pa.types.is_list(arrow_type)
        or pa.types.is_struct(arrow_type)
    )


def to_parquet(frame, path: str | Path) -> list[Path]:
    """Write a pandas or Dask frame to a folder of parquet files, one per partition.

    A Dask frame is written partition by partition on the workers (nothing is gathered
    on one machine), so outputs larger than any worker's memory stream to disk. Returns
    the files written, in partition order.
    """
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(frame, (pd.DataFrame, pd.Series)):
        return [write_parquet(frame, folder / "part.00000.parquet")]
    import dask

    parts = frame.to_delayed()
    writes = [
        dask.delayed(write_parquet)(part, folder / f"part.{i:05d}.parquet")
        for i, part in enumerate(parts)
    ]
    return list(dask.compute(*writes))


def row_count(path: str | Path) -> int:
    """Rows in a parquet file, from its footer."""
    return pq.ParquetFile(path).metadata.num_rows
