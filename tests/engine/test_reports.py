"""What a worker reports about its sessions for the dashboard: :mod:`dfembed.engine.reports`."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from dfembed.engine.plugin import ModelPlugin
from dfembed.engine.reports import (
    MAX_ERROR,
    TOPIC,
    TokenTally,
    device_label,
    model_label,
    report,
    task_report,
)
from dfembed.spec import ModelSpec


class _Worker:
    address = "tcp://10.0.0.9:1234"

    def __init__(self):
        self.events = []

    def log_event(self, topic, msg):
        self.events.append((topic, msg))


def test_reports_send_details_only_when_they_change(tmp_path):
    plugin = ModelPlugin(ModelSpec(model=str(tmp_path / "my-model")))
    plugin.worker_spec = plugin.spec
    worker = _Worker()
    report(worker, plugin)
    report(worker, plugin, rows=7, tokens=40, seconds=0.5)
    plugin.error = ValueError("boom")
    report(worker, plugin)
    (t1, first), (_, second), (_, third) = worker.events
    assert t1 == TOPIC
    assert first["details"]["model"] == "my-model"  # a local folder shows by its name
    assert first["details"]["device"] == "cpu" and first["details"]["provider"] is None
    assert second == {"session": plugin.name, "rows": 7, "tokens": 40, "seconds": 0.5}
    assert third["error"] == "ValueError: boom" and "details" not in third


def test_a_task_report_counts_its_tokens_or_carries_its_error(tmp_path):
    plugin = ModelPlugin(ModelSpec(model=str(tmp_path / "m")))
    plugin.worker_spec = plugin.spec
    worker = _Worker()
    batches = []
    with task_report(worker, plugin, rows=3, record=lambda *b: batches.append(b)) as on_batch:
        on_batch(2, 10, 0.1)
        on_batch(1, 5, 0.1)
    assert batches == [(2, 10, 0.1), (1, 5, 0.1)]  # each batch still reaches the recorder
    (_, done) = worker.events[-1]
    assert (done["rows"], done["tokens"]) == (3, 15) and "error" not in done
    with pytest.raises(ValueError, match="x" * 10), task_report(worker, plugin, rows=3):
        raise ValueError("x" * 1000)
    (_, failed) = worker.events[-1]
    assert failed["rows"] == 0 and failed["error"].startswith("ValueError: xxx")
    assert len(failed["error"]) == MAX_ERROR  # a table cell, not a traceback


def test_token_tally_without_a_recorder_only_counts():
    tally = TokenTally(None)
    tally(4, 30, 0.5)
    tally(1, 2, 0.1)
    assert tally.tokens == 32


def test_a_report_never_fails_the_task(tmp_path):
    class Broken:
        address = "tcp://10.0.0.9:1"

        def log_event(self, topic, msg):
            raise OSError("stream closed")

    plugin = ModelPlugin(ModelSpec(model=str(tmp_path / "m")))
    plugin.worker_spec = plugin.spec
    report(Broken(), plugin, rows=1)  # no exception


def test_model_label_shows_a_folder_by_its_name_and_a_hub_id_whole():
    assert model_label("/models/bge-small/") == "bge-small"
    assert model_label("BAAI/bge-small-en-v1.5") == "BAAI/bge-small-en-v1.5"
    assert model_label("/") == "/"


def test_device_label_follows_the_session_then_the_policy(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    on_gpu = ModelSpec("m", cuda="auto", device_id=1)
    assert device_label(on_gpu, None) == "cuda:1"  # not loaded yet: the policy
    fell_back = SimpleNamespace(providers=["CPUExecutionProvider"])
    assert device_label(on_gpu, fell_back) == "cpu"  # loaded: what the session got
    assert device_label(ModelSpec("m"), None) == "cpu"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    cuda = SimpleNamespace(providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert device_label(on_gpu, cuda) == "cuda:1 (GPU 5)"
    assert device_label(ModelSpec("m", cuda=True, device_id=2), None) == "cuda:2"
