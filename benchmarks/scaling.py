"""Scaling: in process vs 1 and 2 Dask workers, and peak RSS per worker streaming to parquet.

1. **Workers and Dask overhead.** Rotten Tomatoes snippets repeated to 20,000 rows, each
   copy given a unique suffix (" #123", about 3 extra tokens) so deduplication cannot
   shortcut the work. Runs, each in a fresh child process and interleaved by round:
   in process with 1 ONNX Runtime thread, a LocalCluster of 1 worker, one of 2 workers
   (``threads_per_worker=1``, 1 ORT thread each, through ``df.embed.text(parallel=...)``),
   and (``--threads2``) in process with 2 threads. Dask overhead = 1-worker time ÷ in-process
   1-thread time − 1. Model load and a warm-up are outside the timed pass.
2. **Streaming.** 1,000,000 rows (2,000 distinct snippets repeated as they are: a
   duplicate-heavy stream, so each partition embeds its distinct texts once; ``--distinct``
   changes how many) generated on the workers
   with ``dd.from_map``, embedded on 2 workers and written with ``dfembed.to_parquet``
   partition by partition. Peak RSS per worker is the worker process's own ``ru_maxrss``.
3. **Skew** (``--skew``). Half as many rows, sorted longest first, on 2 workers: Dask's
   equal-row partitions (``dd.from_pandas(npartitions=4)``) against pandas ``parallel=2``,
   which cuts slices of equal estimated work.

Run::

    .venv/bin/python -m benchmarks.scaling            # 20k rows + 1M-row stream
    .venv/bin/python -m benchmarks.scaling --quick    # 4k rows + 50k-row stream
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from . import common
from .common import Contender, interleave, median_of

_corpus_cache: dict[str, list[str]] = {}


def _worker_rss() -> dict[str, float]:
    """Run on a worker: its current and peak RSS in MiB."""
    import psutil

    return {
        "rss_mb": psutil.Process().memory_info().rss / 2**20,
        "peak_rss_mb": common.peak_rss_mb(),
    }


def _cluster(workers: int, local_dir: str):
    """The cluster ``parallel=workers`` would start (its Dask settings too), with a client."""
    from distributed import Client

    from dfembed.engine.cluster import local_cluster

    cluster = local_cluster(workers, local_dir)
    return cluster, Client(cluster)


def dask_run(corpus: str, model: str, workers: int, max_length: int, local_dir: str) -> dict:
    """In a child: time ``df.embed.text(parallel=workers)`` on a fresh LocalCluster."""
    import pandas as pd

    import dfembed  # noqa: F401 - registers the accessor

    texts = common.load_texts(corpus)
    frame = pd.DataFrame({"text": texts})
    cluster, client = _cluster(workers, local_dir)
    try:
        options = {"model": model, "threads": 1, "max_length": max_length, "parallel": workers}
        started = time.perf_counter()
        # the warm-up has a partition for every worker, so every worker loads the model
        frame.head(32 * workers).embed.text("text", **options)
        load_s = time.perf_counter() - started
        started = time.perf_counter()
        out = frame.embed.text("text", **options)
        seconds = time.perf_counter() - started
        if len(out) != len(frame) or out.isna().any():
            raise AssertionError("the Dask result lost rows")
        rss = client.run(_worker_rss)
    finally:
        client.close()
        cluster.close()
    peak = max(r["peak_rss_mb"] for r in rss.values())
    return {"seconds": seconds, "load_s": load_s, "worker_peak_rss_mb": peak}


def skew_run(corpus: str, model: str, max_length: int, local_dir: str, balanced: bool) -> dict:
    """In a child: 2 workers on a table sorted longest first, 4 partitions.

    ``balanced``: pandas ``parallel=2`` (dfembed cuts slices of equal estimated work);
    otherwise ``dd.from_pandas(npartitions=4)`` (equal rows) and ``ddf.embed.text``.
    """
    import dask
    import dask.dataframe as dd
    import pandas as pd

    import dfembed  # noqa: F401 - registers the accessor

    frame = pd.DataFrame({"text": common.load_texts(corpus)})
    cluster, client = _cluster(2, local_dir)
    try:
        options = {"model": model, "threads": 1, "max_length": max_length}
        frame.head(64).embed.text("text", parallel=2, **options)  # both workers load
        started = time.perf_counter()
        if balanced:
            out = frame.embed.text("text", parallel=2, **options)
        else:
            with dask.config.set({"dataframe.convert-string": False}):
                ddf = dd.from_pandas(frame, npartitions=4, sort=False)
            out = ddf.embed.text("text", **options).compute()
        seconds = time.perf_counter() - started
        if len(out) != len(frame) or out.isna().any():
            raise AssertionError("the Dask result lost rows")
    finally:
        client.close()
        cluster.close()
    return {"seconds": seconds}


def _stream_partition(corpus: str, start: int, rows: int):
    """One partition of the stream, made where it runs: the corpus repeated from ``start``."""
    import pandas as pd

    texts = _corpus_cache.get(corpus)
    if texts is None:
        texts = _corpus_cache.setdefault(corpus, common.load_texts(corpus))
    n = len(texts)
    values = [texts[(start + j) % n] for j in range(rows)]
    return pd.DataFrame({"text": values}, index=pd.RangeIndex(start, start + rows))


def stream_run(
    corpus: str,
    model: str,
    rows: int,
    partition_rows: int,
    workers: int,
    max_length: int,
    out_dir: str,
    local_dir: str,
) -> dict:
    """In a child: stream ``rows`` rows through 2 workers to parquet; per-worker peak RSS."""
    import dask.dataframe as dd
    import pandas as pd

    import dfembed
    from dfembed.io.parquet import row_count

    starts = list(range(0, rows, partition_rows))
    sizes = [min(partition_rows, rows - s) for s in starts]
    meta = pd.DataFrame({"text": pd.Series([], dtype=object)}, index=pd.RangeIndex(0))
    cluster, client = _cluster(workers, local_dir)
    try:
        warm = pd.DataFrame({"text": common.load_texts(corpus)[: 32 * workers]})
        warm.embed.text("text", model=model, threads=1, max_length=max_length, parallel=workers)
        after_load = client.run(_worker_rss)
        ddf = dd.from_map(_stream_partition, [corpus] * len(starts), starts, sizes, meta=meta)
        ddf = ddf.assign(vec=ddf.embed.text("text", model=model, threads=1, max_length=max_length))
        started = time.perf_counter()
        files = dfembed.to_parquet(ddf, out_dir)
        seconds = time.perf_counter() - started
        peak = client.run(_worker_rss)
    finally:
        client.close()
        cluster.close()
    written = sum(row_count(f) for f in files)
    if written != rows:
        raise AssertionError(f"wrote {written} rows, expected {rows}")
    size = sum(Path(f).stat().st_size for f in files)
    return {
        "seconds": seconds,
        "files": len(files),
        "parquet_mb": size / 2**20,
        "after_load_mb": [r["rss_mb"] for r in after_load.values()],
        "worker_peak_rss_mb": [r["peak_rss_mb"] for r in peak.values()],
    }


def unique_rows(texts: list[str], rows: int) -> list[str]:
    """``rows`` texts: the corpus repeated, each copy after the first with a unique suffix."""
    n = len(texts)
    return [texts[i % n] if i < n else f"{texts[i % n]} #{i // n}" for i in range(rows)]


def main(argv: list[str] | None = None) -> int:
    """Run both parts and print their tables."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scaling")
    parser.add_argument("--quick", action="store_true", help="4k rows; 50k-row stream")
    parser.add_argument("--scale-rows", type=int, default=None, help="default 20,000")
    parser.add_argument("--rows", type=int, default=None, help="streamed rows (default 1M)")
    parser.add_argument("--partition-rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--model", default="minilm-fp32", help="offline model name")
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument(
        "--threads2", action="store_true", help="also run in process with 2 ORT threads"
    )
    parser.add_argument(
        "--distinct",
        type=int,
        default=2_000,
        help="distinct snippets the stream repeats (default 2,000 of 5,019: each partition "
        "embeds these once, which keeps the default run short)",
    )
    parser.add_argument("--skip-scaling", action="store_true")
    parser.add_argument(
        "--skew", action="store_true", help="also: 2 workers on the table sorted longest first"
    )
    parser.add_argument("--skip-stream", action="store_true")
    args = parser.parse_args(argv)
    scale_rows = args.scale_rows or (4_000 if args.quick else 20_000)
    rows = args.rows or (50_000 if args.quick else 1_000_000)
    partition_rows = min(args.partition_rows, 10_000 if args.quick else args.partition_rows)

    common.set_thread_env(1)
    from tools.datasets import rotten_tomatoes
    from tools.offline_models import build

    model = str(build(args.model))
    model_mb = (Path(model) / "model.onnx").stat().st_size / 2**20
    tmp = Path(tempfile.mkdtemp(prefix="dfembed-scaling-"))
    local_dir = str(tmp / "dask")
    base = rotten_tomatoes()["text"].drop_duplicates().tolist()
    print(common.header(f"Scaling: {args.model} ({model_mb:.0f} MB), truncation 256"))
    if not args.skip_scaling:
        corpus = common.save_texts(unique_rows(base, scale_rows), tmp / "scale.json")
        scaling(corpus, model, scale_rows, args.rounds, args.max_length, local_dir, args.threads2)
    if args.skew:
        texts = unique_rows(base, scale_rows // 2)
        lengths = common.token_lengths(texts, Path(model) / "tokenizer.json", args.max_length)
        ordered = [texts[i] for i in sorted(range(len(texts)), key=lambda i: -lengths[i])]
        corpus = common.save_texts(ordered, tmp / "skew.json")
        skew(corpus, model, len(ordered), args.rounds, args.max_length, local_dir)
    if not args.skip_stream:
        corpus = common.save_texts(base[: args.distinct], tmp / "stream.json")
        stream(corpus, model, model_mb, rows, partition_rows, args.max_length, tmp, local_dir)
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


def scaling(
    corpus: str,
    model: str,
    rows: int,
    rounds: int,
    max_length: int,
    local_dir: str,
    threads2: bool = False,
) -> None:
    """Part 1: in process vs 1 and 2 workers; print the table."""
    common_kw = {"corpus": corpus, "model": model, "max_length": max_length}
    runs = [
        Contender(
            "in process, 1 thread",
            "benchmarks.contenders:dfembed_text",
            {**common_kw, "threads": 1},
        ),
        Contender(
            "Dask, 1 worker x 1 thread",
            "benchmarks.scaling:dask_run",
            {**common_kw, "workers": 1, "local_dir": local_dir},
        ),
        Contender(
            "Dask, 2 workers x 1 thread",
            "benchmarks.scaling:dask_run",
            {**common_kw, "workers": 2, "local_dir": local_dir},
        ),
    ]
    if threads2:
        runs.append(
            Contender(
                "in process, 2 threads",
                "benchmarks.contenders:dfembed_text",
                {**common_kw, "threads": 2},
            )
        )
    print(f"\n{rows:,} rows (Rotten Tomatoes, repeated with unique suffixes), {rounds} round(s)")
    results = interleave(runs, rounds)
    seconds = {name: median_of(r, "seconds") for name, r in results.items()}
    one = seconds["in process, 1 thread"]
    table_rows = []
    for name, runs_ in results.items():
        rss = common.max_of(runs_, "worker_peak_rss_mb")
        if rss != rss:  # in process: the process itself
            rss = common.max_of(runs_, "peak_rss_mb")
        table_rows.append([name, seconds[name], rows / seconds[name], one / seconds[name], rss])
    print()
    headers = ["run", "seconds", "rows/s", "speed-up vs in process 1 thread", "peak RSS MB/worker"]
    print(common.table(headers, table_rows, (1, 1, 1, 2, 0)))
    w1, w2 = seconds["Dask, 1 worker x 1 thread"], seconds["Dask, 2 workers x 1 thread"]
    print(f"\n2 workers ÷ 1 worker: {w1 / w2:.2f}x (target >= 1.8)")
    print(f"Dask overhead at {rows:,} rows: {100 * (w1 / one - 1):+.1f}% (target <= 10%)")


def skew(corpus: str, model: str, rows: int, rounds: int, max_length: int, local_dir: str):
    """Part 3: equal-row partitions vs dfembed's equal-work slices on a length-sorted table."""
    kw = {"corpus": corpus, "model": model, "max_length": max_length, "local_dir": local_dir}
    runs = [
        Contender(
            "dd.from_pandas(npartitions=4): equal rows",
            "benchmarks.scaling:skew_run",
            {**kw, "balanced": False},
        ),
        Contender(
            "pandas parallel=2: equal estimated work",
            "benchmarks.scaling:skew_run",
            {**kw, "balanced": True},
        ),
    ]
    print(f"\n{rows:,} rows sorted longest first, 2 workers x 1 thread, {rounds} round(s)")
    results = interleave(runs, rounds)
    seconds = {name: median_of(r, "seconds") for name, r in results.items()}
    base = seconds[runs[0].name]
    table_rows = [[name, t, rows / t, base / t] for name, t in seconds.items()]
    print()
    print(common.table(["run", "seconds", "rows/s", "speed-up"], table_rows, (1, 1, 1, 2)))


def stream(
    corpus: str,
    model: str,
    model_mb: float,
    rows: int,
    partition_rows: int,
    max_length: int,
    tmp: Path,
    local_dir: str,
) -> None:
    """Part 2: stream rows to parquet on 2 workers; print per-worker RSS."""
    out_dir = tmp / "vectors"
    distinct = len(common.load_texts(corpus))
    print(
        f"\nstreaming {rows:,} rows ({distinct:,} distinct snippets repeated) in partitions of "
        f"{partition_rows:,} to parquet, 2 workers x 1 thread"
    )
    run = common.run_in_child(
        "benchmarks.scaling:stream_run",
        timeout=3 * 3600,
        corpus=corpus,
        model=model,
        rows=rows,
        partition_rows=partition_rows,
        workers=2,
        max_length=max_length,
        out_dir=str(out_dir),
        local_dir=local_dir,
    )
    shutil.rmtree(out_dir, ignore_errors=True)
    if "error" in run:
        print(f"stream failed: {run.get('traceback', run['error'])}")
        return
    table_rows = [
        [f"worker {i}", after, peak, peak - model_mb]
        for i, (after, peak) in enumerate(
            zip(run["after_load_mb"], run["worker_peak_rss_mb"], strict=True)
        )
    ]
    print()
    headers = ["worker", "RSS after model load MB", "peak RSS MB", "peak − model file MB"]
    print(common.table(headers, table_rows, (0, 0, 0, 0)))
    print(
        f"\n{rows / run['seconds']:,.0f} rows/s end to end ({run['seconds']:.1f} s), "
        f"{run['files']} parquet files, {run['parquet_mb']:,.0f} MB; client process peak "
        f"{run['peak_rss_mb']:,.0f} MB. Target: peak RSS per worker <= model size + 600 MB "
        f"= {model_mb + 600:,.0f} MB."
    )
    print(json.dumps({k: v for k, v in run.items() if k != "traceback"}, default=str))


if __name__ == "__main__":
    raise SystemExit(main())
