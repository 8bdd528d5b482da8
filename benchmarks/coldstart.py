"""Cold start: seconds from launching Python to the first vector, cold and warm.

Each run is a fresh ``python`` process (imports count) that embeds ``--texts`` Rotten
Tomatoes snippets with all-MiniLM-L6-v2 (fp32, truncation 256) on two processes:

- ``dfembed parallel=2``: ``df.embed.text(..., parallel=2)`` on pandas (dfembed starts its
  own LocalCluster);
- ``dfembed LocalCluster``: the user starts ``LocalCluster(n_workers=2)`` and a client, then
  ``ddf.embed.text(...).compute()``;
- ``dfembed CLI``: ``python -m dfembed text IN.parquet ... --workers 2``; its first vector
  is the first parquet file to appear under the output's folder (the process then still
  moves the files into place and stops its cluster: "exit s");
- ``fastembed parallel=2``: ``TextEmbedding(...).embed(texts, parallel=2)``, first vector
  when the generator yields it (fastembed embeds in process, without its pool, when there
  are fewer texts than one batch of 256: ``--quick`` measures that);
- ``sentence-transformers pool``: ``start_multi_process_pool(["cpu", "cpu"])`` then
  ``encode(texts, pool=pool)``.

**Cold**: dfembed's folders of rewritten graphs and verified files (``DFEMBED_FUSED_DIR``,
``DFEMBED_VERIFIED_DIR``, its embedding cache) point at a new, empty temporary folder, so
the model is fused (or its fusion measured and declined) on the spot, as on a machine that
never saw it. **Warm**: the same folders right after that cold run (the rewritten graph on
disk). fastembed and sentence-transformers keep nothing of the kind: their cold and warm
runs differ only in what the OS page cache holds (the model files are read from the same
local folders in both; nothing is downloaded by anyone).

Run::

    .venv/bin/python -m benchmarks.coldstart            # 300 texts, 2 rounds
    .venv/bin/python -m benchmarks.coldstart --quick    # 8 texts, 1 round
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

MAX_LENGTH = 256

#: The start of every script: the launch-to-now clock and how the first vector is reported.
_PRELUDE = """\
import json, sys, time
def first(vectors):
    assert len(vectors) > 0 and len(vectors[0]) > 0
    print("FIRST", time.time(), flush=True)
texts = json.load(open(sys.argv[1]))
model = sys.argv[2]
"""

#: Scenario name -> its script's body (run under ``if __name__ == "__main__":``, which the
#: process pools of Dask, fastembed and sentence-transformers need).
SCRIPTS = {
    "dfembed parallel=2": """\
import pandas as pd
import dfembed
frame = pd.DataFrame({"text": texts})
vectors = dfembed.to_numpy(frame.embed.text("text", model=model, max_length=256, parallel=2))
first(vectors)
""",
    "dfembed LocalCluster": """\
import dask.dataframe as dd
import pandas as pd
from distributed import Client, LocalCluster
import dfembed
cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
client = Client(cluster)
ddf = dd.from_pandas(pd.DataFrame({"text": texts}), npartitions=2)
vectors = dfembed.to_numpy(ddf.embed.text("text", model=model, max_length=256).compute())
first(vectors)
client.close()
cluster.close()
""",
    "fastembed parallel=2": """\
from fastembed import TextEmbedding
m = TextEmbedding(model_name="sentence-transformers/all-MiniLM-L6-v2",
                  specific_model_path=model, threads=1, providers=["CPUExecutionProvider"])
tok = m.model.tokenizer
tok.enable_truncation(max_length=256, direction=tok.truncation["direction"])
stream = m.embed(texts, parallel=2)
first([next(iter(stream))])
rest = list(stream)
""",
    "sentence-transformers pool": """\
