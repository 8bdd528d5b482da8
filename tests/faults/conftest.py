"""Clusters for the fault suite: a shared two-worker cluster, and throw-away ones to break.

Every cluster is a real ``LocalCluster`` of worker processes on 127.0.0.1 that writes its
scratch files under pytest's temporary directory. Throw-away clusters take Dask settings
at creation (the scheduler reads ``worker-ttl`` once, when it starts), and any worker a
test stopped with SIGSTOP is resumed before the cluster is closed, so no process is left
frozen behind a failed test.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field

import dask
import pytest

from tests.io.conftest import embedded  # noqa: F401 - the cache tests count model work


def _local_cluster(n_workers: int, scratch: str, config: dict | None = None):
    from distributed import LocalCluster

    with dask.config.set(config or {}):
        return LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
            local_directory=scratch,
        )


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """A two-worker cluster shared by one test module (only tests that break nothing)."""
    from distributed import Client

    cluster = _local_cluster(2, str(tmp_path_factory.mktemp("dask")))
    # not ``with Client(...)``: that pins it as the current client for the whole module, and
    # dfembed registers its worker plugins through the current client
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


@dataclass
class Clusters:
    """Starts clusters for one test; remembers what to resume and close afterwards."""

    scratch: str
    made: list = field(default_factory=list)
    stopped: list[int] = field(default_factory=list)

    def start(self, n_workers: int = 2, config: dict | None = None):
        """A new ``(cluster, client)``; ``config`` is set while the cluster starts."""
        from distributed import Client

        cluster = _local_cluster(n_workers, self.scratch, config)
        client = Client(cluster)
        self.made.append((client, cluster))
        return cluster, client

    def stop_worker(self, client, address: str) -> int:
        """SIGSTOP a worker process (hung, not dead); it is resumed at teardown."""
        pid = client.run(os.getpid, workers=[address])[address]
        self.stopped.append(pid)
        os.kill(pid, signal.SIGSTOP)
        return pid

    def resume_all(self) -> None:
        for pid in self.stopped:
            with contextlib.suppress(ProcessLookupError):  # the nanny may have killed it
                os.kill(pid, signal.SIGCONT)
        self.stopped.clear()

    def close_all(self) -> None:
        self.resume_all()
        for client, cluster in reversed(self.made):
            client.close()
            cluster.close()
        self.made.clear()


@pytest.fixture
def clusters(tmp_path) -> Iterator[Clusters]:
    """Throw-away clusters for tests that stop, kill or add workers."""
    made = Clusters(scratch=str(tmp_path / "dask"))
    try:
        yield made
    finally:
        made.close_all()
