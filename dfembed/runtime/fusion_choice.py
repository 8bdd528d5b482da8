"""Fused or not, decided by measurement: once per model file, CPU and thread count.

Whether ONNX Runtime's transformer fusions pay depends on the CPU: the same fused graph ran
faster than the unfused one on one machine and slower on another (benchmarks/README.md,
"Measurements behind defaults in the code"). So the first session of a fusable model on a
machine times both graphs on synthetic batches at a short and a long length
(:data:`BATCH_TOKENS` tokens each), in back-to-back pairs of alternating order, and takes
the median ratio per length. The fused graph is used only when it loses at neither length
(:data:`TOLERANCE`) and wins overall (:data:`MARGIN`): the unfused graph is the model's own
file, what a plain ONNX Runtime loop runs, so the doubtful case costs nothing against it.
It takes seconds; the decision is kept as a small JSON file beside the fused graph, keyed
by the CPU's model and flags and the thread count, and every later session on that machine
reads it.

Timings on a machine whose other processes already keep its cores busy say little, so then
nothing is measured: the session runs the unfused graph and a later load measures.
``session_options={"graph_fusion": True/False}`` skips all this and decides.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import time
from pathlib import Path

import numpy as np

from ..errors import ModelLoadError
from ..models.files import read_json
from .cpu import cpu_flags, cpu_model
from .graph_store import drop, is_file_error, short_hash, write_atomic
from .synthetic import Unmeasurable, token_feed, token_ids

log = logging.getLogger("dfembed")
_clock = time.perf_counter

#: How much faster (geometric mean over the two lengths) the fused graph must run to be used:
#: repeated measurements of a near tie scatter by more than a few percent, and a near tie
#: must not pick the fused graph by chance (benchmarks/README.md, "Measurements behind
#: defaults in the code").
MARGIN = 0.05
#: How much slower than unfused it may run at either length and still be used.
TOLERANCE = 0.0
#: Tokens per synthetic batch.
BATCH_TOKENS = 512
#: Token counts of the two synthetic lengths (the long one capped by the model's positions).
SHORT, LONG = 24, 256
#: Rounds of timing: at least MIN_ROUNDS, more while under BUDGET_S seconds in all.
MIN_ROUNDS, MAX_ROUNDS, BUDGET_S = 4, 8, 1.5
#: A 1-minute load average above this share of the cores counts as busy: not measured.
BUSY = 0.5
#: Where a busy machine was said at INFO (once per process and model file).
_SAID_BUSY: set[Path] = set()


def prefer_fused(source: Path, fused: Path, config: Path, threads: int) -> bool:
    """Whether sessions of ``source`` on this machine should run its fused copy ``fused``.

    Measured on first use (:func:`calibrate`) and kept beside ``fused``; a record that
    cannot be read is measured again, and where it cannot be written the measurement is
    used for this session only.
    """
    record_path = choice_path(fused, threads)
    record = read_choice(record_path)
    if record is not None:
        return bool(record["fused"])
    if busy():
        if source not in _SAID_BUSY:
            _SAID_BUSY.add(source)
            log.info(
                "dfembed: running %s unfused: this machine is too busy (load average %.1f "
                "on %d cores) to measure whether graph fusion pays; a later load measures",
                source,
                os.getloadavg()[0],
                _cores(),
            )
        return False
    record = calibrate(source, fused, config, threads)
    if not record.pop("again", False):
        with contextlib.suppress(OSError):  # decided for this session; measured next time
            write_atomic(record_path, json.dumps(record, indent=1).encode())
    log.info(
        "dfembed: graph fusion %s for %s on this CPU (fused ÷ unfused speed: short %.3f, "
        "long %.3f; %s)",
        "on" if record["fused"] else "off",
        source,
        record.get("short", float("nan")),
        record.get("long", float("nan")),
        record_path,
    )
    return bool(record["fused"])


def choice_path(fused: Path, threads: int) -> Path:
    """Where the decision for ``fused`` on this CPU with ``threads`` threads is kept."""
    return fused.with_name(f"{fused.stem}.{machine_key(threads)}.choice.json")


def busy() -> bool:
    """Whether other processes keep this machine's cores too busy for timings to mean much."""
    try:
        return os.getloadavg()[0] > BUSY * _cores()
    except (AttributeError, OSError):  # no load average (Windows): measure
        return False


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def calibrate(source: Path, fused: Path, config: Path, threads: int) -> dict:
    """Time the fused and unfused graphs on synthetic batches; the decision and timings.

    A failure to measure picks the unfused graph, which is the model's own file: for good
    where the graph takes inputs it cannot make up, for this session (``"again"``) where a
    graph failed to run or load (a damaged fused file is removed, and fused afresh).
    """
    started = _clock()
    record = {"cpu": cpu_model(), "threads": threads, "margin": MARGIN, "tolerance": TOLERANCE}
    record["load_avg"] = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
    record["date"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    try:
        record.update(_measure(source, fused, config, threads))
    except Unmeasurable as exc:
        record.update(fused=False, error=str(exc))
    except Exception as exc:  # measuring is optional: ORT's errors are untyped
        record.update(fused=False, error=f"{type(exc).__name__}: {exc}", again=True)
    record["seconds"] = round(_clock() - started, 2)
    return record


def _measure(source: Path, fused: Path, config: Path, threads: int) -> dict:
    sessions = {"unfused": _session(source, threads)}
    feeds = _feeds(sessions["unfused"], config)
    try:
        sessions["fused"] = _session(fused, threads)
    except Exception as exc:
        if is_file_error(exc):
            drop(fused)  # damaged: the next load fuses afresh
        raise
    for session in sessions.values():  # first runs allocate: not timed
        for feed in feeds.values():
            session.run(None, feed)
    times: dict[tuple[str, str], list[float]] = {}
    started, rounds = _clock(), 0
    while rounds < MIN_ROUNDS or (rounds < MAX_ROUNDS and _clock() - started < BUDGET_S):
        order = ("fused", "unfused") if rounds % 2 == 0 else ("unfused", "fused")
        for length, feed in feeds.items():
            for name in order:
                begin = _clock()
                sessions[name].run(None, feed)
                times.setdefault((name, length), []).append(_clock() - begin)
        rounds += 1
    # each pair ran back to back: its ratio is what a slow minute changes least
    ratios = {n: float(np.median(np.divide(times["unfused", n], times["fused", n]))) for n in feeds}
    speedup = float(np.exp(np.mean(np.log(list(ratios.values())))))
    wins = speedup >= 1 + MARGIN and min(ratios.values()) >= 1 - TOLERANCE
    return {
        "fused": bool(wins),
        "speedup": round(speedup, 4),
        **{n: round(r, 4) for n, r in ratios.items()},
        "rounds": rounds,
    }


def _session(path: Path, threads: int):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=so, providers=["CPUExecutionProvider"])


def _feeds(session, config: Path) -> dict[str, dict[str, np.ndarray]]:
    """A short and a long batch of random token ids, each of :data:`BATCH_TOKENS` tokens."""
    try:
        settings = read_json(config, "")
    except (OSError, ModelLoadError):
        settings = None
    settings = settings if isinstance(settings, dict) else {}
    vocab = int(settings.get("vocab_size") or 1000)
    positions = int(settings.get("max_position_embeddings") or LONG)
    feeds = {}
    for name, length in (("short", SHORT), ("long", min(LONG, positions - 2))):
        ids = token_ids(max(1, BATCH_TOKENS // length), length, vocab)
        feeds[name] = token_feed(session.get_inputs(), ids)
    return feeds


def machine_key(threads: int) -> str:
    """Names a fusion decision: the CPU's model and flags and the thread count."""
    return short_hash(cpu_model(), " ".join(cpu_flags()), threads)


def read_choice(path: Path) -> dict | None:
    """A kept decision, or ``None`` where there is none or it cannot be read."""
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("fused"), bool) else None
