"""The whole job on Dask, parquet in -> vectors -> parquet out: dfembed against hand-written code.

A user who does not know dfembed writes ``ddf.map_partitions(encode)`` with
sentence-transformers or fastembed, the model loaded once per worker into a module global,
and ``ddf.to_parquet``. This script runs those two next to dfembed's Python API
(``dfembed.to_parquet(ddf.assign(vec=ddf.embed.text(...)))``) and its CLI
(``python -m dfembed text ... --scheduler ADDR``), on the same input, model
(all-MiniLM-L6-v2: one ONNX file for dfembed and fastembed, the safetensors it was
exported from for sentence-transformers), truncation (256 tokens) and cluster: a plain
``LocalCluster(n_workers=2, threads_per_worker=1)`` as a user would start it, one per run.

The input: Rotten Tomatoes snippets and SMS messages (10k distinct real texts) repeated to
``--rows``, each copy after the first given a unique suffix (" #3") so that no contender
can skip work by deduplicating, written as ``--partitions`` parquet files.

Each run happens in a fresh child process (interleaved by round) that starts the cluster,
then times the job from reading the input to the last file written (model loads included:
they are part of the job; the cluster's start is not). Reported: rows/s, each worker's
peak RSS (the worker process's own ``ru_maxrss``, read from the worker after the job), the
bytes of parquet written, and the time until the first output file appears (a thread
watches the output's parent folder, hidden staging folders included: each contender
writes a partition's file once its vectors are computed).

Run::

    .venv/bin/python -m benchmarks.endtoend                 # 100,000 rows, 1 round
    .venv/bin/python -m benchmarks.endtoend --rows 20000 --rounds 2
    .venv/bin/python -m benchmarks.endtoend --quick         # 400 rows: a plumbing check
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from . import common
from .common import Contender, interleave, median_of
from .scaling import _worker_rss, unique_rows

#: Truncation for every contender (sentence-transformers' own for this model).
MAX_LENGTH = 256
CONTENDERS = ("dfembed-api", "dfembed-cli", "hand-sentence-transformers", "hand-fastembed")

# --------------------------------------------------------------------------- hand-written

#: The model each worker loads once (what a user keeps in a module global).
_MODEL = None


def st_encode(part, model: str):
    """Hand-written sentence-transformers partition function (model cached per worker)."""
    global _MODEL
    if _MODEL is None:
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(1)  # one thread per worker, as the other contenders
        _MODEL = SentenceTransformer(model, device="cpu", local_files_only=True)
        _MODEL.max_seq_length = MAX_LENGTH
    vectors = _MODEL.encode(
        part["text"].tolist(), batch_size=32, normalize_embeddings=True, show_progress_bar=False
    )
    return part.assign(vec=list(vectors))


def fastembed_encode(part, model: str):
    """Hand-written fastembed partition function (model cached per worker)."""
    global _MODEL
    if _MODEL is None:
        from fastembed import TextEmbedding

        _MODEL = TextEmbedding(
            model_name="sentence-transformers/all-MiniLM-L6-v2",
            specific_model_path=model,
            threads=1,
            providers=["CPUExecutionProvider"],
        )
        tok = _MODEL.model.tokenizer  # fastembed would truncate at 512
        tok.enable_truncation(max_length=MAX_LENGTH, direction=tok.truncation["direction"])
    return part.assign(vec=list(_MODEL.embed(part["text"].tolist())))


# --------------------------------------------------------------------------- one run


class _FirstFile:
    """Watches a folder (recursively) for its first ``.parquet`` file, from ``started``."""

    def __init__(self, folder: Path, started: float) -> None:
        self.folder, self.started, self.seconds = folder, started, float("nan")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.is_set():
            for _, _, names in os.walk(self.folder):
                if any(n.endswith(".parquet") for n in names):
                    self.seconds = time.perf_counter() - self.started
                    return
            self._stop.wait(0.05)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.seconds


def job(kind: str, source: str, out_parent: str, model: str, st_dir: str, rows: int) -> dict:
    """In a child: start a 2-worker LocalCluster, run one contender's job, measure it."""
    import dask.dataframe as dd
    import pandas as pd
    import pyarrow as pa
    from distributed import Client, LocalCluster

    parent = Path(out_parent)
    parent.mkdir(parents=True, exist_ok=True)
    out = parent / "vectors"
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        local_directory=str(parent / "dask"),
    )
    client = Client(cluster)
    try:
        started = time.perf_counter()
        watch = _FirstFile(parent, started)
        if kind == "dfembed-cli":
            cmd = [sys.executable, "-m", "dfembed", "text", source, "--column", "text"]
            cmd += ["--output", str(out), "--model", model, "--max-length", str(MAX_LENGTH)]
            cmd += ["--scheduler", cluster.scheduler_address]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode:
                raise RuntimeError(f"the CLI failed: {done.stderr.strip()[-2000:]}")
        elif kind == "dfembed-api":
            import dfembed

            ddf = dd.read_parquet(source)
            vec = ddf.embed.text("text", model=model, max_length=MAX_LENGTH)
            dfembed.to_parquet(ddf.assign(vec=vec), out)
        else:
            encode = st_encode if kind == "hand-sentence-transformers" else fastembed_encode
            where = st_dir if encode is st_encode else model
            ddf = dd.read_parquet(source)
            meta = ddf._meta.assign(vec=pd.Series([], dtype=object))
            # Dask cannot infer an Arrow type for an object column: users write the schema
            schema = pa.schema(
                [("id", pa.int64()), ("text", pa.string()), ("vec", pa.list_(pa.float32()))]
            )
            ddf = ddf.map_partitions(encode, where, meta=meta)
            ddf.to_parquet(str(out), write_index=False, schema=schema)
        seconds = time.perf_counter() - started
        first = watch.stop()
        workers = client.run(_worker_rss)
    finally:
        client.close()
        cluster.close()
    return {"seconds": seconds, "first_s": first, **_written(out, rows), **_peaks(workers)}


