"""What dfembed reports while it runs: Dask fine-performance metrics and Prometheus series.

``context_meter.digest_metric`` feeds the dashboard's Fine Performance Metrics (per span);
the Prometheus counters live in each worker process's default registry, which the worker
serves on its ``/metrics`` page next to Dask's own series.
"""

from __future__ import annotations

import threading

_lock = threading.Lock()
_series = None


def prometheus():
    """The process's dfembed Prometheus series, created once (a second creation would clash)."""
    global _series
    with _lock:
        if _series is None:
            _series = _create()
    return _series


def _create():
    from prometheus_client import Counter, Gauge, Info

    class Series:
        rows = Counter("dfembed_rows", "Rows embedded", ["kind"])
        tokens = Counter("dfembed_tokens", "Tokens run through models", ["kind"])
        model_seconds = Counter("dfembed_model_run_seconds", "Seconds in model runs", ["kind"])
        load_seconds = Gauge(
            "dfembed_model_load_seconds", "Seconds the last model load took", ["model"]
        )
        sessions = Gauge("dfembed_sessions", "ONNX sessions loaded in this process")
        device = Info("dfembed_device", "Device and provider of this process's sessions")

    return Series


def batch_recorder(kind: str, in_dask_task: bool):
    """A callback for :func:`~dfembed.runtime.batching.run_batched` that records each batch."""
    series = prometheus()
    rows_c, tokens_c, seconds_c = (
        series.rows.labels(kind),
        series.tokens.labels(kind),
        series.model_seconds.labels(kind),
    )

    def record(rows: int, tokens: int, seconds: float) -> None:
        rows_c.inc(rows)
        tokens_c.inc(tokens)
        seconds_c.inc(seconds)
        if in_dask_task:
            from distributed.metrics import context_meter

            context_meter.digest_metric("rows", rows, "count")
            context_meter.digest_metric("tokens", tokens, "tokens")
            context_meter.digest_metric("model-run", seconds, "seconds")

    return record


def report_load(spec, encoder, placement) -> None:
    """Publish a worker's model load: its seconds, and where it runs (host, rank, device)."""
    from ..encoders.load import load_seconds, loaded_count

    series = prometheus()
    seconds = load_seconds.get((spec.key(), spec.device_id))
    if seconds is not None:
        series.load_seconds.labels(spec.model).set(seconds)
    series.sessions.set(loaded_count())  # set, not inc: plugins of several clients report
    series.device.info(
        {
            "host": str(placement.host if placement else ""),
            "local_rank": str(placement.local_rank if placement else ""),
            "device_id": str(placement.device_id if placement else ""),
            "providers": ",".join(encoder.providers),
        }
    )
