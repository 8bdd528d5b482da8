"""Throughput: dfembed vs fastembed, sentence-transformers and plain onnxruntime loops.

Same model (fp32 all-MiniLM-L6-v2: one ONNX file, exported from the safetensors folder that
sentence-transformers loads), same truncation (256 tokens), same threads (2), each run in
its own child process, contenders interleaved round by round. Two corpora: the standard
library's docstrings (natural length variation: 3 to 256+ tokens) and Rotten Tomatoes
snippets (short, uniform sentences). Also: ``dfembed-int8``, the offline model
``minilm-dynq8`` (the fp32 file dynamically quantized: int8 weights and int8 compute, see
``tools/offline_models.py``), the machine's measured matmul rate (what fraction of it each
contender uses), whether every contender's vectors agree with dfembed's, and int8 vs fp32
quality on labelled snippets. With ``--extra``, ``dfembed-int8-weights`` runs the registry's
``minilm-int8`` (int8 weights cast back to fp32: smaller, not faster).

``--model mpnet`` runs the base-size all-mpnet-base-v2 (12 layers, 768 wide) instead: the
same contenders on its ONNX file (fastembed as a custom model, sentence-transformers on
the safetensors folder), with ``dfembed-int8`` quantizing it at load
(``session_options={"precision": "int8"}``); its quality is measured by ``benchmarks.int8``.

Run::

    .venv/bin/python -m benchmarks.throughput            # ~20 min on a quiet 2-core machine
    .venv/bin/python -m benchmarks.throughput --extra    # + int8-weights file, unfused graph, ...
    .venv/bin/python -m benchmarks.throughput --quick    # small samples, one round
    .venv/bin/python -m benchmarks.throughput --model mpnet --quick   # base-size model
    .venv/bin/python -m benchmarks.throughput --skip fastembed ort-b32-corpus-order  # faster
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from . import common, matmul, quality
from .common import Contender, interleave, median_of

TARGETS_NOTE = "targets from the speed issue; measured as ratios inside this one run"


def contenders(
    fp32: str,
    int8: str,
    int8_weights: str,
    st_dir: str,
    threads: int,
    max_length: int,
) -> list[Contender]:
    """The embedding runs, in the order they run within a round (:data:`EXTRA` ones optional).

    ``int8`` is the dynamically quantized folder (``minilm-dynq8``), ``int8_weights`` the
    registry's int8-weight one (``minilm-int8``).
    """
    base = {"threads": threads, "max_length": max_length}
    cont = "benchmarks.contenders:"
    return [
        Contender("dfembed", cont + "dfembed_text", {"model": fp32, **base}),
        Contender("dfembed-int8", cont + "dfembed_text", {"model": int8, **base}),
        Contender("dfembed-int8-weights", cont + "dfembed_text", {"model": int8_weights, **base}),
        Contender(
            "dfembed-unfused",
            cont + "dfembed_text",
            {"model": fp32, "session_options": {"graph_fusion": False}, **base},
        ),
        Contender(
            "dfembed-budget8192",
            cont + "dfembed_text",
            {"model": fp32, "token_budget": 8192, **base},
        ),
        Contender("fastembed", cont + "fastembed_text", {"model": fp32, **base}),
        Contender("sentence-transformers", cont + "st_text", {"model": st_dir, **base}),
        Contender("ort-b32-corpus-order", cont + "ort_loop", {"model": fp32, **base}),
        Contender("ort-b32-sorted", cont + "ort_loop", {"model": fp32, "order": "sorted", **base}),
        Contender(
            "ort-budget1024-sorted",
            cont + "ort_loop",
            {"model": fp32, "order": "sorted", "budget": 1024, **base},
        ),
        Contender(
            "ort-budget2048-sorted",
            cont + "ort_loop",
            {"model": fp32, "order": "sorted", "budget": 2048, **base},
        ),
        Contender(
            "ort-budget2048-no-arena",
            cont + "ort_loop",
            {"model": fp32, "order": "sorted", "budget": 2048, "arena": False, **base},
        ),
    ]


def mpnet_contenders(fp32: str, st_dir: str, threads: int, max_length: int) -> list[Contender]:
    """The runs for all-mpnet-base-v2: dfembed fp32 and int8 at load, the peers, plain loops."""
    base = {"model": fp32, "threads": threads, "max_length": max_length}
    cont = "benchmarks.contenders:"
    int8 = {"session_options": {"precision": "int8"}}
    sorted_loop = {"order": "sorted", **base}
    return [
        Contender("dfembed", cont + "dfembed_text", base),
        Contender("dfembed-int8", cont + "dfembed_text", {**base, **int8}),
        Contender("fastembed", cont + "fastembed_text", {**base, "custom_dim": 768}),
        Contender("sentence-transformers", cont + "st_text", {**base, "model": st_dir}),
        Contender("ort-b32-corpus-order", cont + "ort_loop", dict(base)),
        Contender("ort-b32-sorted", cont + "ort_loop", dict(sorted_loop)),
        Contender("ort-budget1024-sorted", cont + "ort_loop", {**sorted_loop, "budget": 1024}),
        Contender("ort-budget2048-sorted", cont + "ort_loop", {**sorted_loop, "budget": 2048}),
    ]


#: Per model: its label in titles, and the samples of (docstrings, snippets) by default
#: and with ``--quick`` (all-mpnet-base-v2 costs ~8x MiniLM per token).
MODEL_SETS = {
    "minilm": ("all-MiniLM-L6-v2", (None, 2000), (300, 600)),
    "mpnet": ("all-mpnet-base-v2", (200, 500), (20, 40)),
}

#: Runs that answered a question once (see the README) and only run with ``--extra``.
EXTRA = (
    "dfembed-int8-weights",
    "dfembed-unfused",
    "dfembed-budget8192",
    "ort-budget2048-no-arena",
)


def matmul_contenders(threads: int) -> list[Contender]:
    """The matmul-rate probes, run once per round next to the embedding runs."""
    return [
        Contender(f"matmul-{lib}", f"benchmarks.matmul:{lib}_rate", {"threads": threads})
        for lib in ("numpy", "ort", "torch")
    ]


def load_corpora(quick: bool, docs: int | None, rt_docs: int) -> dict[str, tuple[list, str]]:
    """Corpus name -> (texts, description). Samples are seeded, so reruns see the same texts."""
    from tools.datasets import rotten_tomatoes, stdlib_docstrings

    rng = np.random.default_rng(0)
    doc = stdlib_docstrings()["text"].tolist()
    n_doc = min(docs or len(doc), len(doc))
    if n_doc < len(doc):
        doc = [doc[i] for i in sorted(rng.choice(len(doc), n_doc, replace=False))]
    rt = rotten_tomatoes()["text"].drop_duplicates().tolist()
    n_rt = min(rt_docs, len(rt))
    rt = [rt[i] for i in sorted(rng.choice(len(rt), n_rt, replace=False))]
    return {
        "docstrings": (doc, f"{len(doc):,} distinct stdlib docstrings, corpus order"),
        "rotten-tomatoes": (rt, f"{len(rt):,} distinct Rotten Tomatoes snippets (seeded sample)"),
    }


def corpus_report(
    name: str,
    desc: str,
    texts: list[str],
    results: dict[str, list[dict]],
    rates: dict[str, float],
    fp32_dir: str,
    max_length: int,
    vec_dir: Path,
) -> dict:
    """Print the table of one corpus; return its summary numbers for the targets."""
    lengths = common.token_lengths(texts, Path(fp32_dir) / "tokenizer.json", max_length)
    flops = common.encoder_flops(lengths, Path(fp32_dir) / "config.json")
    ref = _vectors(vec_dir, name, "dfembed")
    ort_rate = rates["ort"]
    summary = {"docs_s": {}, "rss_mb": {}, "cos_min": {}, "frac": {}}
    rows = []
    for who, runs in results.items():
        seconds = median_of(runs, "seconds")
        docs_s = len(texts) / seconds
        gflops = flops / seconds / 1e9
        vecs = _vectors(vec_dir, name, who)
        cos = common.cosines(ref, vecs) if ref is not None and vecs is not None else None
        cos_min = float(cos.min()) if cos is not None else float("nan")
        rss = common.max_of(runs, "peak_rss_mb")
        summary["docs_s"][who], summary["rss_mb"][who] = docs_s, rss
        summary["cos_min"][who], summary["frac"][who] = cos_min, gflops / ort_rate
        rows.append(
            [
                who,
                docs_s,
                lengths.sum() / seconds,
                gflops,
                100 * gflops / ort_rate,
                rss,
                median_of(runs, "load_s"),
                cos_min,
                len(common.ok(runs)),
            ]
        )
    dfe = summary["docs_s"]["dfembed"]
    for row in rows:
        row.insert(2, dfe / row[1])
    print(
        f"\n### {name}: {desc}; {lengths.sum():,} real tokens (mean {lengths.mean():.1f}, ", end=""
    )
    print(f"max {lengths.max()}), {flops / 1e12:.2f} TFLOP\n")
    headers = [
        "contender",
        "docs/s",
        "dfembed ÷ it",
        "tokens/s",
        "GFLOP/s",
        "% ORT matmul",
        "peak RSS MB",
        "load+warm-up s",
        "min cos vs dfembed",
        "runs ok",
    ]
    print(common.table(headers, rows, digits=(1, 1, 2, 0, 1, 1, 0, 1, 5, 0)))
    _ratio_matrix(summary["docs_s"])
    _failures(results)
    return summary


def _ratio_matrix(docs_s: dict[str, float]) -> None:
    names = list(docs_s)
    print("\ndocs/s ratio, row ÷ column:\n")
    rows = [[a, *(docs_s[a] / docs_s[b] for b in names)] for a in names]
    print(common.table(["", *names], rows, digits=2))


def _failures(results: dict[str, list[dict]]) -> None:
    for who, runs in results.items():
        for run in runs:
            if "error" in run:
                print(f"\n{who} failed: {run['error']}")


def _vectors(vec_dir: Path, corpus: str, who: str) -> np.ndarray | None:
    path = vec_dir / f"{corpus}-{who}.npy"
    return np.load(path) if path.is_file() else None


def rates_report(results: dict[str, list[dict]]) -> dict[str, float]:
    """Print the matmul rates (median over rounds of the best per round); return the best."""
    rows, best = [], {}
    for who, runs in results.items():
        lib = who.removeprefix("matmul-")
        ffn, square = median_of(runs, "ffn"), median_of(runs, "square")
        best[lib] = max(ffn, square)
        rows.append([lib, ffn, square, best[lib]])
    print("\n### Measured float32 matmul rate, 2 threads (GFLOP/s, median over rounds)\n")
    shapes = ", ".join(f"{k} {'x'.join(map(str, v))}" for k, v in matmul.SHAPES.items())
    print(common.table(["library", "ffn", "square", "best"], rows))
    print(f"\nshapes (MxKxN): {shapes}. '% ORT matmul' below divides by ORT's best.")
    return best


def _get(summary: dict, key: str, who: str) -> float:
    return summary.get(key, {}).get(who, float("nan"))


def mpnet_targets(doc: dict, rt: dict) -> None:
    """Print the base-size model's targets (as MiniLM's) against this run's numbers."""
    nan = float("nan")
    rows = []
    for corpus, s in (("docstrings", doc), ("rotten-tomatoes", rt)):
        d = s["docs_s"]
        loops = [v for k, v in d.items() if k.startswith("ort-")]
        dfe, st = d["dfembed"], d.get(_ST, nan)
        rows += [
            [f"{corpus}: dfembed ÷ sentence-transformers", ">= 1.3", dfe / st],
            [f"{corpus}: dfembed ÷ best ORT loop", ">= 0.95", dfe / max(loops, default=nan)],
            [f"{corpus}: dfembed FLOP rate ÷ ORT matmul", ">= 0.70", s["frac"]["dfembed"]],
            [f"{corpus}: {_INT8} ÷ sentence-transformers fp32", ">= 2.5", d.get(_INT8, nan) / st],
        ]
    for row in rows:
        value = row[2]
        row.append("–" if value != value else ("yes" if value >= float(row[1][3:]) else "NO"))
    print(f"\n### Targets, all-mpnet-base-v2 ({TARGETS_NOTE})\n")
    print(common.table(["target", "goal", "measured", "met"], rows, digits=3))


