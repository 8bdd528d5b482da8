"""The ``dfembed`` command: embed a column of a parquet/CSV/JSONL file into parquet.

Examples::

    dfembed text reviews.csv --column body --output vectors.parquet
    dfembed text big.parquet --column body --output out.parquet --scheduler tcp://host:8786
"""

from __future__ import annotations

import argparse
import codecs
import glob
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from .encoders.kinds import KINDS
from .errors import DfembedError
from .spec import check_count, check_device_ids

#: The kind the ``text`` command runs.
TEXT = KINDS["text"]


def _count(minimum: int) -> Callable[[str], int]:
    """An argparse type: an int of at least ``minimum``, checked as the accessor checks it."""

    def parse(text: str) -> int:
        try:
            return check_count(int(text), "the value", minimum)
        except ValueError:  # not a number, or too small
            raise argparse.ArgumentTypeError(
                f"expected an int >= {minimum}, not {text!r}"
            ) from None

    return parse


def _gpus(text: str) -> list[int]:
    """An argparse type: comma-separated GPU numbers, such as ``0,1``."""
    try:
        return list(check_device_ids([int(part) for part in text.split(",")]))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated GPU numbers such as 0,1, not {text!r}"
        ) from None


def _folder(text: str) -> str:
    """An argparse type: a folder path, which may not be empty."""
    if not text:
        raise argparse.ArgumentTypeError("expected a folder path, not an empty string")
    return text


def _encoding(text: str) -> str:
    """An argparse type: a text encoding Python knows, such as ``latin-1``."""
    try:
        return codecs.lookup(text).name
    except LookupError:
        raise argparse.ArgumentTypeError(
            f"unknown encoding {text!r}: use a name such as utf-8, latin-1, cp1252"
        ) from None


def _texts(text: str) -> tuple[str, ...]:
    """An argparse type: comma-separated cell texts, such as ``NA,N/A``."""
    return tuple(text.split(","))


