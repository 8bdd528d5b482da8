"""What each worker tells the scheduler about its model sessions, for the dashboard page.

Reports travel through Dask's event log (``worker.log_event``): one small message per task
on the batched stream the worker already keeps open to the scheduler, so no extra
connection and no round trip. The scheduler plugin of :mod:`.dashboard` folds them into
its table, and they can also be read with ``client.get_events("dfembed")``.

A task's report carries its rows, tokens and seconds (and the error, if it failed). The
session's details (device, provider, precision, load time...) ride along only when they
changed since this worker last sent them: on the first report, and after a load.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator

logger = logging.getLogger(__name__)

#: The Dask event topic of dfembed's reports.
TOPIC = "dfembed"
#: Longest error text sent; a traceback-sized message has no place in a table cell.
MAX_ERROR = 400

#: The details each (worker address, plugin name) last sent, to send them only on change.
_sent: dict[tuple[str, str], dict] = {}


class TokenTally:
    """An ``on_batch`` callback that counts a task's tokens and passes each batch on."""

    def __init__(self, record: Callable[[int, int, float], None] | None) -> None:
        self.record = record
        self.tokens = 0

    def __call__(self, rows: int, tokens: int, seconds: float) -> None:
        self.tokens += tokens
        if self.record is not None:
            self.record(rows, tokens, seconds)


@contextlib.contextmanager
def task_report(worker, plugin, rows: int, record=None) -> Iterator[TokenTally]:
    """Report one task of ``plugin`` on ``worker`` when it ends: its rows, or its error.

    Yields the ``on_batch`` callback the task runs with (``record`` still gets every batch).
    """
    tally = TokenTally(record)
    started = time.perf_counter()
    try:
        yield tally
    except Exception as exc:
        report(worker, plugin, seconds=time.perf_counter() - started, error=exc)
        raise
    report(worker, plugin, rows, tally.tokens, time.perf_counter() - started)


def report(
    worker,
    plugin,
    rows: int = 0,
    tokens: int = 0,
    seconds: float = 0.0,
    error: BaseException | None = None,
) -> None:
    """Send one report for ``plugin``'s session on ``worker``; never raises."""
    try:
        msg: dict = {"session": plugin.name, "rows": int(rows), "tokens": int(tokens)}
        msg["seconds"] = round(float(seconds), 4)
        details = session_details(plugin)
        key = (worker.address, plugin.name)
        if _sent.get(key) != details:
            _sent[key] = details
            msg["details"] = details
        error = error if error is not None else plugin.error
        if error is not None:
            msg["error"] = f"{type(error).__name__}: {error}"[:MAX_ERROR]
        worker.log_event(TOPIC, msg)
    except Exception:  # the dashboard is a view: it must never fail a task
        logger.debug("dfembed could not send a dashboard report", exc_info=True)


def session_details(plugin) -> dict:
    """What the dashboard shows of a worker's session, as plain msgpack-able values."""
    from ..encoders.load import load_seconds

    spec = plugin.worker_spec
    encoder = plugin.loaded()
    seconds = load_seconds.get((spec.key(), spec.device_id)) if encoder is not None else None
    placement = plugin.placement
    rank = placement.local_rank if placement is not None else None
    return {
        "model": model_label(plugin.spec.model),
        "kind": plugin.spec.kind,
        "local_rank": None if rank is None else int(rank),
        "device": device_label(spec, encoder),
        "provider": encoder.providers[0] if encoder is not None else None,
        "precision": encoder.precision if encoder is not None else None,
        "load_seconds": None if seconds is None else round(seconds, 3),
    }


def model_label(model: str) -> str:
    """A model as a table shows it: a local folder by its name, a hub id as it is."""
    if os.path.isabs(model):
        return os.path.basename(model.rstrip("/\\")) or model
    return model


def device_label(spec, encoder) -> str:
    """``"cpu"``, or ``"cuda:N"`` plus the physical GPU when ``CUDA_VISIBLE_DEVICES`` renumbers.

    Once loaded, the session's first provider decides (``cuda="auto"`` may have fallen back
    to the CPU); before, the spec's policy does.
    """
    if encoder is not None:
        on_gpu = encoder.providers[0] in ("CUDAExecutionProvider", "TensorrtExecutionProvider")
    else:
        on_gpu = bool(spec.cuda)
    if not on_gpu:
        return "cpu"
    label = f"cuda:{spec.device_id}"
    visible = [d.strip() for d in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if d]
    if spec.device_id < len(visible) and visible[spec.device_id] != str(spec.device_id):
        label += f" (GPU {visible[spec.device_id]})"
    return label
