"""Placement, caches and outputs on a cluster of several (simulated) hosts.

Hosts A (127.0.0.2) and B (127.0.0.3) each run two ``dask worker`` processes that joined
interleaved (A, B, A, B), each host with its own HOME and caches and its own copy of the
tiny model (see ``tests/engine/multihost.py``). No GPU here: ``cuda="auto"`` runs on the CPU,
and ``dfembed.devices`` shows the GPU each worker's placement gives it (``device_id``),
which is what a GPU host would use. The tests share the cluster and run in file order:
the later ones kill and add workers.
"""

from __future__ import annotations

import sqlite3

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

import dfembed
from dfembed import WorkerError
from tests.engine.multihost import gated, pretend_gpus
from tests.faults.common import same, word_texts

pytestmark = pytest.mark.slow

A, B = "127.0.0.2", "127.0.0.3"
GPUS = {"cuda": "auto", "device_ids": [0, 1]}


def _frame(n: int, seed: int) -> pd.DataFrame:
    """Texts with a few nulls, under a shuffled string index (alignment shows)."""
    rng = np.random.default_rng(seed)
    body = pd.array(word_texts(n, seed), dtype=object)
    body[rng.choice(n, size=n // 20, replace=False)] = None
    index = pd.Index([f"row-{i}" for i in rng.permutation(n)], name="id")
    return pd.DataFrame({"body": body, "n": np.arange(n)}, index=index)


def _placed(hosts, model: str) -> pd.DataFrame:
    """``dfembed.devices`` rows of ``model`` with ``cuda="auto"``, by worker name."""
    table = dfembed.devices(hosts.client)
    rows = table[(table["model"] == model) & (table["cuda"].astype(str) == "auto")]
    return rows.set_index("name").sort_index()


def test_local_ranks_and_devices_are_per_host(hosts):
    """The issue's case: four workers joined A, B, A, B. A cluster-wide ordinal gave host
    A's workers 0 and 2 (both GPU 0) and host B's 1 and 3 (both GPU 1)."""
    df = _frame(200, seed=1)
    with hosts.client.as_current():
        ddf = dd.from_pandas(df, npartitions=8, sort=False)
        out = ddf.embed.text("body", model=hosts.model, **GPUS).compute()
    same(out, df.embed.text("body", model=hosts.source))
    rows = _placed(hosts, hosts.model)
    assert rows["host"].to_dict() == {"w0-A": A, "w1-B": B, "w2-A": A, "w3-B": B}
    # each host numbers its own workers in the order they joined, and uses both GPUs
    assert rows["local_rank"].to_dict() == {"w0-A": 0, "w1-B": 0, "w2-A": 1, "w3-B": 1}
    assert rows["device_id"].to_dict() == {"w0-A": 0, "w1-B": 0, "w2-A": 1, "w3-B": 1}
    assert (rows["providers"] == "CPUExecutionProvider").all() and rows["error"].isna().all()


def test_to_parquet_from_both_hosts_into_a_shared_folder(hosts, tmp_path):
    from distributed import get_task_stream

    df = _frame(240, seed=2)
    shared = tmp_path / "shared" / "vectors"
    with hosts.client.as_current(), get_task_stream(hosts.client) as stream:
        ddf = dd.from_pandas(df, npartitions=8, sort=False)
        files = dfembed.to_parquet(
            ddf.assign(vec=ddf.embed.text("body", model=hosts.model)), shared
        )
    assert len(files) == 8 and all(f.parent == shared for f in files)
    back = dfembed.read_parquet(shared)
    assert back.index.tolist() == df.index.tolist()
    assert back["n"].tolist() == df["n"].tolist()
    same(back["vec"], df.embed.text("body", model=hosts.source, name="vec"))
    # written where computed, by workers of both hosts
    writers = {t["worker"] for t in stream.data if "dfembed" in str(t["key"])}
    names = {address: name for name, address in hosts.names().items()}
    assert {hosts.hosts[names[w]] for w in writers} == {"A", "B"}


def _cache_rows(folder) -> int:
    files = sorted(folder.rglob("*.sqlite*")) if folder.is_dir() else []
    dbs = [f for f in files if f.suffix in (".sqlite", ".sqlite3")]
    total = 0
    for db in dbs:
        with sqlite3.connect(db) as con:
            total += con.execute("SELECT count(*) FROM entries").fetchone()[0]
    return total


def test_the_embedding_cache_is_on_each_hosts_own_disk(hosts):
    df = _frame(160, seed=3)
    with hosts.client.as_current():
        ddf = dd.from_pandas(df, npartitions=8, sort=False)
        first = ddf.embed.text("body", model=hosts.model, cache=True).compute()
        again = ddf.embed.text("body", model=hosts.model, cache=True).compute()
    expected = df.embed.text("body", model=hosts.source)
    same(first, expected)
    same(again, expected)
    folders = {h: hosts.home(h) / ".cache" / "dfembed" / "embeddings" for h in ("A", "B")}
    stored = {h: _cache_rows(folder) for h, folder in folders.items()}
    assert stored["A"] > 0 and stored["B"] > 0, stored
    # every distinct text was stored on the host that embedded it, and only there
    assert stored["A"] + stored["B"] >= df["body"].dropna().nunique()
    assert not (hosts.home("client") / ".cache" / "dfembed").exists()


def test_without_device_ids_each_worker_takes_one_of_its_hosts_gpus(hosts):
    """With two (pretended) GPUs per host: no device_ids puts each host's workers on GPUs 0
    and 1; a device_ids entry a host lacks fails naming the worker, the host and its GPUs.
    The CUDA libraries are really missing here, so "auto" says why it runs on the CPU."""
    df = _frame(60, seed=4)
    # a model of its own, so its rows in dfembed.devices are this test's
    model = hosts.copy_to_homes(hosts.source, "models/for-gpus")
    hosts.client.run(pretend_gpus, 2)
    try:
        with hosts.client.as_current():
            ddf = dd.from_pandas(df, npartitions=4, sort=False)
            ddf.embed.text("body", model=model, cuda="auto").compute()
            rows = _placed(hosts, model)
            with pytest.raises(WorkerError) as info:
                ddf.embed.text("body", model=model, cuda="auto", device_ids=[0, 2]).compute()
    finally:
        hosts.client.run(pretend_gpus, None)
    assert rows["device_id"].to_dict() == {"w0-A": 0, "w1-B": 0, "w2-A": 1, "w3-B": 1}
    message = str(info.value)
    assert "device_ids=[0, 2] names GPU 2, but worker w" in message
    assert "has 2 GPUs: GPUs [0, 1]" in message and ("host 127.0.0." in message)
    # a worker on a GPU host that falls back to the CPU says why, once
    log = hosts.log("w0-A")
    assert log.count('cuda="auto" runs on the CPU although the driver reports 2 GPUs') == 1
    assert "dfembed[gpu]" in log


def test_a_replacement_takes_the_freed_rank_and_nothing_is_lost(hosts):
    """Partitions held by a killed worker are recomputed; the new worker on its host takes
    its local rank (and so its GPU); the others keep theirs."""
    from distributed import wait

    df = _frame(300, seed=5)
    with hosts.client.as_current():
        ddf = dd.from_pandas(df, npartitions=12, sort=False)
        persisted = ddf.embed.text("body", model=hosts.model, **GPUS).persist()
        wait(persisted)
        before = _placed(hosts, hosts.model)
        victim = before[(before["host"] == A) & (before["local_rank"] == 0)].index[0]
        holders = {a for keys in hosts.client.who_has(persisted).values() for a in keys}
        assert hosts.names()[victim] in holders  # it holds results that must be recomputed
        hosts.kill(victim)
        (new,) = hosts.start("A")
        result = persisted.compute()
        after = _placed(hosts, hosts.model)
    same(result, df.embed.text("body", model=hosts.source))
    assert (after.loc[new, "host"], after.loc[new, "local_rank"]) == (A, 0)
    assert after.loc[new, "device_id"] == 0
    survivors = before.index.drop(victim)
    assert after.loc[survivors, "local_rank"].equals(before.loc[survivors, "local_rank"])


def test_a_worker_added_while_a_job_runs(hosts):
    """Every partition waits at a gate until a third worker joined host B and was given
    some of the job: it takes local rank 2 there and shares GPU 0 (said once in its log,
    naming the host); the result is the in-process one."""
    import time
    import uuid

    from distributed import Event, get_task_stream

    df = _frame(240, seed=6)
    name = f"dfembed-gate-{uuid.uuid4().hex}"
    gate = Event(name, client=hosts.client)
    pieces = [dask.delayed(gated)(df.iloc[i : i + 20], name) for i in range(0, 240, 20)]
    with hosts.client.as_current(), get_task_stream(hosts.client) as stream:
        ddf = dd.from_delayed(pieces, meta=df.iloc[:0], verify_meta=False)
        future = hosts.client.compute(ddf.embed.text("body", model=hosts.model, **GPUS))
        (new,) = hosts.start("B")
        address = hosts.names()[new]
        deadline = time.monotonic() + 60  # Dask queues or steals tasks for it
        while not hosts.client.processing(workers=[address]).get(address):
            assert time.monotonic() < deadline, "the new worker was given no task"
            time.sleep(0.2)
        assert not future.done()
        gate.set()
        result = future.result(timeout=180)
        rows = _placed(hosts, hosts.model)
    same(result, df.embed.text("body", model=hosts.source))
    placed = rows.loc[new, ["host", "local_rank", "device_id"]].tolist()
    assert placed == [B, 2, 0]
    assert sorted(rows[rows["host"] == B]["local_rank"]) == [0, 1, 2]
    assert any(t["worker"] == address for t in stream.data)
    said = f"host {B} has more workers than GPUs [0, 1]"
    deadline = time.monotonic() + 15  # the worker's stderr reaches its log file on its own
    while said not in hosts.log(new) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert said in hosts.log(new)
