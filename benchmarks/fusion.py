"""Graph fusion on vs off, and dfembed vs the plain loop, A/B in one process.

Three contenders live side by side on the same fp32 MiniLM file: ``df.embed.text`` on the
fused graph (``graph_fusion=True``), on the model's own (``graph_fusion=False``), and the
plain onnxruntime loop of ``benchmarks.throughput`` (sorted, 1,024-token budget: the same
batches as dfembed). Each round runs all three on the same slice of ``--chunk`` texts (the
slices cycle through the corpus), in an order rotated round by round
(:func:`common.paired_rounds`), so a round sees one load for all. Reported: the median (and
range) over rounds of fused ÷ unfused and dfembed ÷ plain loop (docs/s). Whole-corpus
passes of 20 s measured up to 2.5x apart on this shared machine, and separate processes per
contender (``benchmarks.throughput``) add a slot effect of ~5 %.

Before the A/B, dfembed's own measurement (``dfembed.runtime.fusion_choice``, what the
first load of a model on a machine runs) is run ``--calibrations`` times, busy machine or
not, and its ratios and decisions printed, with the decision dfembed keeps (or, on a busy
machine, that it has none yet and runs unfused): the A/B says whether it chose right.

Run::

    .venv/bin/python -m benchmarks.fusion              # 30 rounds per corpus, ~8 minutes
    .venv/bin/python -m benchmarks.fusion --rounds 9   # quicker
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from . import common

#: The contenders of one A/B process: dfembed through ``df.embed.text`` on either graph, and
#: the plain onnxruntime loop (sorted, budget 1,024: dfembed's batches) on the model's file.
NAMES = ("fused", "unfused", "plain")


def ab(texts: list[str], model: str, rounds: int, chunk: int, threads: int, max_length: int):
    """Seconds per round of each of :data:`NAMES` (:func:`common.paired_rounds`)."""
    import pandas as pd

    import dfembed

    from .contenders import plain_loop

    def dataframe(fusion: bool):
        options = {"model": model, "threads": threads, "max_length": max_length}
        options["session_options"] = {"graph_fusion": fusion}
        return lambda t: dfembed.to_numpy(pd.DataFrame({"text": t}).embed.text("text", **options))

    embed = {
        "fused": dataframe(True),
        "unfused": dataframe(False),
        "plain": plain_loop(model, threads, max_length, budget=1024),
    }
    for run in embed.values():
        run(texts[:64])  # load and warm up
    return common.paired_rounds(embed, texts, rounds, chunk)


def kept_decision(model: str, threads: int) -> str:
    """Which graph dfembed's default runs for ``model`` on this machine, and why."""
    from dfembed.runtime import fusion, fusion_choice

    source, config = Path(model) / "model.onnx", Path(model) / "config.json"
    fused = fusion.fused_graph(source, config)
    if fused is None:
        return "unfused (the graph cannot be fused)"
    kept = fusion_choice.read_choice(fusion_choice.choice_path(fused, threads))
    if kept is not None:
        fields = {k: kept.get(k) for k in ("short", "long", "date", "load_avg")}
        return f"{'fused' if kept['fused'] else 'unfused'}, as measured and kept: {fields}"
    if fusion_choice.busy():
        return "unfused: no decision kept, and the machine is too busy to measure one"
    return "not decided yet: the next load measures"


def calibrations(model: str, threads: int, runs: int) -> None:
    """Print dfembed's fusion measurement ``runs`` times, and the decision it keeps."""
    from dfembed.runtime import fusion, fusion_choice

    source, config = Path(model) / "model.onnx", Path(model) / "config.json"
    fused = fusion.fused_graph(source, config)
    fusion_choice.prefer_fused(source, fused, config, threads)  # what a load does: decides once
    print(f"\ndfembed's default graph here ({threads} threads): {kept_decision(model, threads)}")
    print("\ndfembed's measurement, run again here:\n")
    rows = []
    for run in range(runs):
        r = fusion_choice.calibrate(source, fused, config, threads)
        rows.append([run + 1, r.get("short"), r.get("long"), r.get("speedup"), r["fused"],
                     r.get("rounds"), r["seconds"], r["load_avg"]])  # fmt: skip
    headers = ["measurement", "short ×", "long ×", "geo-mean ×", "fused?", "rounds", "s", "load"]
    print(common.table(headers, rows, [0, 3, 3, 3, 0, 0, 1, 1]))
    print(
        f"\n(× = unfused ÷ fused seconds, median of back-to-back pairs; fused only if the "
        f"geo-mean >= {1 + fusion_choice.MARGIN} and neither length < "
        f"{1 - fusion_choice.TOLERANCE})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fusion")
    parser.add_argument("--rounds", type=int, default=30, help="rounds of the three contenders")
    parser.add_argument("--chunk", type=int, default=200, help="texts per round")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--calibrations", type=int, default=3, help="runs of dfembed's own")
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
    calibrations(model, args.threads, args.calibrations)
    default = kept_decision(model, args.threads).startswith("fused")
    print(f"\ndfembed's default graph now: {'fused' if default else 'unfused'}")
    for name, texts in corpora.items():
        print(f"\n### {name}: {len(texts):,} texts, {args.rounds} rounds of {args.chunk}, "
              f"{args.threads} threads\n", flush=True)  # fmt: skip
        sec = ab(texts, model, args.rounds, args.chunk, args.threads, args.max_length)
        mine = "fused" if default else "unfused"
        rows = [
            ["fused ÷ unfused docs/s", common.ratio_summary(sec["unfused"], sec["fused"])],
            ["dfembed unfused ÷ plain loop", common.ratio_summary(sec["plain"], sec["unfused"])],
            ["dfembed fused ÷ plain loop", common.ratio_summary(sec["plain"], sec["fused"])],
            [f"dfembed default ({mine}) ÷ plain loop",
             common.ratio_summary(sec["plain"], sec[mine])],
        ]  # fmt: skip
        table = [[w, r["median"], r["low"], r["high"], f"{r['above_1']} of {r['rounds']}"]
                 for w, r in rows]  # fmt: skip
        print(common.table(["ratio", "median", "lowest", "highest", "above 1"], table, 3))
        slices = -(-len(texts) // args.chunk)
        done = sum(min(args.chunk, len(texts) - (r % slices) * args.chunk)
                   for r in range(args.rounds))  # fmt: skip
        total = {n: done / sum(v) for n, v in sec.items()}
        print(
            "\nseconds per round, median: "
            + ", ".join(f"{n} {np.median(v):.2f}" for n, v in sec.items())
            + "; load average "
            + f"{os.getloadavg()[0]:.1f}; docs/s over all rounds: "
            + ", ".join(f"{n} {v:.1f}" for n, v in total.items())
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