def targets(doc: dict, rt: dict, q: dict | None) -> None:
    """Print the issue's targets against this run's numbers (a dash where one was skipped)."""
    nan = float("nan")
    d, r = doc["docs_s"], rt["docs_s"]
    ort_loops = [v for k, v in d.items() if k.startswith("ort-")]
    best_ort = max(ort_loops) if ort_loops else nan
    fp32_peers = [k for k in doc["cos_min"] if not k.startswith("dfembed")]
    rt_peers = [k for k in rt["cos_min"] if not k.startswith("dfembed")]
    rows = [
        ["docstrings: dfembed ÷ fastembed", ">= 8", d["dfembed"] / d.get("fastembed", nan)],
        ["docstrings: dfembed ÷ sentence-transformers", ">= 1.3", d["dfembed"] / d.get(_ST, nan)],
        ["docstrings: dfembed ÷ best ORT loop", ">= 0.95", d["dfembed"] / best_ort],
        ["rotten-tomatoes: dfembed ÷ fastembed", ">= 2", r["dfembed"] / r.get("fastembed", nan)],
        ["docstrings: dfembed FLOP rate ÷ ORT matmul", ">= 0.70", doc["frac"]["dfembed"]],
    ]
    for corpus, docs_s in (("docstrings", d), ("rotten-tomatoes", r)):
        ratio = docs_s.get(_INT8, nan) / docs_s.get(_ST, nan)
        rows.append([f"{corpus}: {_INT8} ÷ sentence-transformers fp32", ">= 2.5", ratio])
    rows.append(["docstrings: dfembed peak RSS GB", "<= 1.2", doc["rss_mb"]["dfembed"] / 1024])
    for corpus, s, peers in (("docstrings", doc, fp32_peers), ("rotten-tomatoes", rt, rt_peers)):
        worst = min((s["cos_min"][k] for k in peers), default=nan)
        rows.append([f"{corpus}: min cos, dfembed vs fp32 peers", ">= 0.999", worst])
    scores = (q or {}).get("int8", {})
    for key, what in (("knn_delta", "k-NN"), ("probe_delta", "linear-probe")):
        rows.append([f"int8 − fp32 {what} accuracy (points)", ">= -0.5", scores.get(key, nan)])
    for row in rows:
        bound, value = float(row[1].split()[-1]), row[2]
        met = value >= bound if row[1].startswith(">") else value <= bound
        row.append("–" if value != value else ("yes" if met else "NO"))
    print(f"\n### Targets ({TARGETS_NOTE})\n")
    print(common.table(["target", "goal", "measured", "met"], rows, digits=3))