def build_parser() -> argparse.ArgumentParser:
    """The ``dfembed`` argument parser (its ``text`` command)."""
    description = __doc__.splitlines()[0].replace("``", "")  # plain text in --help
    parser = argparse.ArgumentParser(prog="dfembed", description=description)
    sub = parser.add_subparsers(dest="command", required=True)
    text = sub.add_parser(TEXT.name, help="dense text embeddings of one column")
    text.add_argument("input", help="a .parquet, .csv or .jsonl file (or parquet folder)")
    text.add_argument("--column", required=True, help="the column to embed")
    text.add_argument(
        "--output",
        required=True,
        help="a .parquet file (or a folder, on Dask); never an input, nor in or around one",
    )
    text.add_argument(
        "--encoding",
        type=_encoding,
        default="utf-8",
        help="text encoding of a CSV or JSON lines input (default utf-8)",
    )
    text.add_argument(
        "--na-values",
        type=_texts,
        default=(),
        metavar="TEXTS",
        help="comma-separated CSV or JSON cell texts to read as missing, such as NA,N/A (by "
        "default every text is kept as written; empty CSV cells and JSON nulls are missing)",
    )
    text.add_argument(
        "--model",
        default=TEXT.default_model,
        help="registry name, hub repository id or local folder",
    )
    text.add_argument("--revision", default=None)
    text.add_argument("--vector-column", default="embedding", help="name of the output column")
    text.add_argument("--max-length", type=_count(TEXT.min_max_length), default=None)
    text.add_argument("--batch-size", type=_count(1), default=None)
    text.add_argument("--query", action="store_true", help="embed as search queries")
    text.add_argument("--cuda", choices=["false", "true", "auto"], default="false")
    text.add_argument(
        "--device-ids", type=_gpus, default=None, help="comma-separated GPUs for workers"
    )
    where = text.add_mutually_exclusive_group()
    where.add_argument("--scheduler", default=None, help="address of a running Dask scheduler")
    where.add_argument(
        "--workers",
        type=_count(0),
        default=None,
        help="start a local Dask cluster of this many worker processes (0: one per core)",
    )
    text.add_argument("--progress", action="store_true")
    text.add_argument(
        "--cache",
        type=_folder,
        default=None,
        help="folder of the persistent embedding cache: a rerun embeds only new texts",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; 0 on success, 2 (as argparse) for an error it reports."""
    parser = build_parser()
    args = parser.parse_args(argv)
    problem = _usage_problem(args)
    if problem:
        parser.error(problem)  # exits with status 2
    try:
        rows, seconds, where = _run_text(args)
    except (DfembedError, OSError) as exc:
        print(f"dfembed: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # Dask parses CSV blocks while it computes
        from .io import readers

        problem = readers.read_error(exc, args.input, _read_options(args))
        if problem is None:
            raise
        print(f"dfembed: error: {problem}", file=sys.stderr)
        return 2
    print(
        f"embedded {rows} rows in {seconds:.1f} s ({rows / max(seconds, 1e-9):.0f} rows/s) "
        f"{where} -> {args.output}"
    )
    return 0


def _usage_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the input, the output or the column names, found before any work."""
    if _is_local(args.input) and not Path(args.input).exists():
        return f"the input {args.input} does not exist"
    if args.vector_column == args.column:
        return (
            f"--vector-column {args.vector_column} would overwrite the input column: "
            "name the output column differently"
        )
    output = Path(args.output)
    problem = _overlap_problem(args.input, output)
    if problem:
        return problem
    in_process = args.scheduler is None and args.workers is None
    if in_process and output.is_dir():
        return f"--output {output} is a folder: name a .parquet file (folders are for Dask runs)"
    if in_process and output.suffix.lower() not in (".parquet", ".pq"):
        return f"--output {output} is written as parquet: name a .parquet or .pq file"
    if not in_process and output.is_file():
        return f"--output {output} is a file: a Dask run writes a folder of part files"
    if in_process:
        return None
    from .io import output as folders

    try:
        folders.previous_parts(output)
    except DfembedError as exc:
        return str(exc)
    return None


def _overlap_problem(source: str, output: Path) -> str | None:
    """Whether writing ``output`` would replace, or mix with, the input (symlinks resolved)."""
    if "://" in source:
        return None  # not on this file system
    target = output.resolve()
    inputs = glob.glob(source) if any(char in source for char in "*?[") else [source]
    for name in inputs:
        path = Path(name).resolve()
        if path == target:
            return f"--output {output} is the input {name}: name a new file or folder"
        if path in target.parents:
            return (
                f"--output {output} lies inside the input folder {name}: it would be read as "
                "input by the next run; write it elsewhere"
            )
        if target in path.parents:
            return (
                f"the input {name} lies inside the --output folder {output}: choose an output "
                "folder that holds no input"
            )
    return None


def _is_local(path: str) -> bool:
    """Whether ``path`` names one local file or folder (not a URL or a glob pattern)."""
    return "://" not in path and not any(char in path for char in "*?[")


def _read_options(args: argparse.Namespace):
    from .io.readers import ReadOptions

    return ReadOptions(encoding=args.encoding, na_values=args.na_values)


def _run_text(args) -> tuple[int, float, str]:
    import dfembed  # noqa: F401 - registers the accessor

    from .io import parquet, readers

    cuda = {"false": False, "true": True, "auto": "auto"}[args.cuda]
    kwargs = dict(
        model=args.model,
        revision=args.revision,
        max_length=args.max_length,
        batch_size=args.batch_size,
        query=args.query,
        cuda=cuda,
        device_ids=args.device_ids,
        progress=args.progress,
        cache=args.cache,
        name=args.vector_column,
    )
    options = _read_options(args)
    started = time.perf_counter()
    if args.scheduler is None and args.workers is None:
        frame = readers.read_pandas(args.input, options)
        frame[args.vector_column] = frame.embed.text(args.column, **kwargs)
        parquet.write_parquet(frame, args.output)
        return len(frame), time.perf_counter() - started, "in process"
    from distributed import Client, span

    from .engine.cluster import client_for

    client = Client(args.scheduler) if args.scheduler else client_for(args.workers)
    try:
        with client.as_current():
            slots = sum(client.nthreads().values())  # at least two partitions per thread
            frame = readers.read_dask(args.input, min_partitions=2 * max(1, slots), options=options)
            frame = frame.assign(**{args.vector_column: frame.embed.text(args.column, **kwargs)})
            with span("dfembed", TEXT.name), warnings.catch_warnings():
                # to_parquet builds its graph inside the span, and dask-expr warns (once per
                # process) that it ignores annotations on graph building; the span still
                # groups the compute, which distributed tags when the graph is submitted
                warnings.filterwarnings(
                    "ignore", message="Dask annotations .* detected", category=UserWarning
                )
                files = parquet.to_parquet(frame, args.output)
        rows = sum(parquet.row_count(f) for f in files)
    finally:
        if args.scheduler:
            client.close()
    return rows, time.perf_counter() - started, f"on Dask ({len(files)} partitions)"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
