"""The Dask engine on a real LocalCluster: alignment, one load per worker, faults, metrics."""

from __future__ import annotations

import os
import signal
import urllib.request
from pathlib import Path

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dfembed
from dfembed import InputError, WorkerError
from tests.engine.frames import WORDS, assert_same, random_frame


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    n=st.integers(0, 60),
    parts=st.integers(1, 8),
    index_kind=st.sampled_from(["int", "string", "duplicate"]),
    shape=st.sampled_from(["plain", "repartition", "unknown", "empty-parts"]),
)
def test_dask_equals_pandas_for_any_partitioning(client, minilm_int8, n, parts, index_kind, shape):
    df = random_frame(n, index_kind, seed=n * 31 + parts)
    expected = df.embed.text("body", model=minilm_int8)
    ddf = dd.from_pandas(df, npartitions=max(1, min(parts, max(n, 1))), sort=False)
    if shape == "repartition":
        ddf = ddf.repartition(npartitions=parts + 1)
    elif shape == "unknown":
        ddf = ddf.clear_divisions()
    elif shape == "empty-parts":
        keep = df["other"] % 3 != 0
        ddf = ddf[ddf["other"] % 3 != 0]
        expected = expected[keep.to_numpy()]
    result = ddf.assign(vec=ddf.embed.text("body", model=minilm_int8)).compute()
    assert_same(result["vec"], expected)
    series_result = ddf["body"].embed.text(model=minilm_int8).compute()
    assert_same(series_result, expected.rename("body"))


def test_threaded_scheduler_uses_process_cache(minilm_int8):
    df = random_frame(30, "string")
    ddf = dd.from_pandas(df, npartitions=4, sort=False)
    result = ddf.embed.text("body", model=minilm_int8).compute(scheduler="threads")
    assert_same(result, df.embed.text("body", model=minilm_int8))


def _loads(client) -> dict:
    return client.run(lambda: __import__("dfembed.encoders.load").encoders.load.load_count)


def test_one_load_per_worker_and_per_model(client, minilm_int8, paraphrase_l3):
    ddf = dd.from_pandas(random_frame(80, "int"), npartitions=8)
    before = _loads(client)
    for _ in range(3):
        ddf.embed.text("body", model=minilm_int8, max_length=64).compute()
    first = _loads(client)
    assert all(first[w] - before[w] <= 1 for w in first)
    ddf.embed.text("body", model=paraphrase_l3).compute()
    second = _loads(client)
    assert sum(second.values()) - sum(first.values()) == len(second)
    table = dfembed.devices(client)
    assert set(table["local_rank"]) == {0, 1}
    assert (table["providers"].dropna() == "CPUExecutionProvider").all()


def test_fp16_sessions_on_workers(client, paraphrase_l3):
    """precision="fp16" travels in the spec: each worker converts and says so in devices()."""
    df = random_frame(24, "int")
    options = {"model": paraphrase_l3, "session_options": {"precision": "fp16"}}
    result = dd.from_pandas(df, npartitions=3).embed.text("body", **options).compute()
    half = df.embed.text("body", **options)
    fp32 = df.embed.text("body", model=paraphrase_l3)
    assert result.index.equals(df.index)
    assert result.isna().tolist() == half.isna().tolist()
    # fp16 sums depend on the batch (padding width): ~1.6e-5 between partitionings, while
    # fp16 and fp32 are ~1.4e-4 apart; the workers' vectors must be fp16's
    got = dfembed.to_numpy(result)
    to_half = np.nanmax(np.abs(got - dfembed.to_numpy(half)))
    to_fp32 = np.nanmax(np.abs(got - dfembed.to_numpy(fp32)))
    assert to_half < 1e-4 and to_half * 3 < to_fp32, (to_half, to_fp32)
    table = dfembed.devices(client)
    assert (table["precision"] == "fp16").sum() >= 1


def test_task_names_and_metrics(client, minilm_int8):
    from distributed import get_task_stream

    ddf = dd.from_pandas(random_frame(40, "int"), npartitions=4)
    with get_task_stream(client) as stream:
        ddf.embed.text("body", model=minilm_int8).compute()
    prefixes = {str(t["key"][0] if isinstance(t["key"], tuple) else t["key"]) for t in stream.data}
    assert any(p.startswith("dfembed-text") for p in prefixes)
    info = client.scheduler_info()["workers"]
    totals = 0.0
    for worker in info.values():
        port = worker["services"]["dashboard"]
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
        for line in page.decode().splitlines():
            if line.startswith('dfembed_rows_total{kind="text"}'):
                totals += float(line.split()[-1])
    assert totals >= 34  # every non-null row of this job, at least


def _sessions_gauge(client) -> dict:
    values = {}
    for address, worker in client.scheduler_info()["workers"].items():
        port = worker["services"]["dashboard"]
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read()
        lines = [x for x in page.decode().splitlines() if x.startswith("dfembed_sessions ")]
        values[address] = float(lines[0].split()[-1]) if lines else 0.0
    return values


