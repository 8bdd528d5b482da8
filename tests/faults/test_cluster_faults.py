"""Cluster faults on real LocalClusters: a hung worker, a worker that cannot load the model,
a worker that joins mid-job. (A worker SIGKILLed mid-job is in tests/engine/test_dask.py.)

Throw-away clusters come from the ``clusters`` fixture, which resumes any stopped worker
and closes everything even when a test fails.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid

import dask
import dask.dataframe as dd
import pandas as pd
import pytest

import dfembed
from dfembed import WorkerError
from tests.faults.common import finished_embed_tasks, load_counts, same, set_home, word_texts

#: The heartbeat deadline the hung-worker test sets. Dask's default is 5 minutes; it cannot
#: usefully go below 10 heartbeats (5 s on clusters of up to 10 workers).
WORKER_TTL = "5s"


def _frame(n: int, seed: int) -> pd.DataFrame:
    return pd.DataFrame(
        {"body": word_texts(n, seed=seed)}, index=[f"row-{(i * 7) % n}-{i}" for i in range(n)]
    )


def _wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.slow
def test_a_hung_worker_is_replaced_and_the_job_finishes_within_the_ttl(minilm_int8, clusters):
    df = _frame(900, seed=11)
    expected = df.embed.text("body", model=minilm_int8)
    cluster, client = clusters.start(2, {"distributed.scheduler.worker-ttl": WORKER_TTL})
    ddf = dd.from_pandas(df, npartitions=30, sort=False)
    future = client.compute(ddf.embed.text("body", model=minilm_int8, batch_size=2))
    _wait_for(lambda: client.run_on_scheduler(finished_embed_tasks) >= 2, 120, "2 partitions")
    assert not future.done(), "the job finished before the fault: make it longer"
    victim = next(iter(client.scheduler_info()["workers"]))
    clusters.stop_worker(client, victim)  # SIGSTOP: alive, silent, holding its tasks
    started = time.monotonic()
    result = future.result(timeout=120)
    waited = time.monotonic() - started
    same(result, expected)  # nothing lost, duplicated or reordered
    # the 5 s deadline, up to 5 s until the scheduler checks, 4 s for the nanny to kill it,
    # and the rerun of its partitions: far from Dask's default of 5 minutes
    assert waited < 60, waited
    timed_out = [
        event
        for _, event in client.get_events("scheduler")
        if isinstance(event, dict) and event.get("action") == "worker-ttl-timed-out"
    ]
    assert any(victim in event["workers"] for event in timed_out), timed_out


def test_one_worker_that_cannot_load_the_model_is_named(client, minilm_int8, tmp_path, monkeypatch):
    """One worker's machine lacks the model folder (a missing shared mount): ``~`` points
    elsewhere there. The job fails with a WorkerError naming that worker, not the other."""
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    shutil.copytree(minilm_int8, home / "minilm")
    elsewhere.mkdir()
    monkeypatch.setenv("HOME", str(home))  # the client reads the model's width from here
    good, bad = sorted(client.scheduler_info()["workers"])
    homes = client.run(lambda: os.environ.get("HOME"))
    client.run(set_home, str(home), workers=[good])
    client.run(set_home, str(elsewhere), workers=[bad])
    try:
        ddf = dd.from_pandas(_frame(80, seed=3), npartitions=8, sort=False)
        with pytest.raises(WorkerError) as err:
            ddf.embed.text("body", model="~/minilm").compute()
        message = str(err.value)
        assert f"Worker {client.scheduler_info()['workers'][bad]['name']} ({bad})" in message
        assert good not in message
        assert "~/minilm" in message and "not a local directory" in message

        def sessions() -> pd.DataFrame:
            table = dfembed.devices(client)
            return table[table["model"] == "~/minilm"].set_index("worker")

        _wait_for(lambda: sessions().loc[good, "loaded"], 60, "the good worker's preload")
        table = sessions()
        assert bad in table.loc[bad, "error"] and not table.loc[bad, "loaded"]
        assert pd.isna(table.loc[good, "error"])
    finally:
        for address, value in homes.items():
            client.run(set_home, value, workers=[address])


@pytest.mark.slow
def test_a_worker_joining_mid_job_loads_the_model_once_and_takes_work(minilm_int8, clusters):
    """The first four partitions to start run at once; the others wait at a gate that opens
    once a third worker has joined, so the job is mid-way, by construction, as it joins."""
    from distributed import Event, get_task_stream

    df = _frame(480, seed=5)
    expected = df.embed.text("body", model=minilm_int8)
    cluster, client = clusters.start(2)
    first = set(client.scheduler_info()["workers"])
    name = f"dfembed-test-{uuid.uuid4().hex}"
    gate = Event(name, client=client)

    def part(rows: pd.DataFrame, name: str) -> pd.DataFrame:
        from distributed import Event, Semaphore

        if not Semaphore(max_leases=4, name=name).acquire(timeout=0.2):  # not one of the first 4
            assert Event(name).wait(timeout=120), "the test never opened the gate"
        return rows

    pieces = [dask.delayed(part)(df.iloc[i : i + 20], name) for i in range(0, 480, 20)]
    ddf = dd.from_delayed(pieces, meta=df.iloc[:0], verify_meta=False)
    with get_task_stream(client) as stream:
        future = client.compute(ddf.embed.text("body", model=minilm_int8))
        _wait_for(lambda: client.run_on_scheduler(finished_embed_tasks) >= 2, 120, "2 parts")
        cluster.scale(3)
        client.wait_for_workers(3, timeout=120)
        assert not future.done()
        gate.set()
        result = future.result(timeout=180)
    same(result, expected)
    (joined,) = set(client.scheduler_info()["workers"]) - first
    assert load_counts(client) == {address: 1 for address in [*first, joined]}
    ran_there = [t for t in stream.data if t["worker"] == joined and "dfembed" in str(t["key"])]
    assert ran_there, "the new worker embedded nothing"
    table = dfembed.devices(client)
    assert table.set_index("worker").loc[joined, "loaded"]
    assert sorted(table["local_rank"]) == [0, 1, 2]
