"""The LocalCluster that pandas ``parallel=`` starts when no Dask client is active."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dfembed.engine import cluster as engine_cluster


@pytest.fixture
def no_client():
    if engine_cluster.active_client() is not None:
        pytest.skip("a Dask client is active in this process")
    yield
    engine_cluster.close_local()


def _intervals(dask_worker=None) -> dict:
    import dask

    return {key: dask.config.get(key) for key in engine_cluster.QUIET_INTERVALS}


def test_parallel_starts_a_quiet_cluster_once_and_matches_in_process(
    no_client, minilm_int8, capsys
):
    import dask

    df = pd.DataFrame({"t": ["a plain sentence", "another one", None, "a plain sentence"]})
    df.index = [10, 2, 2, 5]
    first = df.embed.text("t", model=minilm_int8, parallel=1)
    client = engine_cluster._local["client"]
    # the bar watches dfembed's own client, which is not the process's default client
    second = df.embed.text("t", model=minilm_int8, parallel=1, progress=True)
    assert engine_cluster._local["client"] is client  # reused, not a second cluster
    assert "100% Completed" in capsys.readouterr().out
    expected = df.embed.text("t", model=minilm_int8)
    for got in (first, second):
        assert got.index.equals(df.index)
        np.testing.assert_allclose(
            np.stack(got.dropna().to_numpy()), np.stack(expected.dropna().to_numpy()), atol=1e-5
        )
        assert got.isna().tolist() == [False, False, True, False]
    # the workers run with dfembed's intervals, and this process's config is left as it was
    (worker_config,) = client.run(_intervals).values()
    assert worker_config == engine_cluster.QUIET_INTERVALS
    assert dask.config.get("distributed.admin.tick.interval") != "500ms"
    engine_cluster.close_local()
    assert "client" not in engine_cluster._local


@pytest.mark.parametrize(
    ("parallel", "error"), [(-1, ValueError), (1.5, TypeError), ("2", TypeError), (True, TypeError)]
)
def test_parallel_must_be_a_worker_count(parallel, error, minilm_int8):
    # -1 used to start a cluster with no workers, and the job waited forever
    df = pd.DataFrame({"t": ["a"]})
    with pytest.raises(error, match=r"parallel \(worker processes; 0: one per core\) must be"):
        df.embed.text("t", model=minilm_int8, parallel=parallel)
