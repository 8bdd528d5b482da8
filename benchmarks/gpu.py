"""GPU check: the CUDA path end to end, fp16 against fp32, token budgets, and IO binding.

Prepared for a machine with an NVIDIA GPU and onnxruntime-gpu (none has been available to
this project's machines so far), to run as one short command. It prints:

1. What ONNX Runtime sees: version, providers, GPUs the driver reports.
2. In process, ``cuda=True``: docs/s for fp32 (fused graph; unfused at the largest
   budget) and ``precision="fp16"`` at several token budgets (the CPU default of 1,024 is
   expected to be too small for a GPU), and the lowest cosine between fp16 and fp32.
3. A plain ONNX Runtime loop on the same sorted batches, ``session.run`` against IO binding
   (inputs copied by ORT, the output bound on the device and copied back once): whether
   IO binding pays for an embedding model whose output must come back to the host anyway.
4. Dask placement: a LocalCluster of one worker per GPU (at least two), no ``device_ids``
   (each worker takes one of the machine's GPUs by local rank; ``--device-ids`` to give a
   list), each worker's host, local rank, device and provider from ``dfembed.devices``,
   the GPU the driver shows each worker process on (``nvidia-smi``), and the rows' order.
   The check passes when the workers sit on as many distinct GPUs as there are GPUs
   (or workers, if fewer).

``--cpu`` runs the same steps on the CPU provider (a plumbing check; the numbers mean
nothing for GPUs). Run::

    python -m benchmarks.gpu --model DIR                 # DIR: an fp32 model folder
    python -m benchmarks.gpu --model DIR --cpu --rows 200 --budgets 1024

On a fresh GPU machine install with the NVIDIA libraries first: ``pip install '.[gpu]'``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from . import common


def _texts(rows: int) -> list[str]:
    """Stdlib docstrings (length-varied), repeated with a suffix to reach ``rows``."""
    from tools.datasets import stdlib_docstrings

    base = stdlib_docstrings()["text"].tolist()
    return [base[i % len(base)] + ("" if i < len(base) else f" #{i}") for i in range(rows)]


def _embed(frame, model: str, cuda: bool, budget: int, settings: dict, max_length: int):
    """Time one warm pass of ``df.embed.text``; returns (seconds, vectors)."""
    import dfembed

    options = {
        "model": model,
        "cuda": cuda,
        "token_budget": budget,
        "max_length": max_length,
        "session_options": settings,
    }
    frame.head(64).embed.text("text", **options)  # load and warm up
    started = time.perf_counter()
    out = frame.embed.text("text", **options)
    return time.perf_counter() - started, dfembed.to_numpy(out)


def in_process(frame, model: str, cuda: bool, budgets: list[int], max_length: int) -> dict:
    """Part 2: docs/s per graph and budget, and fp16's agreement with fp32.

    fp32 runs the fused graph (the default) and, at the largest budget, the unfused one;
    fp16 converts the unfused graph.
    """
    runs = [("fp32", {}, b) for b in budgets]
    runs.append(("fp32 unfused", {"graph_fusion": False}, max(budgets)))
    runs += [("fp16", {"precision": "fp16"}, b) for b in budgets]
    rows, vectors = [], {}
    for name, settings, budget in runs:
        seconds, vecs = _embed(frame, model, cuda, budget, settings, max_length)
        vectors.setdefault(name, vecs)
        rows.append([name, budget, len(frame) / seconds, seconds])
    cos = common.cosines(vectors["fp16"], vectors["fp32"])
    print(common.table(["graph", "token budget", "docs/s", "seconds"], rows, [0, 0, 1, 2]))
    print(f"\nfp16 vs fp32: lowest cosine {cos.min():.6f}, median {np.median(cos):.6f}")
    return {"min_cos": float(cos.min())}


def io_binding(texts: list[str], model: str, cuda: bool, budget: int, max_length: int) -> None:
    """Part 3: the same sorted batches through ``session.run`` and through IO binding."""
    from tokenizers import Tokenizer

    from dfembed.runtime.session import SessionOptions, create_session

    session = create_session(Path(model) / "model.onnx", SessionOptions(cuda=cuda))
    device = "cuda" if cuda else "cpu"
    tok = Tokenizer.from_file(str(Path(model) / "tokenizer.json"))
    tok.enable_truncation(max_length)
    enc = sorted(tok.encode_batch(texts), key=lambda e: -len(e.ids))
    feeds, start = [], 0
    names = {i.name for i in session.get_inputs()}
    while start < len(enc):
        rows = enc[start : start + max(1, budget // len(enc[start].ids))]
        width = len(rows[0].ids)
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for r, e in enumerate(rows):
            ids[r, : len(e.ids)], mask[r, : len(e.ids)] = e.ids, 1
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        feeds.append({k: v for k, v in feed.items() if k in names})
        start += len(rows)
    output = session.get_outputs()[0].name

    def plain():
        for feed in feeds:
            session.run([output], feed)

    def bound():
        for feed in feeds:
            binding = session.io_binding()
            for name, value in feed.items():
                binding.bind_cpu_input(name, value)
            binding.bind_output(output, device)
            session.run_with_iobinding(binding)
            binding.copy_outputs_to_cpu()

    timings = {}
    for name, run in (("session.run", plain), ("IO binding", bound)) * 2:  # warm, then timed
        started = time.perf_counter()
        run()
        timings[name] = time.perf_counter() - started
    base = timings["session.run"]
    rows = [[name, len(texts) / s, base / s] for name, s in timings.items()]
    print(common.table(["plain ORT loop", "docs/s", "÷ session.run"], rows, [0, 1, 2]))


def on_dask(
    frame, model: str, cuda: bool, device_ids: list[int] | None, max_length: int, gpus: int
) -> None:
    """Part 4: one worker per GPU (at least 2); where each one runs; providers, row order."""
    import os

    import pandas as pd
    from distributed import Client, LocalCluster

    import dfembed

    expected = dfembed.to_numpy(frame.embed.text("text", model=model, max_length=max_length))
    workers = max(2, gpus if cuda else 0)
    with (
        LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):
        out = frame.embed.text(
            "text", model=model, cuda=cuda, device_ids=device_ids, max_length=max_length,
            parallel=workers,
        )  # fmt: skip
        table = dfembed.devices(client)
        pids = client.run(os.getpid)
        on_gpu = _driver_gpus()
    table["gpu (driver)"] = [on_gpu.get(pids.get(w), "-") for w in table["worker"]]
    cos = common.cosines(dfembed.to_numpy(out), expected)
    with pd.option_context("display.width", 200, "display.max_columns", 16):
        shown = table.drop(columns=["worker", "model", "kind"], errors="ignore")
        print(shown.to_string(index=False))
    print(
        f"\nrows {len(out):,} (index equal: {out.index.equals(frame.index)}); "
        f"lowest cosine to the in-process CPU vectors {cos.min():.6f}"
    )
    if cuda:
        used = {g for g in table["gpu (driver)"] if g != "-"}
        wanted = min(workers, gpus)
        verdict = "OK" if len(used) == wanted else "WRONG"
        print(
            f"placement: {workers} workers on {len(used)} distinct GPUs as the driver shows "
            f"them (expected {wanted}): {verdict}"
        )


def _driver_gpus() -> dict[int, str]:
    """``{pid: GPU bus id}`` of the processes that hold a CUDA context, from nvidia-smi."""
    import shutil
    import subprocess

    if shutil.which("nvidia-smi") is None:
        return {}
    query = ["nvidia-smi", "--query-compute-apps=pid,gpu_bus_id", "--format=csv,noheader"]
    try:
        text = subprocess.run(query, capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    found = {}
    for line in text.splitlines():
        pid, _, bus = line.partition(",")
        if pid.strip().isdigit():
            found[int(pid)] = bus.strip()
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu")
    parser.add_argument("--model", required=True, help="an fp32 text model folder")
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--budgets", type=int, nargs="+", default=[1024, 16384, 65536])
    parser.add_argument(
        "--device-ids", type=int, nargs="+", default=None, help="default: every GPU"
    )
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--cpu", action="store_true", help="the CPU provider: plumbing only")
    args = parser.parse_args(argv)
    import onnxruntime as ort
    import pandas as pd

    from dfembed.runtime.devices import cuda_libraries, gpu_count

    cuda = not args.cpu
    print(common.header("GPU check" + (" (CPU provider: plumbing only)" if args.cpu else "")))
    print(
        f"onnxruntime {ort.__version__} ({ort.get_device()}); providers "
        f"{ort.get_available_providers()}; GPUs the driver reports: {gpu_count()}"
    )
    if gpu_count():  # preloads the CUDA and cuDNN libraries, as the first session would
        print(f"CUDA libraries: {cuda_libraries() or 'found'}")
    print()
    frame = pd.DataFrame({"text": _texts(args.rows)})
    in_process(frame, args.model, cuda, args.budgets, args.max_length)
    print()
    io_binding(frame["text"].tolist(), args.model, cuda, max(args.budgets), args.max_length)
    print()
    on_dask(frame, args.model, cuda, args.device_ids, args.max_length, gpu_count())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