from sentence_transformers import SentenceTransformer
st = SentenceTransformer(model, device="cpu", local_files_only=True)
st.max_seq_length = 256
pool = st.start_multi_process_pool(["cpu", "cpu"])
first(st.encode(texts, pool=pool, normalize_embeddings=True))
st.stop_multi_process_pool(pool)
""",
}
CLI = "dfembed CLI"
NAMES = (*SCRIPTS, CLI)
#: The runs whose cold start rewrites a graph (the others have nothing to make).
DFEMBED = {"dfembed parallel=2", "dfembed LocalCluster", CLI}


def write_script(name: str, folder: Path) -> Path:
    """The scenario as a file (pools re-import ``__main__``: it must be a real module)."""
    body = "".join(f"    {line}\n" for line in (_PRELUDE + SCRIPTS[name]).splitlines())
    path = folder / (name.replace(" ", "_").replace("=", "") + ".py")
    path.write_text(f'if __name__ == "__main__":\n{body}')
    return path


def _cli_command(source: str, out: Path, model: str) -> list[str]:
    where = ["--output", str(out), "--model", model, "--max-length", str(MAX_LENGTH)]
    return [sys.executable, "-m", "dfembed", "text", source, "--column", "text", *where,
            "--workers", "2"]  # fmt: skip


def run_once(cmd: list[str], env: dict[str, str], watch: Path | None, timeout: float) -> dict:
    """Launch ``cmd``; seconds to its FIRST line (or to a parquet file under ``watch``), exit."""
    started = time.time()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = float("nan")
    while watch is not None and proc.poll() is None and first != first:
        if any(n.endswith(".parquet") for _, _, names in os.walk(watch) for n in names):
            first = time.time() - started
        time.sleep(0.02)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return {"error": f"timed out after {timeout:.0f} s"}
    exit_s = time.time() - started
    if proc.returncode:
        return {"error": (err.strip().splitlines() or ["no output"])[-1][:300]}
    for line in out.splitlines():
        if line.startswith("FIRST "):
            first = float(line.split()[1]) - started
    if watch is not None and first != first:  # written between two polls, just before exit
        first = exit_s
    return {"first_s": first, "exit_s": exit_s}


def scenario_env(store: Path, base: dict[str, str]) -> dict[str, str]:
    """The environment of a run: dfembed's machine folders under ``store``, 1 thread each."""
    from dfembed.io.cache import CACHE_ENV

    env = dict(base)
    env["DFEMBED_FUSED_DIR"] = str(store / "fused")
    env["DFEMBED_VERIFIED_DIR"] = str(store / "verified")
    env[CACHE_ENV] = str(store / "embeddings")
    env["DASK_TEMPORARY_DIRECTORY"] = str(store / "dask")
    for var in common.THREAD_VARS:
        env[var] = "1"
    env["TOKENIZERS_PARALLELISM"] = "false"
    return env


