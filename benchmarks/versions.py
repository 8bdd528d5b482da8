"""Two checkouts of dfembed side by side: is a change (a refactor) slower?

``df.embed.text`` on fp32 all-MiniLM-L6-v2 (the offline ``minilm-fp32`` folder), each
pass in a fresh Python process with one checkout first on ``PYTHONPATH`` (its imports,
load and a 32-text warm-up untimed), the two checkouts alternating in an order that flips
round by round, on a seeded sample of stdlib docstrings and Rotten Tomatoes snippets.
Reported: each checkout's median docs/s and the median (and range) over rounds of
after ÷ before. On this 2-core machine passes of the same code differ by a few per cent, so
only a ratio outside the printed range says anything.

Run::

    git worktree add /tmp/before <commit>
    .venv/bin/python -m benchmarks.versions --before /tmp/before --after .
    .venv/bin/python -m benchmarks.versions --before /tmp/before --after . --quick
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import common

#: What each child runs: one timed pass with whichever dfembed is first on the path.
CHILD = """
import json, sys, time
import pandas as pd
import dfembed
texts, model, out = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
series = pd.Series(texts)
series.iloc[:32].embed.text(model=model, max_length=256, dedup=False)  # load, warm-up
started = time.perf_counter()
series.embed.text(model=model, max_length=256, dedup=False)
seconds = time.perf_counter() - started
json.dump({"docs_s": len(texts) / seconds, "file": dfembed.__file__}, open(out, "w"))
"""


def one_pass(checkout: Path, corpus: Path, model: Path, work: Path, threads: int) -> float:
    """docs/s of one pass of ``checkout``'s dfembed over ``corpus`` (a fresh process)."""
    out = work / "pass.json"
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    subprocess.run(
        [sys.executable, "-c", CHILD, str(corpus), str(model), str(out)],
        env=env,
        check=True,
        cwd=work,  # never the repository: its dfembed/ would come first whatever the path
    )
    result = json.loads(out.read_text())
    if not Path(result["file"]).resolve().is_relative_to(checkout.resolve()):
        raise RuntimeError(f"{checkout} was not the dfembed imported: {result['file']}")
    return float(result["docs_s"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, type=Path, help="checkout of the old code")
    parser.add_argument("--after", required=True, type=Path, help="checkout of the new code")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--docs", type=int, default=600, help="docstrings per pass")
    parser.add_argument("--rt-docs", type=int, default=1200, help="snippets per pass")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="40/80 texts, 2 rounds")
    args = parser.parse_args(argv)
    if args.quick:
        args.docs, args.rt_docs, args.rounds = 40, 80, 2
    from tools.offline_models import build

    from .throughput import load_corpora

    model = Path(build("minilm-fp32"))
    checkouts = {"before": args.before.resolve(), "after": args.after.resolve()}
    print(common.header("dfembed before vs after a change: df.embed.text, fp32 MiniLM"))
    print(f"before: {checkouts['before']}\nafter:  {checkouts['after']}\n", flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for corpus, (texts, about) in load_corpora(False, args.docs, args.rt_docs).items():
            path = work / f"{corpus}.json"
            common.save_texts(texts, path)
            seen: dict[str, list[float]] = {"before": [], "after": []}
            started = time.perf_counter()
            for r in range(args.rounds):
                order = ["before", "after"] if r % 2 == 0 else ["after", "before"]
                for name in order:
                    seen[name].append(one_pass(checkouts[name], path, model, work, args.threads))
            ratios = [a / b for a, b in zip(seen["after"], seen["before"], strict=True)]
            rows.append(
                [
                    corpus,
                    len(texts),
                    statistics.median(seen["before"]),
                    statistics.median(seen["after"]),
                    statistics.median(ratios),
                    f"{min(ratios):.3f}–{max(ratios):.3f}",
                    round(time.perf_counter() - started),
                ]
            )
            print(f"{corpus}: {about}, {args.rounds} rounds done", flush=True)
    headers = ["corpus", "texts", "before docs/s", "after docs/s", "after ÷ before", "range", "s"]
    print()
    print(common.table(headers, rows, digits=[0, 0, 1, 1, 3, 0, 0]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
