"""The Dask client dfembed computes with when pandas asks for ``parallel=``.

An active ``distributed.Client`` is used as it is. Otherwise one ``LocalCluster`` of worker
processes is started, reused by later calls with the same size, and closed at exit.

That cluster runs Dask's periodic housekeeping less often than Dask's defaults
(:data:`QUIET_INTERVALS`). Embedding tasks run for seconds to minutes, so 20 ms event-loop
ticks, 10 ms profiler samples and 100 ms memory polls buy nothing, and on a small machine
the CPU time they take while idle comes straight out of the workers' share
(benchmarks/README.md, "Measurements behind defaults in the code").
"""

from __future__ import annotations

import atexit
import os
import tempfile

_local: dict[str, object] = {}

#: Dask settings for the clusters dfembed starts itself (a user's own cluster keeps its own).
QUIET_INTERVALS = {
    # how often each server's event loop checks that it is responsive (default 20 ms)
    "distributed.admin.tick.interval": "500ms",
    # the nanny's memory check that restarts a worker over its limit (default 100 ms)
    "distributed.worker.memory.monitor-interval": "500ms",
    # CPU, memory and network samples for the dashboard's system page (default 500 ms)
    "distributed.admin.system-monitor.interval": "2s",
    # the statistical profiler behind the dashboard's profile page (default 10 ms / 1 s):
    # kept, at a coarser grain
    "distributed.worker.profile.interval": "100ms",
    "distributed.worker.profile.cycle": "10s",
}


def active_client():
    """The current distributed client, or ``None`` when there is none."""
    try:
        from distributed import default_client

        return default_client()
    except (ImportError, ValueError):
        return None


def check_parallel(parallel: object) -> int:
    """``parallel`` as a worker count, or a ``TypeError``/``ValueError`` naming the option.

    A negative count would start a cluster with no workers, where the job waits forever.
    """
    from ..spec import check_count

    return check_count(parallel, "parallel (worker processes; 0: one per core)", 0)


def client_for(parallel: int):
    """An active client, or a local cluster of ``parallel`` workers (0: one per core)."""
    parallel = check_parallel(parallel)
    client = active_client()
    if client is not None:
        return client
    from ..runtime.session import default_threads

    workers = parallel or default_threads()
    if _local.get("workers") == workers and _local.get("client") is not None:
        return _local["client"]
    close_local()
    from distributed import Client

    cluster = local_cluster(workers)
    client = Client(cluster, set_as_default=False)
    _local.update(workers=workers, cluster=cluster, client=client)
    return client


def local_cluster(workers: int, local_directory: str | None = None):
    """A ``LocalCluster`` of ``workers`` single-threaded processes, as ``parallel=`` starts.

    One thread per worker: each worker's ONNX Runtime session uses that many threads, and
    processes (not threads) keep tokenization and pooling off one shared GIL.
    """
    import dask
    from distributed import LocalCluster

    # read when each server starts: the scheduler and nannies here, the workers (which get
    # the nanny's config) in their own processes
    with dask.config.set(QUIET_INTERVALS):
        return LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            local_directory=local_directory or os.path.join(tempfile.gettempdir(), "dfembed-dask"),
        )


def close_local() -> None:
    """Close the local cluster dfembed started, if any."""
    client, cluster = _local.pop("client", None), _local.pop("cluster", None)
    _local.pop("workers", None)
    if client is not None:
        client.close()
    if cluster is not None:
        cluster.close()


atexit.register(close_local)
