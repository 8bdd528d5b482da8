"""The Dask plugins of :mod:`dfembed.engine.plugin`, without a cluster.

The scheduler's local ranks (per host, smallest free, stable, reused), and a worker's
:class:`ModelPlugin` on a stand-in worker: placement, threads, load errors, preload and
teardown. Loads are stubbed: what is tested is the plugin's own bookkeeping.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from dfembed.encoders import load
from dfembed.engine.plugin import (
    RANK_HANDLER,
    LocalRankPlugin,
    ModelPlugin,
    address_host,
    fallback_rank,
    plugin_name,
)
from dfembed.errors import DeviceUnavailableError, ModelLoadError, WorkerError
from dfembed.runtime import devices
from dfembed.spec import ModelSpec


def _ranks(plugin: LocalRankPlugin, *addresses: str) -> list[tuple[str, int]]:
    return [tuple(plugin.local_rank(a).values()) for a in addresses]


def test_interleaved_joins_get_ranks_per_host():
    plugin = LocalRankPlugin()
    joins = ["tcp://10.0.0.1:7001", "tcp://10.0.0.2:7001", "tcp://10.0.0.1:7002"]
    joins.append("tcp://10.0.0.2:7002")
    for address in joins:
        plugin.add_worker(worker=address)
    assert _ranks(plugin, *joins) == [
        ("10.0.0.1", 0),
        ("10.0.0.2", 0),
        ("10.0.0.1", 1),
        ("10.0.0.2", 1),
    ]


def test_a_freed_rank_goes_to_the_next_worker_of_that_host_only():
    plugin = LocalRankPlugin()
    a0, a1, a2 = (f"tcp://10.0.0.1:{p}" for p in (1, 2, 3))
    b0, b1 = "tcp://10.0.0.2:1", "tcp://10.0.0.2:2"
    for address in (a0, a1, a2, b0):
        plugin.add_worker(worker=address)
    plugin.remove_worker(worker=a1)
    plugin.add_worker(worker=b1)  # another host: its own numbers
    assert _ranks(plugin, b1) == [("10.0.0.2", 1)]
    a3 = "tcp://10.0.0.1:4"
    plugin.add_worker(worker=a3)
    assert _ranks(plugin, a0, a2, a3) == [("10.0.0.1", 0), ("10.0.0.1", 2), ("10.0.0.1", 1)]
    # asking again changes nothing; a host whose workers all left starts at 0 again
    assert _ranks(plugin, a3) == [("10.0.0.1", 1)]
    for address in (b0, b1):
        plugin.remove_worker(worker=address)
    assert "10.0.0.2" not in plugin.ranks
    assert _ranks(plugin, "tcp://10.0.0.2:9") == [("10.0.0.2", 0)]


def test_workers_present_at_start_are_ranked_in_join_order():
    """Registered after the workers joined (the usual case), the plugin ranks them as if it
    had seen them join: the scheduler's workers dict is sorted by address, not join order."""
    order = ["tcp://10.0.0.1:9000", "tcp://10.0.0.2:5000", "tcp://10.0.0.1:1000"]
    workers = {a: SimpleNamespace(name=f"w{i}") for i, a in enumerate(order)}
    events = {a: [(100.0 + i, {"action": "add-worker"})] for i, a in enumerate(order)}
    scheduler = SimpleNamespace(workers=dict(sorted(workers.items())), events=events, handlers={})
    plugin = LocalRankPlugin()
    asyncio.run(plugin.start(scheduler))
    assert scheduler.handlers[RANK_HANDLER] == plugin.local_rank
    assert plugin.ranks == {
        "10.0.0.1": {order[0]: 0, order[2]: 1},
        "10.0.0.2": {order[1]: 0},
    }


def test_address_host():
    assert address_host("tcp://127.0.0.3:4000") == "127.0.0.3"
    assert address_host("tls://[::1]:4000") == "::1"
    assert address_host("not an address") == "not an address"


class _Worker:
    """What ModelPlugin reads of a Dask worker, and the events it logs."""

    def __init__(self, name="w0", address="tcp://10.0.0.1:7001", nthreads=3, scheduler=None):
        self.name = name
        self.address = address
        self.state = SimpleNamespace(nthreads=nthreads)
        self.scheduler = scheduler
        self.events: list[tuple[str, dict]] = []

    def log_event(self, topic, msg) -> None:
        self.events.append((topic, msg))


class _RankingScheduler:
    """The scheduler side of the local-rank handler, as a worker's RPC sees it."""

    def __init__(self) -> None:
        self.plugin = LocalRankPlugin()

    async def dfembed_local_rank(self, address):
        return self.plugin.local_rank(address)


@pytest.fixture
def loads(monkeypatch):
    """Stub model loads: each returns a new stand-in encoder; the list records the specs.

    Whatever the test left in the process's encoder cache is dropped afterwards.
    """
    built: list[ModelSpec] = []

    def build(spec, device_id=None):
        built.append(spec)
        return SimpleNamespace(providers=["CPUExecutionProvider"], precision="fp32")

    monkeypatch.setattr(load, "build_encoder", build)
    yield built
    for spec in built:
        load.forget(spec)


