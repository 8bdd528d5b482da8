"""int8 at load (``session_options={"precision": "int8"}``) vs fp32, on every offline fp32 model.

For each model: the one-time conversion (seconds, in a fresh rewritten-graph folder, and the
file sizes); docs/s of dfembed fp32 (its default graph) and int8 on Rotten Tomatoes snippets
and stdlib docstrings, both sessions in one child process, each round running both on the
same slice of texts (``--chunk``, cycling through the corpus) in alternating order (on a
shared, busy machine whole passes drifted by up to 2.5x; a round of seconds mostly sees
one load), reported as the median of the rounds' ratios; and quality vs fp32 on the
labelled Rotten Tomatoes fresh/rotten snippets (11-NN accuracy by cosine and a 5-fold
logistic-regression probe, as ``benchmarks/quality.py``; SPLADE's sparse vectors too).
The header names the CPU's int8 dot-product instructions (VNNI, AMX), which the issue's
targets depend on: >= 2x fp32 with them, >= 1.3x without, quality within 0.5 points.

Run::

    .venv/bin/python -m benchmarks.int8    # all four models: ~1 hour on 2 busy cores
    .venv/bin/python -m benchmarks.int8 --models minilm --quick
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from . import common, quality

#: Offline folder, kind, and the share of each corpus it runs on (all-mpnet-base-v2 costs
#: ~8x MiniLM per token: a quarter of the texts keeps its rounds to minutes).
MODELS = {
    "minilm": ("minilm-fp32", "text", 1.0),
    "paraphrase-l3": ("paraphrase-l3", "text", 1.0),
    "mpnet": ("mpnet-base", "text", 0.25),
    "splade-tiny": ("splade-tiny", "sparse", 1.0),
}
INT8 = {"precision": "int8"}
TARGETS = {True: 2.0, False: 1.3}  # speed-up goal with / without an int8 dot product


def conversion(model: str, kind: str) -> dict:
    """In a child: seconds to quantize ``model`` into an empty folder, then to load it."""
    import os
    import time

    from dfembed.encoders.load import build_encoder
    from dfembed.runtime import quantize
    from dfembed.runtime.session import check_settings
    from dfembed.spec import ModelSpec

    with tempfile.TemporaryDirectory() as store:
        os.environ["DFEMBED_FUSED_DIR"] = store
        path = Path(model) / "model.onnx"
        started = time.perf_counter()
        made = quantize.int8_graph(path)
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        build_encoder(ModelSpec(model=model, kind=kind, session_options=check_settings(INT8)))
        load_s = time.perf_counter() - started
        started = time.perf_counter()
        unfused = check_settings({"graph_fusion": False})
        build_encoder(ModelSpec(model=model, kind=kind, session_options=unfused))
        fp32_load_s = time.perf_counter() - started
        return {
            "seconds": seconds,
            "int8_load_s": load_s,
            "fp32_load_s": fp32_load_s,
            "fp32_mb": path.stat().st_size / 2**20,
            "int8_mb": made.stat().st_size / 2**20,
            "settings": quantize.resolve_settings(),
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.int8")
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--rounds", type=int, default=24, help="rounds of fp32 and int8")
    parser.add_argument("--chunk", type=int, default=100, help="texts per round")
    parser.add_argument("--rt-docs", type=int, default=600, help="snippets per pass")
    parser.add_argument("--docs", type=int, default=300, help="docstrings per pass")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quality-rows", type=int, default=None, help="labelled rows (all)")
    parser.add_argument("--no-quality", action="store_true")
    parser.add_argument("--quick", action="store_true", help="200/100 texts, 1 round, 1000 rows")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.rt_docs, args.docs = 4, 200, 100
        args.quality_rows = args.quality_rows or 1000
    common.set_thread_env(args.threads)
    from dfembed.runtime.cpu import int8_dot_products
    from tools.offline_models import build

    from .throughput import load_corpora

    out = Path(args.out or tempfile.mkdtemp(prefix="dfembed-int8-"))
    out.mkdir(parents=True, exist_ok=True)
    has_dot = bool(int8_dot_products())
    print(common.header("int8 at load vs fp32: dfembed, 2 threads"))
    goal = TARGETS[has_dot]
    corpora = load_corpora(False, args.docs, args.rt_docs)
    summary = {}
    for name in args.models:
        folder, kind, share = MODELS[name]
        model = str(build(folder))
        print(f"\n## {name} ({folder}, {kind})\n", flush=True)
        conv = common.run_in_child("benchmarks.int8:conversion", model=model, kind=kind)
        if "error" in conv:
            print(f"conversion failed: {conv['error']}")
            continue
        print(
            f"one-time conversion {conv['seconds']:.1f} s (load average {conv['load_avg']:.1f}); "
            f"then an int8 session loads in {conv['int8_load_s']:.1f} s (fp32: "
            f"{conv['fp32_load_s']:.1f} s); file {conv['fp32_mb']:.0f} MB fp32 -> "
            f"{conv['int8_mb']:.0f} MB int8; settings {json.dumps(conv['settings'])}"
        )
        summary[name] = {"conversion_s": conv["seconds"], "speed": {}}
        rows = []
        for corpus, (texts, _) in corpora.items():
            texts = texts[: max(20, int(len(texts) * share))]
            path = common.save_texts(texts, out / f"{name}-{corpus}.json")
            print(f"{corpus}: {len(texts):,} texts, {args.rounds} rounds", flush=True)
            chunk = max(8, int(args.chunk * share))
            ab = common.run_in_child(
                "benchmarks.int8:alternate",
                corpus=path,
                model=model,
                kind=kind,
                threads=args.threads,
                rounds=args.rounds,
                chunk=chunk,
            )
            if "error" in ab:
                print(f"failed: {ab['error']}")
                continue
            ratio = common.ratio_summary(ab["fp32"], ab["int8"])  # int8 ÷ fp32 docs/s
            fp32, int8 = (chunk * args.rounds / sum(ab[k]) for k in ("fp32", "int8"))
            rows.append([corpus, chunk, fp32, int8, ratio["median"], ratio["low"],
                         ratio["high"], ab["load_avg"]])  # fmt: skip
            summary[name]["speed"][corpus] = ratio["median"]
        print()
        headers = ["corpus", "texts/round", "fp32 docs/s", "int8 docs/s", "int8 ÷ fp32 (median)"]
        headers += ["lowest", "highest", "load avg"]
        print(common.table(headers, rows, [0, 0, 1, 1, 2, 2, 2, 1]))
        if not args.no_quality:
            summary[name]["quality"] = _quality(name, model, kind, args, out)
    _targets(summary, goal, has_dot)
    (out / "int8.json").write_text(json.dumps(summary, indent=1, default=str))
    print(f"\nraw results: {out}")
    return 0


def alternate(corpus: str, model: str, kind: str, threads: int, rounds: int, chunk: int) -> dict:
    """In a child: fp32 and int8 sessions side by side, both on the same slice of texts per
    round (:func:`common.paired_rounds`); the seconds of every pass."""
    import pandas as pd

    import dfembed  # noqa: F401 - registers the .embed accessor

    texts = common.load_texts(corpus)
    options = {"model": model, "threads": threads, "dedup": False}

    def run(session_options: dict):
        def embed(part: list[str]) -> None:
            frame = pd.DataFrame({"text": part})
            getattr(frame.embed, kind)("text", session_options=session_options, **options)

        return embed

    runs = {"fp32": run({}), "int8": run(INT8)}
    for embed in runs.values():  # load, convert if need be, and warm up
        embed(texts[:32])
    return common.paired_rounds(runs, texts, rounds, chunk)


def _quality(name: str, model: str, kind: str, args, out: Path) -> dict:
    """Embed the labelled snippets with fp32 and int8; print and return k-NN / probe scores."""
    from tools.datasets import rotten_tomatoes

    df = rotten_tomatoes()
    df = df[df["category"].isin(["fresh", "rotten"])].drop_duplicates("text")
    rows = args.quality_rows or (2000 if name == "mpnet" else None)
    if rows is not None and rows < len(df):
        df = df.sample(rows, random_state=0).sort_index()
    labels = (df["category"] == "fresh").to_numpy()
    corpus = common.save_texts(df["text"].tolist(), out / f"quality-{name}.json")
    vectors = {}
    for precision in ("fp32", "int8"):
        save = str(out / f"quality-{name}-{precision}.{'npz' if kind == 'sparse' else 'npy'}")
        run = common.run_in_child(
            f"benchmarks.contenders:dfembed_{kind}",
            corpus=corpus,
            model=model,
            threads=args.threads,
            max_length=None,
            save=save,
            session_options=INT8 if precision == "int8" else None,
        )
        if "error" in run:
            raise common.BenchmarkError(f"quality run {name} {precision}: {run['error']}")
        vectors[precision] = _read_vectors(save)
    scores = {p: (quality.knn_accuracy(v, labels), quality.probe_accuracy(v, labels))
              for p, v in vectors.items()}  # fmt: skip
    cos = _row_cosines(vectors["fp32"], vectors["int8"])
    (knn32, probe32), (knn8, probe8) = scores["fp32"], scores["int8"]
    print(f"\nquality on {len(labels):,} labelled Rotten Tomatoes snippets:\n")
    headers = ["precision", "11-NN acc %", "Δ points", "probe acc %", "Δ points"]
    headers += ["min cos", "mean cos"]
    table = [
        ["fp32", knn32, 0.0, probe32, 0.0, 1.0, 1.0],
        ["int8", knn8, knn8 - knn32, probe8, probe8 - probe32, float(cos.min()), float(cos.mean())],
    ]
    print(common.table(headers, table, [0, 2, 2, 2, 2, 4, 4]))
    return {"rows": len(labels), "knn_delta": knn8 - knn32, "probe_delta": probe8 - probe32,
            "cos_min": float(cos.min()), "cos_mean": float(cos.mean())}  # fmt: skip


def _read_vectors(path: str):
    if path.endswith(".npz"):
        import scipy.sparse

        return scipy.sparse.load_npz(path).tocsr()
    return np.load(path)


def _row_cosines(a, b) -> np.ndarray:
    if isinstance(a, np.ndarray):
        return common.cosines(a, b)
    from sklearn.preprocessing import normalize

    return np.asarray(normalize(a).multiply(normalize(b)).sum(axis=1)).ravel()


def _targets(summary: dict, goal: float, has_dot: bool) -> None:
    why = "with an int8 dot product" if has_dot else "without an int8 dot product"
    rows = []
    for name, s in summary.items():
        for corpus, ratio in s["speed"].items():
            rows.append([f"{name} {corpus}: int8 ÷ fp32 docs/s", f">= {goal} ({why})", ratio])
        for key in ("knn_delta", "probe_delta"):
            value = s.get("quality", {}).get(key, float("nan"))
            rows.append([f"{name}: int8 − fp32 {key[:-6]} accuracy, points", ">= -0.5", value])
    for row in rows:
        bound, value = float(row[1].split()[1]), row[2]
        row.append("–" if value != value else ("yes" if value >= bound else "NO"))
    print("\n## Targets\n")
    print(common.table(["target", "goal", "measured", "met"], rows, 3))


if __name__ == "__main__":
    raise SystemExit(main())
