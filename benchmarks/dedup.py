"""Deduplication: a column where half the rows repeat others, embedded with dedup on and off.

The column: ``n`` distinct Rotten Tomatoes snippets plus ``n`` more rows drawn (seeded,
with replacement) from those same snippets, shuffled: 2n rows, 50% of them duplicates,
real text. dfembed runs with ``dedup=True`` (the default: hash, embed each text once,
scatter back) and ``dedup=False``, each in a fresh child process, interleaved by round.
The two results must be identical.

Run::

    .venv/bin/python -m benchmarks.dedup            # 2 x 2,000 rows, 2 rounds
    .venv/bin/python -m benchmarks.dedup --quick    # 2 x 500 rows, 1 round
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from . import common
from .common import Contender, interleave, median_of


def duplicate_heavy(texts: list[str], n: int, seed: int = 0) -> list[str]:
    """``2n`` rows: ``n`` distinct texts and ``n`` repeats drawn from them, shuffled."""
    rng = np.random.default_rng(seed)
    distinct = [texts[i] for i in rng.choice(len(texts), n, replace=False)]
    repeats = [distinct[i] for i in rng.integers(0, n, n)]
    rows = distinct + repeats
    return [rows[i] for i in rng.permutation(len(rows))]


def main(argv: list[str] | None = None) -> int:
    """Run dedup on vs off and print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dedup")
    parser.add_argument("--quick", action="store_true", help="2 x 500 rows, 1 round")
    parser.add_argument("--distinct", type=int, default=None, help="distinct texts (2,000)")
    parser.add_argument("--rounds", type=int, default=None, help="default 2")
    parser.add_argument("--model", default="minilm-fp32")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=256)
    args = parser.parse_args(argv)
    n = args.distinct or (500 if args.quick else 2_000)
    rounds = args.rounds or (1 if args.quick else 2)

    common.set_thread_env(args.threads)
    from tools.datasets import rotten_tomatoes
    from tools.offline_models import build

    model = str(build(args.model))
    tmp = Path(tempfile.mkdtemp(prefix="dfembed-dedup-"))
    rows = duplicate_heavy(rotten_tomatoes()["text"].drop_duplicates().tolist(), n)
    corpus = common.save_texts(rows, tmp / "dup.json")
    distinct = len(set(rows))
    print(common.header(f"Dedup: {args.model}, {args.threads} threads, truncation 256"))
    dup = 100 * (1 - distinct / len(rows))
    print(f"{len(rows):,} Rotten Tomatoes snippets, {distinct:,} distinct ({dup:.0f}% duplicates);")
    print(f"{rounds} interleaved round(s)\n")
    base = {"corpus": corpus, "model": model, "threads": args.threads}
    runs = [
        Contender("dedup on", "benchmarks.contenders:dfembed_text", {**base, "dedup": True}),
        Contender("dedup off", "benchmarks.contenders:dfembed_text", {**base, "dedup": False}),
    ]
    for c in runs:
        c.kwargs["max_length"] = args.max_length
    save = {c.name: {"save": str(tmp / f"{c.name.replace(' ', '-')}.npy")} for c in runs}
    results = interleave(runs, rounds, first_round_extra=save)
    seconds = {name: median_of(r, "seconds") for name, r in results.items()}
    table_rows = [
        [
            name,
            seconds[name],
            len(rows) / seconds[name],
            seconds["dedup off"] / seconds[name],
            common.max_of(r, "peak_rss_mb"),
        ]
        for name, r in results.items()
    ]
    print()
    headers = ["run", "seconds", "rows/s", "speed-up vs off", "peak RSS MB"]
    print(common.table(headers, table_rows, (1, 2, 1, 2, 0)))
    on, off = (np.load(save[name]["save"]) for name in ("dedup on", "dedup off"))
    print(f"\nmax |on − off| over all vectors: {np.abs(on - off).max():.2e}")
    print(f"ideal speed-up (rows ÷ distinct): {len(rows) / distinct:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
