"""Token budget sweep: dfembed's docs/s and peak RSS for several ``token_budget`` values.

The token budget (most padded tokens per model run) decides batch shapes. Large batches
amortize per-run overhead; small ones keep activations in cache. This sweep finds where
the balance lies on this machine, on both corpora of :mod:`benchmarks.throughput`, with
each run in its own child process and the budgets interleaved by round.

Run::

    .venv/bin/python -m benchmarks.budget                      # 512 ... 8192, 2 rounds
    .venv/bin/python -m benchmarks.budget --quick              # 300 docstrings, 600 snippets
    .venv/bin/python -m benchmarks.budget --model minilm-fp32 --budgets 1024 2048
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from . import common
from .common import Contender, interleave, median_of


def main(argv: list[str] | None = None) -> int:
    """Sweep the budgets and print one table per corpus."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.budget")
    parser.add_argument("--quick", action="store_true", help="small samples, 1 round")
    parser.add_argument("--budgets", type=int, nargs="*", default=[512, 1024, 2048, 4096, 8192])
    parser.add_argument("--model", default="minilm-fp32", help="offline model name or folder")
    parser.add_argument("--rounds", type=int, default=None, help="default 2")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=256)
    args = parser.parse_args(argv)
    rounds = args.rounds or (1 if args.quick else 2)

    common.set_thread_env(args.threads)
    from tools.offline_models import MODEL_NAMES, build

    from .throughput import load_corpora

    model = str(build(args.model)) if args.model in MODEL_NAMES else args.model
    out = Path(tempfile.mkdtemp(prefix="dfembed-budget-"))
    print(common.header(f"Token budget sweep: {Path(model).name}, {args.threads} threads"))
    corpora = load_corpora(args.quick, 300 if args.quick else None, 600 if args.quick else 2000)
    for name, (texts, desc) in corpora.items():
        corpus = common.save_texts(texts, out / f"{name}.json")
        runs = [
            Contender(
                f"token_budget={b}",
                "benchmarks.contenders:dfembed_text",
                {
                    "corpus": corpus,
                    "model": model,
                    "threads": args.threads,
                    "max_length": args.max_length,
                    "token_budget": b,
                },
            )
            for b in args.budgets
        ]
        print(f"\n{name}: {desc}", flush=True)
        results = interleave(runs, rounds)
        default = f"token_budget={max(args.budgets)}"
        base = median_of(results[default], "seconds")
        rows = []
        for who, r in results.items():
            seconds = median_of(r, "seconds")
            rows.append(
                [who, len(texts) / seconds, base / seconds, common.max_of(r, "peak_rss_mb")]
            )
        print(f"\n#### {name}\n")
        headers = ["run", "docs/s", f"speed-up vs {default}", "peak RSS MB"]
        print(common.table(headers, rows, (0, 1, 2, 0)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