def test_plugin_name_follows_the_spec():
    spec = ModelSpec("m", threads=2)
    assert plugin_name(spec) == plugin_name(ModelSpec("m", threads=2)) == f"dfembed-{spec.key()}"
    assert plugin_name(spec) != plugin_name(ModelSpec("m", threads=1))
    assert ModelPlugin(spec).name == plugin_name(spec)


def test_fallback_rank_is_an_int_worker_name_else_zero():
    assert fallback_rank(_Worker(name=3)) == {"host": "10.0.0.1", "local_rank": 3}
    assert fallback_rank(_Worker(name="gpu-worker-3")) == {"host": "10.0.0.1", "local_rank": 0}


def test_assign_on_the_cpu_takes_the_workers_threads_unless_the_spec_names_some():
    plugin = ModelPlugin(ModelSpec("m", cuda=False, device_id=5))
    plugin.assign(_Worker(nthreads=3), "10.0.0.1", 1)
    assert plugin.worker_name == "w0 (tcp://10.0.0.1:7001)"
    assert (plugin.placement.host, plugin.placement.local_rank) == ("10.0.0.1", 1)
    assert plugin.placement.device_id is None and plugin.placement_error is None
    # no GPU planned: the session's device is 0 whatever the caller's device_id was
    assert (plugin.worker_spec.device_id, plugin.worker_spec.threads) == (0, 3)
    pinned = ModelPlugin(ModelSpec("m", threads=1))
    pinned.assign(_Worker(nthreads=3), "10.0.0.1", 0)
    assert pinned.worker_spec.threads == 1


def test_assign_round_robins_device_ids_by_local_rank(monkeypatch):
    monkeypatch.setattr(devices, "gpu_count", lambda: 4)
    for rank, gpu in [(0, 2), (1, 3), (2, 2)]:
        plugin = ModelPlugin(ModelSpec("m", cuda=True, device_ids=(2, 3)))
        plugin.assign(_Worker(), "10.0.0.1", rank)
        assert plugin.placement.device_id == plugin.worker_spec.device_id == gpu


def test_a_gpu_the_host_lacks_fails_every_task_without_loading(monkeypatch, loads):
    monkeypatch.setattr(devices, "gpu_count", lambda: 2)
    plugin = ModelPlugin(ModelSpec("m", cuda=True, device_ids=(0, 7)))
    plugin.assign(_Worker(), "10.0.0.1", 0)
    assert isinstance(plugin.placement_error, DeviceUnavailableError)
    assert plugin.placement.device_id is None
    with pytest.raises(WorkerError, match=r"text:m \(cuda\) cannot run") as caught:
        plugin.encoder()
    assert caught.value.__cause__ is plugin.placement_error
    assert loads == []


def test_a_failed_load_names_the_worker_and_is_forgotten_once_a_load_works(
    monkeypatch, loads, tmp_path
):
    calls = []

    def flaky(spec, device_id=None):
        calls.append(spec)
        if len(calls) == 1:
            raise ModelLoadError("model.onnx is truncated")
        return SimpleNamespace(providers=["CPUExecutionProvider"], precision="fp32")

    monkeypatch.setattr(load, "build_encoder", flaky)
    spec = ModelSpec(str(tmp_path / "flaky"))
    plugin = ModelPlugin(spec)
    plugin.assign(_Worker(), "10.0.0.1", 0)
    plugin._load()  # what a preload runs: the error is kept, not raised
    assert isinstance(plugin.error, WorkerError)
    assert "w0 (tcp://10.0.0.1:7001)" in str(plugin.error)
    assert "flaky" in str(plugin.error) and "truncated" in str(plugin.error)
    encoder = plugin.encoder()  # the next task loads again, and it works now
    assert plugin.error is None and plugin.loaded() is encoder
    load.forget(plugin.worker_spec)


def test_setup_ranks_preloads_and_teardown_frees_the_session(loads, tmp_path):
    scheduler = _RankingScheduler()
    scheduler.plugin.local_rank("tcp://10.0.0.1:7000")  # another worker of the host holds 0
    worker = _Worker(address="tcp://10.0.0.1:7001", scheduler=scheduler)
    plugin = ModelPlugin(ModelSpec(str(tmp_path / "m")), preload_on=frozenset({worker.address}))

    async def lifecycle():
        await plugin.setup(worker)
        await plugin._loading
        assert plugin.loaded() is not None
        await plugin.teardown(worker)

    asyncio.run(lifecycle())
    assert plugin.placement.local_rank == 1
    assert len(loads) == 1 and loads[0] == plugin.worker_spec
    assert plugin.loaded() is None  # the process cache no longer holds the session
    # reported before loading (nothing loaded) and again once loaded
    providers = [msg["details"]["provider"] for _, msg in worker.events if "details" in msg]
    assert providers == [None, "CPUExecutionProvider"]


def test_setup_without_the_scheduler_plugin_ranks_by_worker_name(loads, tmp_path):
    class NoHandler:
        async def dfembed_local_rank(self, address):
            raise KeyError("no such handler")

    worker = _Worker(name=2, scheduler=NoHandler())
    plugin = ModelPlugin(ModelSpec(str(tmp_path / "m")))
    asyncio.run(plugin.setup(worker))
    assert plugin.placement.local_rank == 2
    assert plugin._loading is None and loads == []  # not on preload_on: loads on first task
