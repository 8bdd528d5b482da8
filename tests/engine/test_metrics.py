"""dfembed's Prometheus series and Dask metrics: :mod:`dfembed.engine.metrics`.

The series live in the process's default registry (a worker serves them on ``/metrics``;
``tests/engine/test_dask.py`` reads that page); here they are read from the registry.
"""

from __future__ import annotations

from types import SimpleNamespace

from prometheus_client import REGISTRY

from dfembed.engine import metrics
from dfembed.runtime.devices import Placement
from dfembed.spec import ModelSpec


def _value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_the_series_are_made_once_per_process():
    assert metrics.prometheus() is metrics.prometheus()


COUNTERS = ("dfembed_rows_total", "dfembed_tokens_total", "dfembed_model_run_seconds_total")


def test_a_batch_recorder_adds_each_batch_to_its_kinds_counters():
    before = [_value(name, kind="late_interaction") for name in COUNTERS]
    record = metrics.batch_recorder("late_interaction", in_dask_task=False)
    record(3, 40, 0.5)
    record(2, 10, 0.25)
    after = [_value(name, kind="late_interaction") for name in COUNTERS]
    assert [a - b for a, b in zip(after, before, strict=True)] == [5, 50, 0.75]


def test_report_load_publishes_where_the_session_runs():
    spec = ModelSpec("/models/m-metrics")
    encoder = SimpleNamespace(providers=["CPUExecutionProvider", "X"])
    metrics.report_load(spec, encoder, Placement("10.0.0.4", 2, None))
    where = {"host": "10.0.0.4", "local_rank": "2", "device_id": "None"}
    assert _value("dfembed_device_info", **where, providers="CPUExecutionProvider,X") == 1.0
