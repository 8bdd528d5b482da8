"""Graph fusion on vs off, A/B in one process: alternating passes over the same corpus.

Two encoders of the same fp32 MiniLM file live side by side, one on the fused graph (the
default) and one with ``graph_fusion=False``; each pair of passes runs both, in alternating
order, so drifts in the machine's load hit both alike. Reported: each pair's speed-up
(unfused seconds ÷ fused seconds) and the median. Separate processes per contender
(``benchmarks.throughput``) measured the same effect with more noise: there the slot a
contender has within a round moved results by ~5 %.

Run::

    .venv/bin/python -m benchmarks.fusion             # 6 pairs per corpus, ~8 minutes
    .venv/bin/python -m benchmarks.fusion --pairs 2   # quicker
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from . import common


def ab(texts: list[str], model: str, pairs: int, threads: int, max_length: int) -> list[list]:
    """Rows ``[pair, fused s, unfused s, speed-up]`` for ``pairs`` alternating pairs."""
    from dfembed.encoders.load import build_encoder
    from dfembed.encoders.text import TextOptions
    from dfembed.runtime.session import check_settings
    from dfembed.spec import ModelSpec

    encoders = {
        "fused": build_encoder(ModelSpec(model=model, threads=threads)),
        "unfused": build_encoder(
            ModelSpec(
                model=model,
                threads=threads,
                session_options=check_settings({"graph_fusion": False}),
            )
        ),
    }
    options = TextOptions(max_length=max_length)
    for encoder in encoders.values():
        encoder.encode(texts[:64], options)  # warm-up
    rows = []
    for pair in range(pairs):
        seconds = {}
        for name in ("fused", "unfused") if pair % 2 == 0 else ("unfused", "fused"):
            started = time.perf_counter()
            encoders[name].encode(texts, options)
            seconds[name] = time.perf_counter() - started
        rows.append(
            [pair + 1, seconds["fused"], seconds["unfused"], seconds["unfused"] / seconds["fused"]]
        )
        print(f"  pair {pair + 1}/{pairs}: speed-up {rows[-1][3]:.3f}", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fusion")
    parser.add_argument("--pairs", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=256)
    args = parser.parse_args(argv)
    common.set_thread_env(args.threads)
    from tools.datasets import rotten_tomatoes, stdlib_docstrings
    from tools.offline_models import build

    model = str(build("minilm-fp32"))
    corpora = {
        "docstrings": stdlib_docstrings()["text"].tolist(),
        "rotten-tomatoes": rotten_tomatoes()["text"].drop_duplicates().tolist()[:2000],
    }
    print(common.header("Graph fusion A/B: fp32 all-MiniLM-L6-v2, truncation 256"))
    for name, texts in corpora.items():
        print(f"\n{name}: {len(texts):,} texts, {args.threads} threads", flush=True)
        rows = ab(texts, model, args.pairs, args.threads, args.max_length)
        print()
        print(common.table(["pair", "fused s", "unfused s", "speed-up"], rows, [0, 2, 2, 3]))
        ups = [r[3] for r in rows]
        print(
            f"\nfused ÷ unfused docs/s: median {np.median(ups):.3f}, range "
            f"{min(ups):.3f}–{max(ups):.3f}; faster in {sum(u > 1 for u in ups)} of {len(ups)}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