def run_rounds(
    names: list[str], rounds: int, texts: list[str], model: str, st_dir: str, timeout: float
) -> dict[str, dict[str, list[dict]]]:
    """Every scenario cold then warm, round by round, in an order rotated each round."""
    tmp = Path(tempfile.mkdtemp(prefix="dfembed-coldstart-"))
    corpus = tmp / "texts.json"
    corpus.write_text(json.dumps(texts))
    import pandas as pd

    source = tmp / "texts.parquet"
    pd.DataFrame({"text": texts}).to_parquet(source, index=False)
    results: dict[str, dict[str, list[dict]]] = {n: {"cold": [], "warm": []} for n in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            store = tmp / f"store-{r}-{name.replace(' ', '_')}"
            env = scenario_env(store, dict(os.environ))
            where = st_dir if name.startswith("sentence") else model
            for state in ("cold", "warm"):
                watch = None
                if name == CLI:
                    watch = store / f"out-{state}"
                    watch.mkdir(parents=True)
                    cmd = _cli_command(str(source), watch / "vectors", where)
                else:
                    script = write_script(name, tmp)
                    cmd = [sys.executable, str(script), str(corpus), where]
                out = run_once(cmd, env, watch, timeout)
                results[name][state].append(out)
                what = out.get("error") or f"{out['first_s']:.1f} s to the first vector"
                print(f"  round {r + 1}/{rounds} {name:<28} {state}: {what}", flush=True)
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    return results


def _median(runs: list[dict], key: str) -> float:
    values = [r[key] for r in runs if "error" not in r]
    return statistics.median(values) if values else float("nan")


def report(results: dict[str, dict[str, list[dict]]]) -> None:
    """The table (medians), then the issue's targets."""
    rows = []
    for name, states in results.items():
        cold, warm = states["cold"], states["warm"]
        ok = sum("error" not in r for r in cold + warm)
        rows.append([name, _median(cold, "first_s"), _median(warm, "first_s"),
                     _median(cold, "exit_s"), _median(warm, "exit_s"),
                     f"{ok}/{len(cold) + len(warm)}"])  # fmt: skip
    headers = ["run", "cold: first vector s", "warm: first vector s", "cold: exit s",
               "warm: exit s", "runs ok"]  # fmt: skip
    print(common.table(headers, rows, digits=1))
    for name, states in results.items():
        for state, runs in states.items():
            for run in runs:
                if "error" in run:
                    print(f"\n{name} ({state}) failed: {run['error']}")
    peers = [_median(results[n]["cold"], "first_s") for n in results if n not in DFEMBED]
    fastest_peer = min((p for p in peers if p == p), default=float("nan"))
    target_rows = []
    for name in (n for n in results if n in DFEMBED):
        warm = _median(results[name]["warm"], "first_s")
        cold = _median(results[name]["cold"], "first_s")
        target_rows.append([f"{name}: warm start s", "< 5", warm, _met(warm < 5, warm)])
        target_rows.append([f"{name}: cold s ÷ fastest peer cold", "<= 1.0", cold / fastest_peer,
                            _met(cold <= fastest_peer, cold / fastest_peer)])  # fmt: skip
    if target_rows:
        print("\n### Targets (warm under 5 s; cold no slower than either peer cold)\n")
        print(common.table(["target", "goal", "measured", "met"], target_rows, digits=2))


def _met(flag: bool, value: float) -> str:
    return "–" if value != value else ("yes" if flag else "NO")


def main(argv: list[str] | None = None) -> int:
    """Run every scenario cold and warm, print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.coldstart", description=__doc__)
    parser.add_argument(
        "--texts",
        type=int,
        default=None,
        help="texts (default 300; fastembed skips its pool below one batch, 256)",
    )
    parser.add_argument("--rounds", type=int, default=None, help="default 2 (--quick: 1)")
    parser.add_argument("--quick", action="store_true", help="8 texts, 1 round")
    parser.add_argument("--skip", nargs="*", default=[], choices=NAMES)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    args = parser.parse_args(argv)
    n = args.texts or (8 if args.quick else 300)
    rounds = args.rounds or (1 if args.quick else 2)

    from tools.datasets import rotten_tomatoes
    from tools.make_reference import st_model_dir
    from tools.offline_models import build

    model, st_dir = str(build("minilm-fp32")), str(st_model_dir())
    texts = rotten_tomatoes()["text"].drop_duplicates().tolist()[:n]
    print(common.header("Cold start: launching Python to the first vector, 2 processes"))
    print(
        f"{n} Rotten Tomatoes snippets, all-MiniLM-L6-v2 fp32 (local folders), truncation "
        f"{MAX_LENGTH}, 1 thread per process; each run a fresh `python` process; {rounds} "
        "round(s), each scenario cold then warm, medians. Cold: dfembed's rewritten-graph, "
        "verified-file and cache folders empty; warm: as the cold run left them."
    )
    names = [name for name in NAMES if name not in args.skip]
    results = run_rounds(names, rounds, texts, model, st_dir, args.timeout)
    print()
    report(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
