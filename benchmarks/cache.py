"""The persistent embedding cache: what storing costs, and what a rerun or a grown table saves.

One child process per round loads the model and embeds the base table once (untimed, so
ONNX Runtime's memory arena has grown before any timing), then runs, in order,
on ``n`` distinct Rotten Tomatoes snippets and on a "grown" table of those plus ``n/10`` new
ones (every run returns a vector per row, checked against the uncached run):

1. ``no cache``: ``df.embed.text`` as usual;
2. ``cold cache``: ``cache=`` an empty folder (everything is a miss and gets stored);
3. ``warm rerun``: the same frame again (everything is a hit);
4. ``grown, no cache`` and ``grown, cached``: the grown table without and with the cache
   filled by run 2 (only the new tenth is embedded).

Run::

    .venv/bin/python -m benchmarks.cache            # 4,000 + 400 rows, 2 rounds
    .venv/bin/python -m benchmarks.cache --quick    # 1,000 + 100 rows, 1 round
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from . import common


def _sequence(corpus: str, model: str, n: int, threads: int, max_length: int, folder: str):
    """In a child: the five runs of the module docstring, timed; and agreement checks."""
    import pandas as pd

    import dfembed

    texts = common.load_texts(corpus)
    base = pd.DataFrame({"text": texts[:n]})
    grown = pd.DataFrame({"text": texts[: n + n // 10]})
    options = {"model": model, "threads": threads, "max_length": max_length}
    # load, and one whole untimed pass so ONNX Runtime's arena has grown before any timing
    base.embed.text("text", **options)

    def timed(frame, **extra):
        started = time.perf_counter()
        out = frame.embed.text("text", **options, **extra)
        return time.perf_counter() - started, dfembed.to_numpy(out)

    seconds, vectors = {}, {}
    seconds["no cache"], vectors["plain"] = timed(base)
    seconds["cold cache"], vectors["cold"] = timed(base, cache=folder)
    seconds["warm rerun"], vectors["warm"] = timed(base, cache=folder)
    seconds["grown, no cache"], vectors["grown plain"] = timed(grown)
    seconds["grown, cached"], vectors["grown cached"] = timed(grown, cache=folder)
    disk = sum(f.stat().st_size for f in Path(folder).iterdir())
    return {
        "seconds": seconds,
        "max_diff_cold": float(np.abs(vectors["cold"] - vectors["plain"]).max()),
        "max_diff_warm": float(np.abs(vectors["warm"] - vectors["plain"]).max()),
        "max_diff_grown": float(np.abs(vectors["grown cached"] - vectors["grown plain"]).max()),
        "cache_mb": disk / 2**20,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the sequence per round and print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cache")
    parser.add_argument("--quick", action="store_true", help="1,000 + 100 rows, 1 round")
    parser.add_argument("--rows", type=int, default=None, help="distinct rows (4,000)")
    parser.add_argument("--rounds", type=int, default=None, help="default 2")
    parser.add_argument("--model", default="minilm-fp32")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=256)
    args = parser.parse_args(argv)
    n = args.rows or (1_000 if args.quick else 4_000)
    rounds = args.rounds or (1 if args.quick else 2)

    common.set_thread_env(args.threads)
    from tools.datasets import rotten_tomatoes
    from tools.offline_models import build

    model = str(build(args.model))
    tmp = Path(tempfile.mkdtemp(prefix="dfembed-cache-bench-"))
    texts = rotten_tomatoes()["text"].drop_duplicates().tolist()
    if len(texts) < n + n // 10:
        raise SystemExit(f"--rows {n} needs {n + n // 10} distinct snippets, have {len(texts)}")
    corpus = common.save_texts(texts, tmp / "texts.json")
    print(common.header(f"Embedding cache: {args.model}, {args.threads} threads, truncation 256"))
    print(f"{n:,} distinct Rotten Tomatoes snippets; grown table {n + n // 10:,} rows;")
    print(f"{rounds} round(s), each a fresh process and an empty cache folder\n")
    results = []
    for r in range(rounds):
        folder = tmp / f"cache-{r}"
        out = common.run_in_child(
            "benchmarks.cache:_sequence",
            corpus=corpus,
            model=model,
            n=n,
            threads=args.threads,
            max_length=args.max_length,
            folder=str(folder),
        )
        if "error" in out:
            print(out.get("traceback", out["error"]))
            return 1
        results.append(out)
        print(
            f"  round {r + 1}/{rounds}: "
            + ", ".join(f"{k} {v:.2f} s" for k, v in out["seconds"].items())
        )
    names = list(results[0]["seconds"])
    median = {k: float(np.median([r["seconds"][k] for r in results])) for k in names}
    rows_of = {k: n + n // 10 if k.startswith("grown") else n for k in names}
    reference = {
        k: median["grown, no cache" if k.startswith("grown") else "no cache"] for k in names
    }
    table_rows = [[k, median[k], rows_of[k] / median[k], reference[k] / median[k]] for k in names]
    print()
    print(
        common.table(["run", "seconds", "rows/s", "speed-up vs no cache"], table_rows, (0, 2, 0, 2))
    )
    worst = max(max(r[f"max_diff_{k}"] for r in results) for k in ("cold", "warm", "grown"))
    print(f"\nmax |cached − uncached| over all vectors and rounds: {worst:.2e}")
    print(f"cache size on disk: {results[0]['cache_mb']:.1f} MiB for {n + n // 10:,} vectors")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
