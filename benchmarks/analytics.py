"""Analytics at Dask scale: exact top-k search against faiss, and near-duplicates.

Data: real MiniLM vectors (``minilm-int8``) of every distinct text of three real corpora
(Rotten Tomatoes snippets, SMS messages, news titles: about 14,000), repeated to
``--rows`` rows (1M) with small noise: row ``i`` is base vector ``i mod B`` plus Gaussian
noise of norm ``s ~ U(0.05, 0.45)``, renormalized. Copies of one text land at cosine 0.9 to
0.99 of each other: real neighbourhoods, plenty of near-duplicates, no exact ties. The rows
are written as parquet files of ``--partition-rows`` rows (dfembed's writer) with an ``id``
index = row number, and every run reads them from disk. Queries: ``--queries`` (1,000)
sampled base vectors with fresh noise.

Runs, each in a fresh child process (peak RSS is its own, or each worker's):

- ``dfembed.nearest`` on a 2-worker ``LocalCluster`` (1 thread each) over the parquet
  folder: per-partition top-k and a tree merge, reading the files included (as faiss's
  add includes reading them); then once more on the column persisted in the workers'
  memory (the search alone). Peak RSS per worker (the first run's).
- faiss-cpu ``IndexFlatIP`` (exact inner product) with 2 OpenMP threads: files added one at
  a time, then one ``search``; seconds of add and of search.
- ``dfembed.nearest`` in process on the whole column loaded as one pandas Series.

The three run in interleaved rounds (``--rounds``, default 2): medians of seconds.

"identical" compares each query's 10 row ids, in order, with dfembed's answer; where
they differ, the score gap says whether it is a float32 near-tie (faiss ranks by its own
float32 product; dfembed by exact scores).

Near-duplicates: ``dfembed.near_duplicates`` at 0.95 on the first ``--dup-rows`` rows
(200k) on the 2-worker cluster (blocked, recall measured on 1,000 sampled rows against
exact search); blocked vs exact on the first ``--exact-rows`` rows (50k) in process.

Run::

    .venv/bin/python -m benchmarks.analytics            # 1M rows, 1,000 queries, 200k dedup
    .venv/bin/python -m benchmarks.analytics --quick    # 100k rows, 100 queries, 20k dedup
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from . import common


def base_vectors(model: str) -> np.ndarray:
    """MiniLM vectors of every distinct text of three real corpora (cached on disk)."""
    import pandas as pd

    from tools.datasets import news_articles, rotten_tomatoes, sms_spam
    from tools.offline_models import assets_root

    texts = pd.concat(
        [rotten_tomatoes()["text"], sms_spam()["text"], news_articles()["title"]],
        ignore_index=True,
    )
    texts = texts[texts.str.strip() != ""].drop_duplicates().reset_index(drop=True)
    cache = assets_root() / "bench" / f"analytics-base-{len(texts)}.npy"
    if cache.is_file():
        return np.load(cache)
    import dfembed

    matrix = dfembed.to_numpy(texts.embed.text(model=model, threads=2))
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, matrix)
    return matrix


def noisy(base: np.ndarray, rows: np.ndarray, seed: int) -> np.ndarray:
    """Base rows ``rows mod len(base)`` plus noise of norm U(0.05, 0.45), renormalized."""
    rng = np.random.default_rng(seed)
    dim = base.shape[1]
    noise = rng.standard_normal((len(rows), dim)).astype(np.float32)
    noise *= (rng.uniform(0.05, 0.45, len(rows)) / np.sqrt(dim)).astype(np.float32)[:, None]
    out = base[rows % len(base)] + noise
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def write_rows(base: np.ndarray, rows: int, partition_rows: int, folder: Path) -> int:
    """Write the noisy rows as parquet files; returns the number of files."""
    import pandas as pd

    import dfembed
    from dfembed.columns import dense

    files = 0
    for start in range(0, rows, partition_rows):
        ids = np.arange(start, min(start + partition_rows, rows))
        matrix = noisy(base, ids, seed=start)
        index = pd.Index(ids, name="id")
        vec = dense(matrix, np.ones(len(ids), dtype=bool), index, "vec", matrix.shape[1])
        dfembed.write_parquet(vec.to_frame(), folder / f"part-{files:04d}.parquet")
        files += 1
    return files


# ------------------------------------------------------------------------------ children


def peak_mb() -> float:
    """This process's peak RSS in MiB: ``VmHWM``, which (unlike ``ru_maxrss``) restarts at
    ``exec``, so a child spawned by a large parent does not report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return common.peak_rss_mb()


