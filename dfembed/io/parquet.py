"""Parquet files with vector columns that pandas, Dask and pyarrow all read back.

pandas records an ArrowDtype's string (``fixed_size_list<item: float>[384][pyarrow]``) in the
file's metadata and cannot parse it back (pandas #57411): reading such a file raises
``NotImplementedError``. The Arrow schema already says everything, so the writer marks those
columns as plain ``object`` in the pandas metadata: pandas then reads them as arrays (or as
ArrowDtype with ``dtype_backend="pyarrow"``) and :func:`read_parquet` restores ArrowDtype.

Files are written in row groups of about :data:`ROW_GROUP_BYTES`: the writer buffers a whole
row group per column, so a 100,000 x 384 partition written as one row group took Arrow's
memory pool to ~290 MB on top of the partition, where 8 MB row groups take it to ~20 MB.
Float vector columns skip dictionary encoding, which only adds a dictionary page to values
that are all distinct. A Dask frame is written by the task that computes each partition
(:func:`to_parquet`), so a worker holds only the partitions it is computing; the folder's
safety (staging, manifest, what a rerun removes) is :mod:`dfembed.io.output`'s job.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..runtime.memory import release_free_memory
from . import output


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


#: Bytes of Arrow data per parquet row group (about 5,000 rows of 384 float32 values and text).
ROW_GROUP_BYTES = 8 * 2**20


def _float_vectors(arrow_type: pa.DataType) -> bool:
    """Whether a column holds float vectors: fixed-size lists of floats, or lists of those."""
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        arrow_type = arrow_type.value_type
    return pa.types.is_fixed_size_list(arrow_type) and pa.types.is_floating(arrow_type.value_type)


def dictionary_columns(table: pa.Table) -> list[str]:
    """Parquet leaf columns worth a dictionary: every one but the values of float vectors.

    Leaf paths come from the parquet schema of ``table``'s (empty) schema, so nested names
    (``vec.list.element``) are spelled the way the writer spells them.
    """
    sink = pa.BufferOutputStream()
    pq.write_table(table.schema.empty_table(), sink)
    schema = pq.ParquetFile(pa.BufferReader(sink.getvalue())).schema
    vector_names = {field.name for field in table.schema if _float_vectors(field.type)}
    vector_leaves = {f"{name}.list.element" for name in vector_names} | {
        f"{name}.list.element.list.element" for name in vector_names
    }
    paths = (schema.column(i).path for i in range(len(schema)))
    return [path for path in paths if path not in vector_leaves]


def write_parquet(frame: pd.DataFrame | pd.Series, path: str | Path) -> Path:
    """Write one pandas frame (its index kept) to one parquet file, in bounded row groups.

    The file is written under a hidden name beside ``path`` and renamed over it once
    complete, so a failed write leaves a file already at ``path`` as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.dfembed-{uuid.uuid4().hex[:12]}")
    try:
        _write_file(frame, temporary)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def _write_file(frame: pd.DataFrame | pd.Series, path: Path) -> None:
    """Write ``frame`` to ``path`` (in a folder that exists), in bounded row groups."""
    if isinstance(frame, pd.Series):
        frame = frame.to_frame()
    table = arrow_table(frame)
    rows = max(1, ROW_GROUP_BYTES * table.num_rows // max(table.nbytes, 1))
    pq.write_table(table, path, row_group_size=rows, use_dictionary=dictionary_columns(table))
    # Arrow's allocator keeps what the writer (and pandas' string columns) freed; a worker
    # streaming partitions kept ~80 MB more between partitions without this
    release_free_memory()


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

    The parts are written into a hidden folder beside ``path`` and moved into ``path``
    only once all are written (:mod:`dfembed.io.output`): a failed call leaves an earlier
    output whole. Part files an earlier call wrote there (named in the folder's
    ``_dfembed_manifest.json``) are then removed, since a rerun with fewer partitions
    would otherwise read back old rows too; other files are left alone, and a folder
    holding parquet files dfembed did not write is refused (:class:`OutputError`). On a
    multi-node cluster, ``path``'s parent must be storage that every worker and the
    calling process share: workers write the parts, the calling process moves them.

    Each partition is written by the task that computes it: ``map_partitions`` and
    ``to_delayed``, which fuses the steps of each partition into one task (a distributed
    ``compute()`` does not fuse). With a separate write task per partition, workers computed
    further partitions before writing finished ones, and moved partitions between workers to
    write them; a fused task holds one partition and returns only a file name.
    """
    folder = Path(path).resolve()  # absolute: workers may not share the caller's cwd
    old = output.previous_parts(folder)
    with output.staging(folder) as stage:
        if isinstance(frame, (pd.DataFrame, pd.Series)):
            _write_file(frame, stage / output.part_name(0))
            return output.swap_in(stage, folder, [output.part_name(0)], old)
        import dask

        written = frame.map_partitions(
            _write_partition,
            str(stage),
            meta=pd.Series([], dtype=object),
            align_dataframes=False,
            enforce_metadata=False,
        )
        parts = dask.compute(*written.to_delayed())
        files = [Path(name) for part in parts for name in part.iloc[:1]]
        schemas = [pa.ipc.read_schema(pa.py_buffer(part.iloc[1])) for part in parts]
        _conform(files, schemas)
        return output.swap_in(stage, folder, [file.name for file in files], old)


def _write_partition(
    part: pd.DataFrame | pd.Series, folder: str, partition_info: dict | None = None
) -> pd.Series:
    """Write one partition where it was computed: its file's path and Arrow schema (bytes).

    The staging folder is not created here: if the call already failed and removed it, a
    task still running fails too instead of leaving files behind.
    """
    number = partition_info["number"] if partition_info is not None else 0
    written = Path(folder) / output.part_name(number)
    _write_file(part, written)
    schema = pq.read_schema(written).serialize().to_pybytes()
    return pd.Series([str(written), schema], dtype=object)


def _conform(files: list[Path], schemas: list[pa.Schema]) -> None:
    """Give typeless columns the type other parts found, so every reader reads the folder.

    Arrow infers each partition's schema alone: an ``object`` column that is empty or all
    missing in one partition is written as type ``null`` there and ``string`` elsewhere,
    and pandas and pyarrow, which take the first file's schema, then refuse to cast the
    others to ``null``. Only those files are rewritten, by a task each, since the workers
    are the ones that see the folder on a multi-node cluster.
    """
    import dask

    typed: dict[str, pa.DataType] = {}
    for schema in schemas:
        for field in schema:
            if not pa.types.is_null(field.type):
                typed.setdefault(field.name, field.type)
    fixes = [
        dask.delayed(_retype, pure=False)(str(file), {f.name: typed[f.name] for f in nulls})
        for file, schema in zip(files, schemas, strict=True)
        if (nulls := [f for f in schema if pa.types.is_null(f.type) and f.name in typed])
    ]
    if fixes:
        dask.compute(*fixes)


def _retype(path: str, types: dict[str, pa.DataType]) -> None:
    """Rewrite one part file with its ``null`` columns cast to ``types``: every value in them
    is missing, so the cast changes no value, only the declared type."""
    table = pq.read_table(path)
    target = pa.schema(
        [field.with_type(types.get(field.name, field.type)) for field in table.schema],
        metadata=table.schema.metadata,
    )
    pq.write_table(table.cast(target), path, use_dictionary=dictionary_columns(table))


def row_count(path: str | Path) -> int:
    """Rows in a parquet file, from its footer."""
    return pq.ParquetFile(path).metadata.num_rows