_ST = "sentence-transformers"
#: The contender the issue's int8 targets are measured on (dynamic quantization).
_INT8 = "dfembed-int8"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its tables."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.throughput", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--model",
        choices=list(MODEL_SETS),
        default="minilm",
        help="all-MiniLM-L6-v2 (default) or the base-size all-mpnet-base-v2",
    )
    parser.add_argument(
        "--quick", action="store_true", help="small samples (MiniLM 300 + 600 texts), 1 round"
    )
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 2)")
    parser.add_argument("--docs", type=int, default=None, help="docstrings (MiniLM: all)")
    parser.add_argument("--rt-docs", type=int, default=None, help="snippets (MiniLM: 2,000)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--skip", nargs="*", default=[], help="contenders to leave out")
    parser.add_argument("--extra", action="store_true", help=f"also run {', '.join(EXTRA)}")
    parser.add_argument("--no-quality", action="store_true", help="skip the int8 quality check")
    parser.add_argument(
        "--quality-models",
        nargs="*",
        default=["fp32", "int8"],
        choices=["fp32", "int8", "int8-weights"],
        help="models in the quality check: int8 (minilm-dynq8), int8-weights (minilm-int8) "
        "(fp32 is always the reference)",
    )
    parser.add_argument("--out", default=None, help="folder for vectors and raw JSON results")
    args = parser.parse_args(argv)
    rounds = args.rounds or (1 if args.quick else 2)
    label, sizes, quick_sizes = MODEL_SETS[args.model]
    docs = args.docs or (quick_sizes if args.quick else sizes)[0]
    rt_docs = args.rt_docs or (quick_sizes if args.quick else sizes)[1]

    common.set_thread_env(args.threads)
    from tools.make_reference import st_model_dir
    from tools.offline_models import build, st_mpnet_dir

    if args.model == "mpnet":
        fp32, st_dir = str(build("mpnet-base")), str(st_mpnet_dir())
        every = mpnet_contenders(fp32, st_dir, args.threads, args.max_length)
    else:
        fp32, int8 = str(build("minilm-fp32")), str(build("minilm-dynq8"))
        int8_weights, st_dir = str(build("minilm-int8")), str(st_model_dir())
        every = contenders(fp32, int8, int8_weights, st_dir, args.threads, args.max_length)
    out = Path(args.out or tempfile.mkdtemp(prefix="dfembed-bench-"))
    vec_dir = out / "vectors"
    vec_dir.mkdir(parents=True, exist_ok=True)
    title = f"Throughput: fp32 {label}, truncation {args.max_length}, {args.threads} threads"
    print(common.header(title))
    print(f"{rounds} interleaved round(s), each contender in a fresh child process; docs/s is the")
    print("median over rounds of one timed pass after load + a 32-text warm-up; peak RSS is the")
    print("child's own ru_maxrss. fastembed: default batch 256, tokenizer re-truncated to 256")
    print(
        "(it would use 512). sentence-transformers: batch 32, max_seq_length 256, torch threads 2."
    )
    print(f"The stdlib has only {docs or 'its ~2,000'} distinct docstrings: none are repeated.")
    if args.model == "mpnet":
        print("dfembed-int8: the fp32 file quantized when the session loads (precision int8).")
    print(f"FLOPs: {common.FLOPS_FORMULA}")
    from .fusion import kept_decision

    print(f"dfembed's graph (graph fusion): {kept_decision(fp32, args.threads)}")

    unknown = sorted(set(args.skip) - {c.name for c in every})
    if unknown:  # e.g. a name from before dfembed-dynq8 became dfembed-int8
        parser.error(f"--skip: unknown contender(s) {', '.join(unknown)}")
    runs = [c for c in every if c.name not in args.skip and (args.extra or c.name not in EXTRA)]
    probes = matmul_contenders(args.threads)
    all_results: dict = {}
    summaries = {}
    for corpus, (texts, desc) in load_corpora(args.quick, docs, rt_docs).items():
        path = common.save_texts(texts, out / f"{corpus}.json")
        for c in runs:
            c.kwargs["corpus"] = path
        save = {c.name: {"save": str(vec_dir / f"{corpus}-{c.name}.npy")} for c in runs}
        print(f"\n{corpus}: {desc}", flush=True)
        results = interleave([*runs, *probes], rounds, first_round_extra=save)
        all_results[corpus] = results
        rates = rates_report({k: v for k, v in results.items() if k.startswith("matmul-")})
        emb = {k: v for k, v in results.items() if not k.startswith("matmul-")}
        summaries[corpus] = corpus_report(
            corpus, desc, texts, emb, rates, fp32, args.max_length, vec_dir
        )
    q = None
    if args.model == "mpnet":
        if "dfembed" in {c.name for c in runs}:
            mpnet_targets(summaries["docstrings"], summaries["rotten-tomatoes"])
        (out / "throughput.json").write_text(json.dumps(all_results, indent=1, default=str))
        print(f"\nraw results and vectors: {out} (int8 quality: python -m benchmarks.int8)")
        return 0
    if not args.no_quality:
        known = {"fp32": fp32, "int8": int8, "int8-weights": int8_weights}
        models = {k: v for k, v in known.items() if k == "fp32" or k in args.quality_models}
        limit = 1000 if args.quick else None
        q = quality.run(models, args.threads, args.max_length, out, limit=limit)
        all_results["quality"] = q
    if "dfembed" in {c.name for c in runs}:
        targets(summaries["docstrings"], summaries["rotten-tomatoes"], q)
    (out / "throughput.json").write_text(json.dumps(all_results, indent=1, default=str))
    print(f"\nraw results and vectors: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
