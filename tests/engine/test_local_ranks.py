"""The scheduler's local ranks: per host, smallest free, stable, reused (no cluster needed)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from dfembed.engine.plugin import RANK_HANDLER, LocalRankPlugin, address_host


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
