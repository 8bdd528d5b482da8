"""The ``dfembed`` command: embed a column of a parquet/CSV/JSONL file into parquet.

Examples::

    dfembed text reviews.csv --column body --output vectors.parquet
    dfembed text big.parquet --column body --output out.parquet --scheduler tcp://host:8786
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from .errors import DfembedError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dfembed", description=__doc__.splitlines()[0])
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
    text.add_argument("--max-length", type=int, default=None)
    text.add_argument("--batch-size", type=int, default=None)
    text.add_argument("--query", action="store_true", help="embed as search queries")
    text.add_argument("--cuda", choices=["false", "true", "auto"], default="false")
    text.add_argument("--device-ids", default=None, help="comma-separated GPUs for workers")
    where = text.add_mutually_exclusive_group()
    where.add_argument("--scheduler", default=None, help="address of a running Dask scheduler")
    where.add_argument(
        "--workers",
        type=int,
        default=None,
        help="start a local Dask cluster of this many worker processes",
    )
    text.add_argument("--progress", action="store_true")
    text.add_argument(
        "--cache",
        default=None,
        help="folder of the persistent embedding cache: a rerun embeds only new texts",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        rows, seconds, where = _run_text(args)
    except DfembedError as exc:
        print(f"dfembed: error: {exc}", file=sys.stderr)
        return 2
    print(
        f"embedded {rows} rows in {seconds:.1f} s ({rows / max(seconds, 1e-9):.0f} rows/s) "
        f"{where} -> {args.output}"
    )
    return 0


def _run_text(args) -> tuple[int, float, str]:
    import dfembed  # noqa: F401 - registers the accessor

    from .io import parquet, readers

    cuda = {"false": False, "true": True, "auto": "auto"}[args.cuda]
    device_ids = [int(d) for d in args.device_ids.split(",")] if args.device_ids else None
    kwargs = dict(
        model=args.model,
        revision=args.revision,
        max_length=args.max_length,
        batch_size=args.batch_size,
        query=args.query,
        cuda=cuda,
        device_ids=device_ids,
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
            frame = readers.read_dask(args.input)
            frame = frame.assign(**{args.vector_column: frame.embed.text(args.column, **kwargs)})
            with span("dfembed", "text"):
                files = parquet.to_parquet(frame, args.output)
        rows = sum(parquet.row_count(f) for f in files)
    finally:
        if args.scheduler:
            client.close()
    return rows, time.perf_counter() - started, f"on Dask ({len(files)} partitions)"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