def _import_dfembed() -> None:
    import dfembed  # noqa: F401


def _cluster(local_dir: str):
    """Two single-threaded workers, dfembed imported in each (not part of any timing)."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        local_directory=local_dir,
    )
    client = Client(cluster)
    client.run(_import_dfembed)
    return cluster, client


def _read(folder: str, files: int | None = None):
    import dask.dataframe as dd

    paths = sorted(Path(folder).glob("part-*.parquet"))[:files]
    return dd.read_parquet([str(p) for p in paths], dtype_backend="pyarrow")["vec"]


def dask_nearest(folder: str, queries: str, k: int, local_dir: str, out: str) -> dict:
    """In a child: ``dfembed.nearest`` on 2 workers over the parquet folder (reading it),
    then again on the column persisted in the workers' memory (search alone)."""
    from distributed import wait

    import dfembed

    cluster, client = _cluster(local_dir)
    try:
        start_mb = client.run(peak_mb)
        q = np.load(queries)
        started = time.perf_counter()
        result = dfembed.nearest(q, _read(folder), k=k).compute()
        seconds = time.perf_counter() - started
        peak = client.run(peak_mb)
        column = _read(folder).persist()  # the search alone, on vectors already in memory
        wait(column)
        started = time.perf_counter()
        again = dfembed.nearest(q, column, k=k).compute()
        persisted = time.perf_counter() - started
        if not again.equals(result):
            raise AssertionError("the search of the persisted column gave another answer")
    finally:
        client.close()
        cluster.close()
    np.save(out, result["row"].to_numpy(dtype=np.int64).reshape(len(q), k))
    np.save(out.replace(".npy", "-scores.npy"), result["score"].to_numpy().reshape(len(q), k))
    return {
        "seconds": seconds,
        "persisted_s": persisted,
        "worker_peak_rss_mb": list(peak.values()),
        "worker_start_rss_mb": list(start_mb.values()),
    }


def faiss_flat(folder: str, queries: str, k: int, out: str) -> dict:
    """In a child: faiss ``IndexFlatIP``, 2 threads; files added one at a time."""
    import faiss
    import pyarrow.parquet as pq

    faiss.omp_set_num_threads(2)
    q = np.load(queries)
    started = time.perf_counter()
    index = None
    for path in sorted(Path(folder).glob("part-*.parquet")):
        column = pq.read_table(path, columns=["vec"]).column("vec").combine_chunks()
        matrix = column.values.to_numpy().reshape(len(column), -1)
        if index is None:
            index = faiss.IndexFlatIP(matrix.shape[1])
        index.add(matrix)
        del column, matrix
    added = time.perf_counter() - started
    started = time.perf_counter()
    scores, ids = index.search(q, k)
    searched = time.perf_counter() - started
    np.save(out, ids.astype(np.int64))
    np.save(out.replace(".npy", "-scores.npy"), scores)
    return {"seconds": added + searched, "add_s": added, "search_s": searched, "peak": peak_mb()}


def pandas_nearest(folder: str, queries: str, k: int, out: str) -> dict:
    """In a child: ``dfembed.nearest`` in process on the whole column as one Series."""
    import dfembed

    started = time.perf_counter()
    column = dfembed.read_parquet(folder)["vec"]
    load_s = time.perf_counter() - started
    q = np.load(queries)
    started = time.perf_counter()
    result = dfembed.nearest(q, column, k=k)
    seconds = time.perf_counter() - started
    np.save(out, result["row"].to_numpy(dtype=np.int64).reshape(len(q), k))
    return {"seconds": seconds, "load_s": load_s, "peak": peak_mb()}


def dask_duplicates(folder: str, files: int, local_dir: str, recall_sample: int) -> dict:
    """In a child: ``dfembed.near_duplicates`` (blocked) on 2 workers over ``files`` files."""
    import dfembed

    cluster, client = _cluster(local_dir)
    try:
        column = _read(folder, files).persist()
        rows = len(column)
        start_mb = client.run(peak_mb)
        started = time.perf_counter()
        found = dfembed.near_duplicates(column, 0.95, recall_sample=recall_sample)
        dropped = int((~found.keep).sum().compute())
        seconds = time.perf_counter() - started
        peak = client.run(peak_mb)
    finally:
        client.close()
        cluster.close()
    return {
        "seconds": seconds,
        "rows": rows,
        "pairs": len(found.pairs),
        "dropped": dropped,
        "clusters": found.clusters,
        "recall": found.recall,
        "recall_pairs": found.recall_pairs,
        "worker_peak_rss_mb": list(peak.values()),
        "worker_start_rss_mb": list(start_mb.values()),
    }


