"""The ``dfembed`` command: embed a column of a parquet/CSV/JSONL file into parquet.

Examples::

    dfembed text reviews.csv --column body --output vectors.parquet
    dfembed text big.parquet --column body --output out.parquet --scheduler tcp://host:8786
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from .errors import DfembedError
from .spec import MIN_MAX_LENGTH, check_count, check_device_ids


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


def build_parser() -> argparse.ArgumentParser:
    """The ``dfembed`` argument parser (its ``text`` command)."""
    description = __doc__.splitlines()[0].replace("``", "")  # plain text in --help
    parser = argparse.ArgumentParser(prog="dfembed", description=description)
    sub = parser.add_subparsers(dest="command", required=True)
    text = sub.add_parser("text", help="dense text embeddings of one column")
    text.add_argument("input", help="a .parquet, .csv or .jsonl file (or parquet folder)")
    text.add_argument("--column", required=True, help="the column to embed")
    text.add_argument("--output", required=True, help="parquet file (or folder, on Dask)")
    text.add_argument(
        "--model",
        default="all-MiniLM-L6-v2",
        help="registry name, hub repository id or local folder",
    )
    text.add_argument("--revision", default=None)
    text.add_argument("--vector-column", default="embedding", help="name of the output column")
    text.add_argument("--max-length", type=_count(MIN_MAX_LENGTH["text"]), default=None)
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
    in_process = args.scheduler is None and args.workers is None
    if in_process and output.is_dir():
        return f"--output {output} is a folder: name a .parquet file (folders are for Dask runs)"
    if not in_process and output.is_file():
        return f"--output {output} is a file: a Dask run writes a folder of part files"
    return None


def _is_local(path: str) -> bool:
    """Whether ``path`` names one local file or folder (not a URL or a glob pattern)."""
    return "://" not in path and not any(char in path for char in "*?[")


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
    started = time.perf_counter()
    if args.scheduler is None and args.workers is None:
        frame = readers.read_pandas(args.input)
        frame[args.vector_column] = frame.embed.text(args.column, **kwargs)
        parquet.write_parquet(frame, args.output)
        return len(frame), time.perf_counter() - started, "in process"
    from distributed import Client, span

    from .engine.cluster import client_for

    client = Client(args.scheduler) if args.scheduler else client_for(args.workers)
    try:
        with client.as_current():
            slots = sum(client.nthreads().values())  # at least two partitions per thread
            frame = readers.read_dask(args.input, min_partitions=2 * max(1, slots))
            frame = frame.assign(**{args.vector_column: frame.embed.text(args.column, **kwargs)})
            with span("dfembed", "text"), warnings.catch_warnings():
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