def test_a_second_client_keeps_the_plugins_the_workers_run(client, minilm_int8):
    import warnings

    from distributed import Client

    from dfembed.encoders.load import loaded_count

    ddf = dd.from_pandas(random_frame(20, "int"), npartitions=2)
    first = ddf.embed.text("body", model=minilm_int8).compute()
    loads, ranks = _loads(client), dfembed.devices(client)["local_rank"].to_dict()
    with warnings.catch_warnings(record=True) as caught, Client(client.scheduler.address) as other:
        warnings.simplefilter("always")
        again = ddf.embed.text("body", model=minilm_int8).compute()
        assert dfembed.devices(other)["local_rank"].to_dict() == ranks
    assert not [w for w in caught if "overwriting" in str(w.message)]
    assert _loads(client) == loads  # nothing set up or loaded again
    pd.testing.assert_series_equal(again, first)
    # the gauge counts sessions held, not plugin registrations
    assert _sessions_gauge(client) == client.run(loaded_count)


def test_bad_input_error_reaches_client_with_label(client, minilm_int8):
    import dask

    df = pd.DataFrame({"body": ["ok", "fine", 42, "x"]}, index=["a", "b", "the-bad-one", "d"])
    with dask.config.set({"dataframe.convert-string": False}):  # else Dask makes 42 a "42"
        ddf = dd.from_pandas(df, npartitions=2, sort=False)
    with pytest.raises(InputError, match="the-bad-one"):
        ddf.embed.text("body", model=minilm_int8).compute()


def test_failed_load_names_worker_and_model(client, minilm_int8, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(minilm_int8, broken)
    (broken / "model.onnx").write_bytes(b"not an onnx file")
    ddf = dd.from_pandas(random_frame(10, "int"), npartitions=2)
    with pytest.raises(WorkerError, match=r"Worker .*tcp://127\.0\.0\.1.*broken"):
        ddf.embed.text("body", model=str(broken)).compute()
    # fixed in place: the next job loads it, and devices() no longer shows the old error
    shutil.copy(Path(minilm_int8) / "model.onnx", broken / "model.onnx")
    ddf.embed.text("body", model=str(broken)).compute()
    table = dfembed.devices(client)
    assert table.loc[table["model"].str.contains("broken"), "error"].isna().all()


def test_progress_persists_and_matches(client, minilm_int8):
    df = random_frame(30, "int")
    ddf = dd.from_pandas(df, npartitions=3)
    result = ddf.embed.text("body", model=minilm_int8, progress=True)
    assert_same(result.compute(), df.embed.text("body", model=minilm_int8))


def test_pandas_parallel_uses_the_active_client(client, minilm_int8):
    df = random_frame(50, "duplicate")
    result = df.embed.text("body", model=minilm_int8, parallel=2)
    assert_same(result, df.embed.text("body", model=minilm_int8))


def test_pandas_parallel_sends_rows_to_workers_not_through_the_graph(client, tmp_path):
    """A 12 MB frame: in the graph it made Dask warn "Sending large graph" on every call."""
    import warnings

    from tests.tiny_models import build_tiny_text_model

    tiny = str(build_tiny_text_model(tmp_path / "tiny"))
    df = pd.DataFrame({"body": [f"row {i} " + "word " * 120 for i in range(20_000)]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = df.embed.text("body", model=tiny, parallel=2, max_length=8)
    assert not [w for w in caught if "large graph" in str(w.message)]
    assert_same(result, df.embed.text("body", model=tiny, max_length=8))


def test_pandas_parallel_balances_skewed_rows_and_keeps_order(client, minilm_int8):
    """Long texts first: partitions are cut by estimated tokens, results stay in row order."""
    df = random_frame(40, "string", seed=3)
    df.loc[df.index[:5], "body"] = [" ".join(WORDS * 12)] * 5
    series = df["body"]
    from distributed import get_task_stream

    with get_task_stream(client) as stream:
        result = series.embed.text(model=minilm_int8, parallel=2)
    assert_same(result, series.embed.text(model=minilm_int8))
    embedded = [t for t in stream.data if "dfembed-text" in str(t["key"])]
    assert len(embedded) == 4  # 2 per worker (the cuts themselves: test_partitions.py)


def _finished_tasks(dask_scheduler) -> int:
    return sum(
        1
        for t in dask_scheduler.tasks.values()
        if t.state == "memory" and "dfembed-text" in str(t.key)
    )


@pytest.mark.slow
def test_worker_killed_mid_job_gives_same_result(minilm_int8, tmp_path):
    import time

    from distributed import Client, LocalCluster

    df = random_frame(900, "string", seed=7)
    expected = df.embed.text("body", model=minilm_int8)
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=":0",
            local_directory=str(tmp_path),
        ) as cluster,
        Client(cluster) as c,
    ):
        ddf = dd.from_pandas(df, npartitions=30, sort=False)
        future = c.compute(ddf.embed.text("body", model=minilm_int8, batch_size=2))
        victim = next(iter(c.scheduler_info()["workers"]))
        pid = c.run(os.getpid, workers=[victim])[victim]
        deadline = time.monotonic() + 120
        while c.run_on_scheduler(_finished_tasks) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not future.done(), "the job finished before the kill: make it longer"
        os.kill(pid, signal.SIGKILL)
        assert_same(future.result(timeout=240), expected)
