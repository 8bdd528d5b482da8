"""The Dask client dfembed computes with when pandas asks for ``parallel=``.

An active ``distributed.Client`` is used as it is. Otherwise one ``LocalCluster`` of worker
processes is started, reused by later calls with the same size, and closed at exit.
"""

from __future__ import annotations

import atexit
import os
import tempfile

_local: dict[str, object] = {}


def active_client():
    """The current distributed client, or ``None`` when there is none."""
    try:
        from distributed import default_client

        return default_client()
    except (ImportError, ValueError):
        return None


def client_for(parallel: int):
    """An active client, or a local cluster of ``parallel`` workers (0: one per core)."""
    client = active_client()
    if client is not None:
        return client
    from ..runtime.session import default_threads

    workers = parallel or default_threads()
    if _local.get("workers") == workers and _local.get("client") is not None:
        return _local["client"]
    close_local()
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        local_directory=os.path.join(tempfile.gettempdir(), "dfembed-dask"),
    )
    client = Client(cluster, set_as_default=False)
    _local.update(workers=workers, cluster=cluster, client=client)
    return client


def close_local() -> None:
    """Close the local cluster dfembed started, if any."""
    client, cluster = _local.pop("client", None), _local.pop("cluster", None)
    _local.pop("workers", None)
    if client is not None:
        client.close()
    if cluster is not None:
        cluster.close()


atexit.register(close_local)
