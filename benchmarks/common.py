"""What every benchmark shares: child processes with peak RSS, interleaved rounds, FLOPs, tables.

Each measured run happens in a fresh child process (``spawn``), so one contender's imports,
arenas and caches never inflate another's peak memory, and the peak RSS reported is that
process's own ``ru_maxrss``. Contenders run in interleaved rounds (A B C D, A B C D, ...)
so that a noisy neighbour or a slow minute hits all of them alike; medians are reported.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import multiprocessing as mp
import os
import platform
import resource
import statistics
import time
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: Environment variables that size the thread pools of BLAS libraries and OpenMP.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class BenchmarkError(RuntimeError):
    """A benchmark could not run (a child failed, data or a model is missing)."""


# --------------------------------------------------------------------------- child processes


def set_thread_env(threads: int) -> None:
    """Make child processes' BLAS/OpenMP pools ``threads`` wide (read when they import numpy)."""
    for var in THREAD_VARS:
        os.environ[var] = str(threads)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")


def peak_rss_mb() -> float:
    """This process's peak resident set size in MiB (``ru_maxrss`` is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child_main(conn, target: str, kwargs: dict[str, Any]) -> None:
    try:
        module, name = target.split(":")
        result = dict(getattr(importlib.import_module(module), name)(**kwargs))
        result["peak_rss_mb"] = peak_rss_mb()
        conn.send(("ok", result))
    except BaseException:  # report anything, including KeyboardInterrupt, to the parent
        conn.send(("error", traceback.format_exc()))
    finally:
        conn.close()


def run_in_child(target: str, timeout: float = 1800.0, **kwargs: Any) -> dict[str, Any]:
    """Run ``module:function`` (kwargs must pickle) in a fresh process; return its dict.

    The result gains ``peak_rss_mb`` (the child's own peak), ``wall_s`` (including start-up)
    and ``load_avg`` (the 1-minute load average when it finished, to judge noise). A child
    that fails, dies (e.g. killed for memory) or runs past ``timeout`` gives ``{"error": ...}``
    instead of stopping the whole benchmark.
    """
    ctx = mp.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    # not a daemon: a child may start processes of its own (a Dask LocalCluster)
    proc = ctx.Process(target=_child_main, args=(send, target, kwargs), daemon=False)
    started = time.perf_counter()
    proc.start()
    send.close()
    try:
        if not receive.poll(timeout):
            proc.kill()
            return {"error": f"timed out after {timeout:.0f} s"}
        status, payload = receive.recv()
    except EOFError:
        proc.join(10)
        return {"error": f"child died (exit code {proc.exitcode})"}
    finally:
        proc.join(30)
        receive.close()
    if status != "ok":
        return {"error": payload.strip().splitlines()[-1], "traceback": payload}
    payload["wall_s"] = time.perf_counter() - started
    payload["load_avg"] = os.getloadavg()[0]
    return payload


@dataclass
class Contender:
    """One thing to measure: a child target and its keyword arguments."""

    name: str
    target: str
    kwargs: dict[str, Any] = field(default_factory=dict)


def interleave(
    contenders: Sequence[Contender],
    rounds: int,
    first_round_extra: dict[str, dict[str, Any]] | None = None,
    timeout: float = 1800.0,
    log: bool = True,
) -> dict[str, list[dict[str, Any]]]:
    """Run every contender once per round; results by name.

    Each round starts one contender later than the one before (round 2 runs the second
    contender first, ...), so no contender always has the same slot: the slot right after
    the matmul probes measured ~5 % slower on the 2-core machine (benchmarks/README.md).
    ``first_round_extra[name]`` adds keyword arguments to that contender's first run only
    (e.g. where to save its vectors for the agreement check).
    """
    results: dict[str, list[dict[str, Any]]] = {c.name: [] for c in contenders}
    for r in range(rounds):
        shift = r % max(len(contenders), 1)
        for c in [*contenders[shift:], *contenders[:shift]]:
            extra = (first_round_extra or {}).get(c.name, {}) if r == 0 else {}
            out = run_in_child(c.target, timeout=timeout, **c.kwargs, **extra)
            results[c.name].append(out)
            if log:
                what = out.get("error") or (f"{out['seconds']:.2f} s" if "seconds" in out else "ok")
                print(f"  round {r + 1}/{rounds} {c.name:<24} {what}", flush=True)
    return results


def paired_rounds(
    runs: dict[str, Any], texts: Sequence[str], rounds: int, chunk: int
) -> dict[str, list[float]]:
    """Seconds of each of ``runs`` (name -> function of a list of texts) per round.

    Round ``r`` gives every function the same slice of ``chunk`` texts (the slices cycle
    through ``texts``), one after the other in an order rotated round by round. On a shared
    machine whose other jobs come and go (passes of 20 s measured 2.5x apart), a round of
    a few seconds mostly sees one load for all: the median of the rounds' ratios is what
    to compare, not ratios of whole-corpus passes.
    """
    names = list(runs)
    slices = [list(texts[i : i + chunk]) for i in range(0, len(texts), chunk)]
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        part = slices[r % len(slices)]
        for name in names[r % len(names) :] + names[: r % len(names)]:
            started = time.perf_counter()
            runs[name](part)
            seconds[name].append(time.perf_counter() - started)
    return seconds


def ratio_summary(numerator: Sequence[float], denominator: Sequence[float]) -> dict[str, float]:
    """Median, lowest and highest of the per-round ratios ``numerator / denominator``."""
    ratios = np.divide(numerator, denominator)
    return {
        "median": float(np.median(ratios)),
        "low": float(ratios.min()),
        "high": float(ratios.max()),
        "above_1": int((ratios > 1).sum()),
        "rounds": len(ratios),
    }


def ok(runs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The runs that did not fail."""
    return [r for r in runs if "error" not in r]


def median_of(runs: Iterable[dict[str, Any]], key: str) -> float:
    """Median of ``key`` over the successful runs (NaN if none)."""
    values = [r[key] for r in ok(runs) if key in r]
    return statistics.median(values) if values else float("nan")


def max_of(runs: Iterable[dict[str, Any]], key: str) -> float:
    """Largest ``key`` over the successful runs (NaN if none)."""
    values = [r[key] for r in ok(runs) if key in r]
    return max(values) if values else float("nan")


# --------------------------------------------------------------------------- corpora


def save_texts(texts: Sequence[str], path: Path) -> str:
    """Write a corpus for children to read (they never rebuild it: importing the stdlib to
    collect docstrings would inflate their memory)."""
    path.write_text(json.dumps(list(texts)))
    return str(path)


def load_texts(path: str) -> list[str]:
    """Read a corpus written by :func:`save_texts`."""
    return json.loads(Path(path).read_text())


def token_lengths(texts: Sequence[str], tokenizer_json: Path, max_length: int) -> np.ndarray:
    """Real (unpadded) token counts, special tokens included, after truncation."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_json))
    tok.no_padding()
    tok.enable_truncation(max_length)
    return np.array([len(e.ids) for e in tok.encode_batch(list(texts))], dtype=np.int64)


# --------------------------------------------------------------------------- FLOPs

FLOPS_FORMULA = (
    "FLOPs = sum over docs of n*2*L*(4*H^2 + 2*H*I) + 4*L*H*n^2, with n the doc's real "
    "(unpadded) tokens, L layers, H hidden, I intermediate: the Q/K/V/output projections and "
    "the two FFN matmuls (2 FLOPs per weight per token) plus QK^T and attention x V (2*n*H "
    "each per token per layer). Embedding lookup, layer norms, GELU, softmax and pooling "
    "(< 1%) are left out; padding counts as waste, not work."
)


def encoder_flops(lengths: np.ndarray, config_json: Path) -> float:
    """Matmul FLOPs a BERT-style encoder spends on these real token counts (see FLOPS_FORMULA)."""
    cfg = json.loads(Path(config_json).read_text())
    layers, hidden = cfg["num_hidden_layers"], cfg["hidden_size"]
    inter = cfg["intermediate_size"]
    n = lengths.astype(np.float64)
    dense = 2.0 * layers * (4 * hidden * hidden + 2 * hidden * inter)
    return float(dense * n.sum() + 4.0 * layers * hidden * (n * n).sum())


# --------------------------------------------------------------------------- vectors


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two ``(n, d)`` matrices."""
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return np.einsum("ij,ij->i", a, b)


# --------------------------------------------------------------------------- reporting


def machine_info() -> dict[str, Any]:
    """Date, CPU, cores, memory, load and library versions, for the table's header."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = {}
    for name in ("dfembed", "onnxruntime", "tokenizers", "numpy", "pandas", "dask"):
        try:
            versions[name] = importlib.import_module(name).__version__
        except Exception:  # a missing optional package is reported, not fatal
            versions[name] = "missing"
    return {
        "date": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)),
        "memory_gb": round(mem_gb, 1),
        "load_avg": tuple(round(x, 2) for x in os.getloadavg()),
        "python": platform.python_version(),
        **versions,
    }


def header(title: str) -> str:
    """A title line plus the machine it ran on."""
    info = machine_info()
    libs = ", ".join(f"{k} {info[k]}" for k in ("dfembed", "onnxruntime", "tokenizers", "dask"))
    return (
        f"## {title}\n\n{info['date']} · {info['cpu']} · {info['cores']} cores · "
        f"{info['memory_gb']} GB RAM · load average {info['load_avg']} · Python "
        f"{info['python']} · {libs}\n\n{cpu_flags_line()}\n"
    )


#: The CPU flags that decide how fast ONNX Runtime's kernels can be (SIMD width, FMA,
#: int8 dot products, bf16/fp16, AMX).
SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl",
              "avx512_vnni", "avx512_bf16", "avx512_fp16", "avx_vnni", "amx_tile",
              "amx_int8", "amx_bf16", "asimd", "asimddp", "sve")  # fmt: skip


def cpu_flags_line() -> str:
    """The CPU's SIMD flags (of :data:`SIMD_FLAGS`) and its int8 dot-product instructions."""
    from dfembed.runtime.cpu import cpu_flags, int8_dot_products

    flags = set(cpu_flags())
    simd = " ".join(f for f in SIMD_FLAGS if f in flags) or "none found"
    dot = ", ".join(int8_dot_products()) or "none (no VNNI, no AMX)"
    return f"CPU flags (SIMD): {simd} · int8 dot product: {dot} · {len(flags)} flags in all"


def fmt(value: Any, digits: int = 1) -> str:
    """A table cell: numbers rounded, NaN as a dash."""
    if isinstance(value, float):
        if np.isnan(value):
            return "–"
        return f"{value:,.{digits}f}"
    return str(value)


def table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], digits: int | Sequence[int] = 1
) -> str:
    """A markdown table; numeric columns right-aligned; ``digits`` overall or per column."""
    places = [digits] * len(headers) if isinstance(digits, int) else list(digits)
    cells = [[fmt(v, d) for v, d in zip(row, places, strict=True)] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    numeric = [all(isinstance(row[i], (int, float)) for row in rows) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "| " + " | ".join(parts) + " |"

    rule = "|" + "|".join(
        "-" * (w + 1) + ":" if num else ":" + "-" * (w + 1)
        for w, num in zip(widths, numeric, strict=True)
    )
    return "\n".join([line(list(headers)), rule + "|", *(line(r) for r in cells)])
