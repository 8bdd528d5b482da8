"""Where dfembed's time goes: per-stage self time, padding waste, and a cProfile top list.

dfembed's code is not changed: inside a child process, the functions on its path are
wrapped with timers (found by name; a stage the code no longer has is reported as
missing), and ONNX Runtime's ``InferenceSession.run`` is wrapped to count padded tokens.
Times are *self* times: a wrapped call inside another wrapped call is subtracted from its
caller, so the stages add up to the total and "unattributed" is the Python glue between them
(sorting, scattering back, option handling, pandas).

Run::

    .venv/bin/python -m benchmarks.stages            # docstrings + 2,000 snippets, fp32, 2 threads
    .venv/bin/python -m benchmarks.stages --quick    # 300 docstrings + 600 snippets
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import importlib
import io
import pstats
import tempfile
import time
from pathlib import Path

import numpy as np

from . import common

#: (module, attribute path, stage label): the functions on dfembed's text path.
STAGES = (
    ("dfembed.inputs", "texts", "read + check column (inputs.texts)"),
    ("dfembed.encoders.base", "dedup", "dedup (hash)"),
    ("dfembed.encoders.tokens", "TextTokenizer.encode", "tokenizers encode_batch -> token rows"),
    ("dfembed.encoders.token_encoder", "TokenEncoder.tokenize", "tokenize: lengths, prefixes"),
    ("dfembed.encoders.base", "run_batched", "batching loop, scatter back"),
    ("dfembed.runtime.batching", "plan_batches", "sort + plan batches"),
    ("dfembed.encoders.token_encoder", "TokenEncoder.feed", "pad batch (feed)"),
    ("dfembed.encoders.base", "Encoder.run_model", "run_model: casts"),
    ("onnxruntime", "InferenceSession.run", "ONNX Runtime session.run"),
    ("dfembed.encoders.text", "pool", "mean pooling"),
    ("dfembed.encoders.text", "l2_normalize", "L2 normalize"),
    ("dfembed.encoders.kind", "columns.dense", "Arrow column (columns.dense)"),
)


class StageTimer:
    """Self time per label, with nested wrapped calls subtracted from their callers."""

    def __init__(self) -> None:
        self.self_s: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._stack: list[float] = []  # time spent in wrapped children of each open call
        self.padded_tokens = 0
        self.batches = 0

    def wrap(self, label: str, fn):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            self._stack.append(0.0)
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                total = time.perf_counter() - started
                inner = self._stack.pop()
                self.self_s[label] = self.self_s.get(label, 0.0) + total - inner
                self.calls[label] = self.calls.get(label, 0) + 1
                if self._stack:
                    self._stack[-1] += total

        return timed

    def wrap_session_run(self, fn):
        timed = self.wrap("ONNX Runtime session.run", fn)

        @functools.wraps(fn)
        def counting(session, names, feed, *args, **kwargs):
            ids = feed.get("input_ids")
            if ids is not None:
                self.padded_tokens += int(np.prod(ids.shape))
                self.batches += 1
            return timed(session, names, feed, *args, **kwargs)

        return counting


def _install(timer: StageTimer) -> list[str]:
    """Wrap every stage that exists; return the labels of those the code no longer has."""
    missing = []
    for module_name, path, label in STAGES:
        try:
            owner = importlib.import_module(module_name)
            *parents, attr = path.split(".")
            for part in parents:
                owner = getattr(owner, part)
            original = getattr(owner, attr)
        except (ImportError, AttributeError):
            missing.append(label)
            continue
        if module_name == "onnxruntime":
            setattr(owner, attr, timer.wrap_session_run(original))
        else:
            setattr(owner, attr, timer.wrap(label, original))
    return missing


def profile_run(corpus: str, model: str, threads: int, max_length: int, top: int = 15) -> dict:
    """In a child: time dfembed's stages on the corpus, then profile a second pass.

    The stage timers stay installed during the profiled pass (their few calls show in its
    listing), but only the first pass's numbers are reported as stages.
    """
    import pandas as pd

    import dfembed

    texts = common.load_texts(corpus)
    frame = pd.DataFrame({"text": texts})
    options = {"model": model, "threads": threads, "max_length": max_length}
    frame.head(32).embed.text("text", **options)  # load + warm-up, not measured
    timer = StageTimer()
    missing = _install(timer)
    started = time.perf_counter()
    frame.embed.text("text", **options)
    total = time.perf_counter() - started
    measured = {
        "total_s": total,
        "self_s": dict(timer.self_s),
        "calls": dict(timer.calls),
        "padded_tokens": timer.padded_tokens,
        "batches": timer.batches,
        "missing": missing,
    }
    profiler = cProfile.Profile()
    profiler.enable()
    dfembed.to_numpy(frame.embed.text("text", **options))
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(top)
    return {**measured, "cprofile": text.getvalue()}


def report(name: str, texts: list[str], run: dict, model: str, max_length: int) -> None:
    """Print the stage table and the top of the cProfile listing for one corpus."""
    lengths = common.token_lengths(texts, Path(model) / "tokenizer.json", max_length)
    flops = common.encoder_flops(lengths, Path(model) / "config.json")
    total = run["total_s"]
    rows = []
    stages = {label: s for label, s in run["self_s"].items() if s > 0}
    for label, seconds in sorted(stages.items(), key=lambda kv: -kv[1]):
        rows.append([label, seconds, 100 * seconds / total, run["calls"][label]])
    rest = total - sum(stages.values())
    rows.append(["unattributed (pandas, glue)", rest, 100 * rest / total, 1])
    ort_s = run["self_s"].get("ONNX Runtime session.run", float("nan"))
    print(f"\n### {name}: {len(texts):,} texts, {lengths.sum():,} real tokens, ", end="")
    print(f"{total:.2f} s in df.embed.text ({len(texts) / total:.1f} docs/s)\n")
    print(common.table(["stage (self time)", "seconds", "% of total", "calls"], rows, (1, 3, 1, 0)))
    padded = run["padded_tokens"]
    print(
        f"\n{run['batches']} model runs; padded tokens {padded:,} = "
        f"{padded / lengths.sum():.2f}x the real ones; real-token rate inside session.run "
        f"{flops / ort_s / 1e9:.1f} GFLOP/s, over the whole call {flops / total / 1e9:.1f} GFLOP/s"
    )
    if run["missing"]:
        print(f"stages not found in this version of dfembed: {', '.join(run['missing'])}")
    print("\ncProfile of a second pass, top functions by self time:\n")
    lines = run["cprofile"].splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    print("\n".join(line for line in lines[start:] if line.strip()))


def main(argv: list[str] | None = None) -> int:
    """Profile dfembed on both corpora and print the tables."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stages")
    parser.add_argument("--quick", action="store_true", help="300 docstrings, 600 snippets")
    parser.add_argument("--model", default="minilm-fp32", help="offline model to profile")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=256)
    args = parser.parse_args(argv)
    common.set_thread_env(args.threads)
    from tools.offline_models import build

    from .throughput import load_corpora

    model = str(build(args.model))
    out = Path(tempfile.mkdtemp(prefix="dfembed-stages-"))
    print(common.header(f"Where dfembed's time goes: {args.model}, {args.threads} threads"))
    corpora = load_corpora(args.quick, 300 if args.quick else None, 600 if args.quick else 2000)
    for name, (texts, _desc) in corpora.items():
        path = common.save_texts(texts, out / f"{name}.json")
        run = common.run_in_child(
            "benchmarks.stages:profile_run",
            corpus=path,
            model=model,
            threads=args.threads,
            max_length=args.max_length,
        )
        if "error" in run:
            raise common.BenchmarkError(f"{name}: {run.get('traceback', run['error'])}")
        report(name, texts, run, model, args.max_length)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
