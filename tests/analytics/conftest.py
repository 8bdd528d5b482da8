"""A real two-worker LocalCluster for the analytics tests that need one."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",
        local_directory=str(tmp_path_factory.mktemp("dask")),
    )
    with Client(cluster) as c:
        yield c
    cluster.close()