def _written(out: Path, rows: int) -> dict:
    """Bytes and rows of the parquet files under ``out``; every row must be there."""
    import pyarrow.parquet as pq

    files = sorted(out.rglob("*.parquet"))
    written = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    if written != rows:
        raise AssertionError(f"{written} rows written for {rows} read")
    return {"files": len(files), "bytes": sum(f.stat().st_size for f in files)}


def _peaks(workers: dict) -> dict:
    peaks = sorted(r["peak_rss_mb"] for r in workers.values())
    return {"worker_peak_rss_mb": peaks, "max_worker_rss_mb": max(peaks)}


# --------------------------------------------------------------------------- input, report


def write_input(rows: int, partitions: int, folder: Path) -> str:
    """Real texts repeated to ``rows`` (unique suffixes), as ``partitions`` parquet files."""
    import pandas as pd

    from tools.datasets import rotten_tomatoes, sms_spam

    base = pd.concat([rotten_tomatoes()["text"], sms_spam()["text"]]).dropna()
    texts = unique_rows(base.drop_duplicates().tolist(), rows)
    folder.mkdir(parents=True)
    step = -(-rows // partitions)
    for i, start in enumerate(range(0, rows, step)):
        frame = pd.DataFrame({"id": range(start, min(rows, start + step))})
        frame["text"] = texts[start : start + step]
        frame.to_parquet(folder / f"part-{i:03d}.parquet", index=False)
    return str(folder)


def report(results: dict[str, list[dict]], rows: int) -> None:
    """Print the table: rows/s, ratios to the best hand-written run, memory, bytes, first file."""
    hand = [median_of(results[k], "seconds") for k in results if k.startswith("hand-")]
    best_hand = min((s for s in hand if s == s), default=float("nan"))
    table_rows = []
    for who, runs in results.items():
        seconds = median_of(runs, "seconds")
        peaks = [r["worker_peak_rss_mb"] for r in common.ok(runs)]
        per_worker = " / ".join(f"{p:,.0f}" for p in peaks[-1]) if peaks else "–"
        table_rows.append(
            [
                who,
                seconds,
                rows / seconds,
                best_hand / seconds,
                median_of(runs, "first_s"),
                per_worker,
                common.max_of(runs, "max_worker_rss_mb"),
                median_of(runs, "bytes") / 2**20,
                f"{len(common.ok(runs))}/{len(runs)}",
            ]
        )
    headers = ["contender", "seconds", "rows/s", "÷ best hand-written", "first file s",
               "peak RSS MB per worker", "max worker MB", "parquet MB", "runs ok"]  # fmt: skip
    print(common.table(headers, table_rows, digits=(1, 1, 0, 2, 1, 1, 0, 1, 1)))
    for who, runs in results.items():
        for run in runs:
            if "error" in run:
                print(f"\n{who} failed: {run['error']}")
    _targets(results, best_hand)


def _targets(results: dict[str, list[dict]], best_hand: float) -> None:
    """The issue's targets: >= 1.5x the best hand-written rows/s, no more memory per worker."""
    hand_rss = [common.max_of(results[k], "max_worker_rss_mb") for k in results if "hand-" in k]
    hand_rss = [r for r in hand_rss if r == r]
    rows = []
    for who in ("dfembed-api", "dfembed-cli"):
        if who not in results:
            continue
        speed = best_hand / median_of(results[who], "seconds")
        rss = common.max_of(results[who], "max_worker_rss_mb")
        low = min(hand_rss, default=float("nan"))
        rows.append([f"{who} rows/s ÷ best hand-written", ">= 1.5", speed, _met(speed, 1.5)])
        rows.append([f"{who} max worker MB ÷ lowest hand-written", "<= 1.0", rss / low,
                     _met(1.0, rss / low)])  # fmt: skip
    if not rows:
        return
    print("\n### Targets (ratios inside this one run)\n")
    print(common.table(["target", "goal", "measured", "met"], rows, digits=2))


def _met(high: float, low: float) -> str:
    """ "yes" where ``high >= low``, a dash where either is NaN."""
    if high != high or low != low:
        return "–"
    return "yes" if high >= low else "NO"


def main(argv: list[str] | None = None) -> int:
    """Write the input, run every contender round by round, print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.endtoend", description=__doc__)
    parser.add_argument("--rows", type=int, default=None, help="rows (default 100,000)")
    parser.add_argument("--partitions", type=int, default=None, help="input files (default 20)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="400 rows in 4 files")
    parser.add_argument("--skip", nargs="*", default=[], choices=CONTENDERS)
    args = parser.parse_args(argv)
    rows = args.rows or (400 if args.quick else 100_000)
    partitions = args.partitions or (4 if args.quick else 20)

    common.set_thread_env(1)
    from tools.make_reference import st_model_dir
    from tools.offline_models import build

    model, st_dir = str(build("minilm-fp32")), str(st_model_dir())
    tmp = Path(tempfile.mkdtemp(prefix="dfembed-endtoend-"))
    source = write_input(rows, partitions, tmp / "input")
    print(common.header("End to end on Dask: parquet in, vectors, parquet out"))
    print(
        f"{rows:,} rows (10k distinct Rotten Tomatoes snippets and SMS messages, repeated with "
        f"unique suffixes) in {partitions} parquet files; all-MiniLM-L6-v2 fp32, truncation "
        f"{MAX_LENGTH}; a fresh LocalCluster(n_workers=2, threads_per_worker=1) per run; "
        f"{args.rounds} interleaved round(s), medians. Hand-written: ddf.map_partitions("
        "encode) + ddf.to_parquet, model in a module global per worker, 1 thread; "
        "sentence-transformers batch 32, fastembed batch 256 (its defaults). dfembed: "
        "its defaults. The CLI connects to the run's cluster (--scheduler)."
    )
    every = [
        Contender(
            kind,
            "benchmarks.endtoend:job",
            {"kind": kind, "source": source, "model": model, "st_dir": st_dir, "rows": rows},
        )
        for kind in CONTENDERS
        if kind not in args.skip
    ]
    results: dict[str, list[dict]] = {c.name: [] for c in every}
    for r in range(args.rounds):  # a fresh output folder per run
        for c in every:
            c.kwargs["out_parent"] = str(tmp / f"out-{c.name}-{r}")
        order = every[r % len(every) :] + every[: r % len(every)]
        for name, runs in interleave(order, 1, log=False).items():
            results[name] += runs
            print(f"  round {r + 1}/{args.rounds} {name:<28} "
                  f"{runs[0].get('error') or format(runs[0]['seconds'], '.1f') + ' s'}",
                  flush=True)  # fmt: skip
    print()
    report(results, rows)
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