def local_duplicates(folder: str, rows: int, exact: bool) -> dict:
    """In a child: ``dfembed.near_duplicates`` in process on the first ``rows`` rows."""
    import dfembed

    column = dfembed.read_parquet(sorted(Path(folder).glob("part-*.parquet"))[0])["vec"]
    column = column.iloc[:rows]
    started = time.perf_counter()
    found = dfembed.near_duplicates(column, 0.95, exact=exact)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "pairs": len(found.pairs), "clusters": found.clusters}


# ------------------------------------------------------------------------------ report


def compare(ours: np.ndarray, ours_scores: np.ndarray, theirs: np.ndarray, base_scores) -> dict:
    """How many queries got the same ids in the same order; the score gap where not."""
    same = (ours == theirs).all(axis=1)
    gaps = []
    for q in np.flatnonzero(~same):
        first = int(np.argmax(ours[q] != theirs[q]))
        gaps.append(abs(float(ours_scores[q, first]) - float(base_scores[q, first])))
    return {"same": int(same.sum()), "max_gap": max(gaps, default=0.0)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.analytics")
    parser.add_argument("--quick", action="store_true", help="100k rows, 100 queries, 20k dedup")
    parser.add_argument("--rows", type=int, default=None, help="default 1,000,000")
    parser.add_argument("--queries", type=int, default=None, help="default 1,000")
    parser.add_argument("--partition-rows", type=int, default=50_000)
    parser.add_argument("--dup-rows", type=int, default=None, help="default 200,000")
    parser.add_argument("--exact-rows", type=int, default=None, help="default 50,000")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=None, help="search rounds (default 2)")
    parser.add_argument("--skip-pandas", action="store_true", help="no in-process run")
    args = parser.parse_args(argv)
    rows = args.rows or (100_000 if args.quick else 1_000_000)
    nq = args.queries or (100 if args.quick else 1_000)
    dup_rows = args.dup_rows or (20_000 if args.quick else 200_000)
    exact_rows = args.exact_rows or (5_000 if args.quick else 50_000)
    part = min(args.partition_rows, rows)
    args.rounds = args.rounds or (1 if args.quick else 2)

    common.set_thread_env(1)
    from tools.offline_models import build

    model = str(build("minilm-int8"))
    tmp = Path(tempfile.mkdtemp(prefix="dfembed-analytics-"))
    local_dir = str(tmp / "dask")
    try:
        print(common.header("Analytics: exact top-k and near-duplicates"))
        base = base_vectors(model)
        folder = tmp / "rows"
        files = write_rows(base, rows, part, folder)
        rng = np.random.default_rng(12345)
        queries = noisy(base, rng.choice(len(base), nq, replace=False), seed=999)
        np.save(tmp / "queries.npy", queries)
        print(
            f"{len(base):,} real base vectors (MiniLM int8) repeated with noise to {rows:,} "
            f"rows x {base.shape[1]}, {files} parquet files of {part:,} rows; {nq:,} queries, "
            f"k={args.k}\n"
        )
        search_table(args, tmp, folder, nq)
        duplicates_table(tmp, folder, dup_rows, part, exact_rows, local_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def search_table(args, tmp: Path, folder: Path, nq: int) -> None:
    kw = {"folder": str(folder), "queries": str(tmp / "queries.npy"), "k": args.k}
    runs = {
        "dfembed.nearest, Dask 2 workers x 1 thread": (
            "benchmarks.analytics:dask_nearest",
            {**kw, "local_dir": str(tmp / "dask"), "out": str(tmp / "dask.npy")},
        ),
        "faiss IndexFlatIP, 2 threads": (
            "benchmarks.analytics:faiss_flat",
            {**kw, "out": str(tmp / "faiss.npy")},
        ),
    }
    if not args.skip_pandas:
        runs["dfembed.nearest, in process (pandas), 2 BLAS threads"] = (
            "benchmarks.analytics:pandas_nearest",
            {**kw, "out": str(tmp / "pandas.npy")},
        )
    # 2 threads for faiss and the in-process run; Dask's nanny gives each worker 1
    common.set_thread_env(2)
    contenders = [common.Contender(name, target, kw) for name, (target, kw) in runs.items()]
    rounds = common.interleave(contenders, args.rounds, timeout=3600)
    common.set_thread_env(1)
    results = {}
    for name, runs_ in rounds.items():
        done = common.ok(runs_)
        if not done:
            results[name] = runs_[0]
            continue
        results[name] = out = dict(done[0])
        for key in ("seconds", "add_s", "search_s", "load_s", "persisted_s", "load_avg"):
            if key in out:
                out[key] = common.median_of(done, key)
        if "worker_peak_rss_mb" in out:
            peaks = np.max([r["worker_peak_rss_mb"] for r in done], axis=0)
            out["worker_peak_rss_mb"] = peaks.tolist()
        if "peak" in out:
            out["peak"] = common.max_of(done, "peak")
    ours = np.load(tmp / "dask.npy")
    ours_scores = np.load(tmp / "dask-scores.npy")
    anchor = results["faiss IndexFlatIP, 2 threads"]["seconds"]
    rows = []
    for name, out in results.items():
        if "error" in out:
            rows.append([name, float("nan"), float("nan"), "–", "–", out["error"][:40]])
            continue
        key = "dask" if "Dask" in name else "faiss" if "faiss" in name else "pandas"
        ids = np.load(tmp / f"{key}.npy")
        same = compare(ours, ours_scores, ids, ours_scores)
        if key == "faiss":
            theirs = np.load(tmp / "faiss-scores.npy")
            same = compare(ours, ours_scores, ids, theirs)
        peak = out.get("worker_peak_rss_mb") or [out["peak"]]
        note = (
            f"add {out['add_s']:.1f} s + search {out['search_s']:.1f} s"
            if key == "faiss"
            else f"load {out['load_s']:.1f} s not counted"
            if key == "pandas"
            else f"reading the files included; search of the persisted column "
            f"{out['persisted_s']:.1f} s ({out['persisted_s'] / anchor:.2f} x faiss); workers "
            f"at start {', '.join(f'{m:,.0f}' for m in out['worker_start_rss_mb'])} MB"
        )
        identical = f"{same['same']}/{nq}"
        if same["same"] < nq:
            identical += f" (first differing score gap <= {same['max_gap']:.1e})"
        rows.append(
            [
                name,
                out["seconds"],
                out["seconds"] / anchor,
                " / ".join(f"{m:,.0f}" for m in peak),
                identical,
                f"{note}; load avg {out['load_avg']:.1f}",
            ]
        )
    headers = ["run", "seconds", "x faiss", "peak RSS MB (per worker)", "same top-k ids", "notes"]
    print(f"\nmedians of {args.rounds} interleaved round(s); peak RSS: the largest")
    print(common.table(headers, rows, (1, 1, 2, 0, 0, 0)))


def duplicates_table(tmp: Path, folder: Path, dup_rows: int, part: int, exact_rows, local_dir):
    files = max(1, dup_rows // part)
    out = common.run_in_child(
        "benchmarks.analytics:dask_duplicates",
        timeout=3600,
        folder=str(folder),
        files=files,
        local_dir=local_dir,
        recall_sample=1000,
    )
    print()
    if "error" in out:
        print(f"near_duplicates on Dask failed: {out['error']}")
    else:
        headers = ["rows", "clusters", "seconds", "pairs >= 0.95", "rows dropped", "recall"]
        headers += ["peak RSS MB (per worker)", "load avg"]
        recall = f"{out['recall']:.4f} ({out['recall_pairs']:,} exact pairs of 1,000 rows)"
        peaks = " / ".join(f"{m:,.0f}" for m in out["worker_peak_rss_mb"])
        row = [out["rows"], out["clusters"], out["seconds"], out["pairs"], out["dropped"]]
        row += [recall, peaks, out["load_avg"]]
        print(common.table(headers, [row], (0, 0, 1, 0, 0, 0, 0, 1)))
    common.set_thread_env(2)
    exact_rows = min(exact_rows, part)
    runs = {
        exact: common.run_in_child(
            "benchmarks.analytics:local_duplicates",
            timeout=3600,
            folder=str(folder),
            rows=exact_rows,
            exact=exact,
        )
        for exact in (False, True)
    }
    common.set_thread_env(1)
    print()
    rows = []
    for exact, run in runs.items():
        label = "exact (every pair)" if exact else "blocked (default)"
        if "error" in run:
            rows.append([label, float("nan"), "–", "–", run["error"][:60]])
            continue
        rows.append([label, run["seconds"], run["pairs"], run["clusters"], run["load_avg"]])
    print(f"near_duplicates in process on {exact_rows:,} rows, 2 BLAS threads:\n")
    print(common.table(["mode", "seconds", "pairs", "clusters", "load avg"], rows, (0, 1, 0, 0, 1)))


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
    raise SystemExit(main())
