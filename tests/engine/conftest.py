"""A real two-worker LocalCluster on 127.0.0.1, shared by the Dask engine tests."""

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


@pytest.fixture(scope="module")
def hosts(tmp_path_factory):
    """Two simulated hosts, A (127.0.0.2) and B (127.0.0.3), with two workers each that
    joined interleaved (A, B, then A, B), and a tiny text model on each host's own disk at
    ``~/models/tiny`` (``hosts.model``; ``hosts.source`` is the original, for in-process
    runs). The test process plays a client machine with its own HOME holding the model too:
    the accessor reads the model's width there.
    """
    from tests.engine.multihost import start_hosts, tiny_model

    root = tmp_path_factory.mktemp("hosts")
    with start_hosts(root) as cluster, pytest.MonkeyPatch.context() as patch:
        cluster.start("A", "B")
        cluster.start("A", "B")
        cluster.source = str(tiny_model(root / "tiny"))
        cluster.model = cluster.copy_to_homes(cluster.source, "models/tiny")
        patch.setenv("HOME", str(cluster.home("client")))
        yield cluster
