"""Consuming a Dask result as it finishes, and who runs what: :mod:`dfembed.engine.stream`."""

from __future__ import annotations

import time
from types import SimpleNamespace

import dask.dataframe as dd
import pandas as pd
import pytest

import dfembed
from dfembed.engine import stream
from dfembed.engine.plugin import ModelPlugin
from dfembed.spec import ModelSpec
from tests.engine.frames import assert_same, random_frame


def test_without_a_client_both_say_to_create_one(monkeypatch):
    monkeypatch.setattr(stream, "active_client", lambda: None)
    with pytest.raises(RuntimeError, match="needs a distributed Client: create one first"):
        next(stream.as_completed(pd.Series([1])))
    with pytest.raises(RuntimeError, match="needs a distributed Client"):
        stream.devices()


def test_worker_sessions_lists_each_model_plugin_and_skips_others(tmp_path):
    """One row per model plugin set up on the worker: placement, load state and error."""
    worker = SimpleNamespace(
        name="w1", address="tcp://10.0.0.2:9", state=SimpleNamespace(nthreads=2)
    )
    loaded = ModelPlugin(ModelSpec(str(tmp_path / "a"), kind="sparse"))
    loaded.assign(worker, "10.0.0.2", 1)
    encoder = SimpleNamespace(providers=["CPUExecutionProvider", "X"], precision="int8")
    loaded.loaded = lambda: encoder
    failed = ModelPlugin(ModelSpec(str(tmp_path / "b"), threads=1))
    failed.assign(worker, "10.0.0.2", 1)
    failed.error = ValueError("no model.onnx")
    unset = ModelPlugin(ModelSpec(str(tmp_path / "c")))  # setup() has not run: no row
    worker.plugins = {"a": loaded, "b": failed, "c": unset, "other": object()}
    rows = stream._worker_sessions(worker)
    assert [r["model"] for r in rows] == [str(tmp_path / "a"), str(tmp_path / "b")]
    first, second = rows
    assert first == {
        "name": "w1",
        "host": "10.0.0.2",
        "local_rank": 1,
        "model": str(tmp_path / "a"),
        "kind": "sparse",
        "cuda": False,
        "device_id": None,
        "threads": 2,
        "loaded": True,
        "providers": "CPUExecutionProvider,X",
        "precision": "int8",
        "error": None,
    }
    assert second["loaded"] is False and second["providers"] is None
    assert (second["threads"], second["error"]) == (1, "no model.onnx")
    assert stream._worker_sessions(None) == []


def test_as_completed_yields_every_partition(client, minilm_int8):
    df = random_frame(50, "string")
    ddf = dd.from_pandas(df, npartitions=5, sort=False)
    parts = dict(dfembed.as_completed(ddf.embed.text("body", model=minilm_int8), client))
    assert sorted(parts) == list(range(5))
    joined = pd.concat([parts[i] for i in range(5)])
    assert_same(joined, df.embed.text("body", model=minilm_int8))


def _slow_part(i: int) -> pd.Series:
    time.sleep(0.5)
    return pd.Series([i], index=[i])


def test_as_completed_stopped_early_cancels_the_rest(client):
    ddf = dd.from_map(_slow_part, range(20), meta=pd.Series([], dtype="int64"))
    stream = dfembed.as_completed(ddf, client)
    number, part = next(stream)
    assert part.index.tolist() == [number]
    stream.close()  # what a break does once the iterator is dropped

    def tasks(dask_scheduler=None) -> int:
        return sum(key[0].startswith("_slow_part") for key in map(_key_tuple, dask_scheduler.tasks))

    deadline = time.monotonic() + 2.0  # 18 partitions x 0.5 s / 2 workers would take 4.5 s
    while client.run_on_scheduler(tasks) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.run_on_scheduler(tasks) == 0


def _key_tuple(key) -> tuple:
    return key if isinstance(key, tuple) else (str(key),)
