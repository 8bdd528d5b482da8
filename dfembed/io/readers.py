"""Reading the tables the command line embeds: parquet, CSV and JSON lines.

Text is read exactly as written. pandas' defaults turn the CSV texts ``NA``, ``None``,
``null``, ``nan``, ``N/A``, ``#N/A``, ``<NA>`` into missing values and ``00123`` or ``1e5``
into numbers, so every CSV column is read as text, and only empty cells are missing (CSV
cannot tell an empty text from no value, and pandas writes missing values as empty cells).
JSON values keep their JSON types: strings stay strings (no number or date guessing) and
``null`` is missing. Other texts become missing only when named in
:attr:`ReadOptions.na_values`.
"""

from __future__ import annotations

import contextlib
import glob
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
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


@dataclass(frozen=True)
class ReadOptions:
    """How CSV and JSON lines are read (parquet files carry their own types).

    Parameters
    ----------
    encoding
        The text encoding of CSV and JSON files.
    na_values
        Cell texts read as missing values, besides empty CSV cells and JSON nulls.
    """

    encoding: str = "utf-8"
    na_values: tuple[str, ...] = ()


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


def _csv_options(options: ReadOptions) -> dict:
    return dict(
        dtype=str,
        keep_default_na=False,
        na_values=["", *options.na_values],
        encoding=options.encoding,
    )


def read_pandas(path: str | Path, options: ReadOptions = ReadOptions()) -> pd.DataFrame:
    """Read a whole table into pandas; a file that cannot be parsed raises
    :class:`InputError` saying what to change."""
    fmt = table_format(path)
    with _reading(path, options, fmt):
        if fmt == "parquet":
            return pd.read_parquet(path)
        if fmt == "csv":
            return pd.read_csv(path, **_csv_options(options))
        return _read_json(path, options, str(path), lines=True)


@contextlib.contextmanager
def _reading(path: str | Path, options: ReadOptions, fmt: str) -> Iterator[None]:
    """Turn the exceptions of parsing ``path`` into :class:`InputError`."""
    try:
        yield
    except InputError as exc:  # raised by our JSON reader; Dask may have wrapped its message
        raise InputError(str(exc).split("Original Message: ")[-1]) from exc.__cause__
    except Exception as exc:
        problem = read_error(exc, path, options, fmt)
        if problem is None:
            raise
        raise problem from exc


def _read_json(source, options: ReadOptions, path: str, **kwargs) -> pd.DataFrame:
    """JSON lines with their JSON types kept; ``options.na_values`` become missing."""
    try:
        frame = pd.read_json(source, dtype=False, encoding=options.encoding, **kwargs)
    except ValueError as exc:  # pandas' JSON parser raises plain ValueErrors
        if isinstance(exc, UnicodeDecodeError):
            raise
        raise InputError(
            f"Cannot read {path} as JSON lines ({exc}): each line must be one JSON object."
        ) from None
    missing = set(options.na_values)
    for name in frame.columns if missing else ():
        hits = frame[name].map(lambda value: isinstance(value, str) and value in missing)
        if hits.any():
            frame[name] = frame[name].mask(hits.astype(bool))
    return frame


def read_error(
    exc: BaseException, path: str | Path, options: ReadOptions, fmt: str | None = None
) -> InputError | None:
    """The :class:`InputError` to report for an exception raised while reading ``path`` (as
    ``fmt``, if known), or ``None`` if it is not a reading problem.

    Dask reads CSV blocks while it computes, so the command line also passes the
    exceptions of a whole run here: only decoding and CSV parsing errors count then.
    """
    import pyarrow as pa

    if isinstance(exc, UnicodeDecodeError):
        return InputError(
            f"Cannot read {path} as {options.encoding} text ({_bad_byte(exc)}). Pass the "
            "file's encoding, e.g. --encoding latin-1 (or cp1252, utf-16)."
        )
    if isinstance(exc, pd.errors.EmptyDataError):
        return InputError(f"{path} is empty: it needs a header row naming the columns.")
    if isinstance(exc, pd.errors.ParserError):
        return InputError(
            f"Cannot parse {path} as CSV ({exc}). Check that it is comma-separated with a "
            "header row, and that every quote is closed; or convert it to parquet."
        )
    if fmt == "parquet" and isinstance(exc, pa.ArrowException):
        return InputError(f"Cannot read {path} as parquet ({exc}).")
    return None


#: Bytes of a CSV file per Dask partition, where it may be split (:func:`csv_blocksize`).
BLOCKSIZE = "16MB"


def _bad_byte(exc: UnicodeDecodeError) -> str:
    """Which byte could not be decoded, from ``args``: a decoding error that came back from a
    Dask worker keeps its args but not its attributes."""
    try:
        encoding, data, start = exc.args[:3]
        return f"the byte {data[start]:#04x} is not valid {encoding} there"
    except (TypeError, IndexError, ValueError):
        return "a byte is not valid there"


def read_dask(
    path: str | Path,
    blocksize: str | int | None = None,
    min_partitions: int = 1,
    options: ReadOptions = ReadOptions(),
):
    """Read a table lazily as a Dask DataFrame, partitioned by blocks of the file (parquet:
    by row group), then split into at least ``min_partitions`` partitions in row order.

    pandas writes up to a million rows per row group and small CSV files are one block, so
    without the split a typical file was one partition: one worker did everything.

    A CSV file with any quote character is read as one block (see :func:`csv_blocksize`),
    and so is each JSON lines file, whose column types pandas infers from the values.
    """
    import dask
    import dask.dataframe as dd

    blocksize = blocksize or BLOCKSIZE
    fmt = table_format(path)
    with _reading(path, options, fmt):  # the first block is read now, for the columns
        if fmt == "parquet":
            frame = dd.read_parquet(path)
        elif fmt == "csv":
            block = csv_blocksize(path, blocksize)
            frame = dd.read_csv(path, blocksize=block, **_csv_options(options))
        else:
            # one file per task: pandas infers each block's types alone, and a column whose
            # nulls or texts first showed in a later block failed with "Metadata mismatch"
            # and values keep their JSON types: Dask's convert-string would make a number
            # or a boolean in any object column the text "5" or "True"
            engine = partial(_read_json_block, options=options, path=str(path))
            with dask.config.set({"dataframe.convert-string": False}):
                frame = dd.read_json(path, lines=True, encoding=options.encoding, engine=engine)
    if frame.npartitions < min_partitions:
        frame = frame.repartition(npartitions=min_partitions)
    return frame


def _read_json_block(source, options: ReadOptions, path: str, **kwargs) -> pd.DataFrame:
    """``engine`` of ``dd.read_json``: one file of JSON lines (opened as text already)."""
    return _read_json(source, ReadOptions(na_values=options.na_values), path, **kwargs)


def csv_blocksize(path: str | Path, blocksize: str | int) -> str | int | None:
    """``blocksize`` if Dask may split the CSV file(s) at ``path`` into blocks, else ``None``
    (one block per file).

    Dask cuts blocks at the first line break after each offset; inside a quoted field that
    break is part of a text, and the cut made pandas fail (``EOF inside string``) or could
    read the rest of the field as rows. A file without any ``"`` has no quoted fields, so
    only such files are split; files that cannot be scanned here (URLs) are not.
    """
    paths = glob.glob(str(path)) if any(char in str(path) for char in "*?[") else [path]
    if "://" in str(path) or not paths:
        return None
    for name in paths:
        with open(name, "rb") as file:
            while chunk := file.read(2**22):
                if b'"' in chunk:
                    return None
    return blocksize
