"""A thin client and one download per host, against the loopback hub.

Two "hosts" on one machine: workers bound to 127.0.0.2 and 127.0.0.3, each host with its
own Hugging Face cache (host A runs two workers that share theirs, host B one); the test
process is the client, with a third cache. The hub counts what each file cost: the client
may fetch small JSON files only, each host fetches each file once.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

import dfembed
from dfembed import ModelLoadError, ModelSpec
from dfembed.columns import dense_type
from dfembed.encoders.text import TextOptions
from dfembed.engine.task import EmbedTask
from dfembed.models.describe import WIDTH_FILES, describe
from tests import hub_server
from tests.hub_server import HubServer, point_hub_at, set_offline
from tests.tiny_models import build_tiny_text_model

hf_cache = hub_server.hf_cache  # the client's own cache

JSON_REPO = "owner/json-width"  # the width is in 1_Pooling/config.json
GRAPH_REPO = "owner/graph-width"  # no JSON states the width: only the graph does
HOSTS = {"127.0.0.2": 2, "127.0.0.3": 1}  # host -> workers
TEXTS = ["hello world", "the cat sat on the mat", None, "jazz music", "hello world"] * 4


def _json_repo(folder: Path) -> Path:
    build_tiny_text_model(folder, 8)
    (folder / "1_Pooling").mkdir()
    pooling = {"word_embedding_dimension": 8, "pooling_mode_mean_tokens": True}
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    (folder / "model.safetensors").write_bytes(b"\x08" * 4096)  # never fetched by anyone
    return folder


def _graph_repo(folder: Path) -> Path:
    build_tiny_text_model(folder, 6, seed=2)
    (folder / "config.json").unlink()
    return folder


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> dict[str, Path]:
    """The hub (module-wide: the workers' HF_ENDPOINT is fixed when they start)."""
    with HubServer() as server:
        repos = {
            JSON_REPO: _json_repo(tmp_path_factory.mktemp("json-repo")),
            GRAPH_REPO: _graph_repo(tmp_path_factory.mktemp("graph-repo")),
        }
        for repo, folder in repos.items():
            server.add_repo(repo, folder)
        yield server, repos


@pytest.fixture(scope="module")
def cluster(served, tmp_path_factory):
    """A client (not the default one) of workers on two hosts, each with its own cache."""
    from distributed import Client, Nanny, Scheduler, SpecCluster

    server, _ = served
    root = tmp_path_factory.mktemp("hosts")
    workers, caches = {}, {}
    for host, count in HOSTS.items():
        caches[host] = root / host / "hf"
        env = {
            "HF_HUB_CACHE": str(caches[host]),
            "DFEMBED_VERIFIED_DIR": str(root / host / "verified"),
            "HF_ENDPOINT": server.url,
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_OFFLINE": "0",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        }
        for i in range(count):
            options = {"host": host, "nthreads": 1, "env": env, "local_directory": str(root)}
            workers[f"{host}-{i}"] = {"cls": Nanny, "options": options}
    scheduler = {"cls": Scheduler, "options": {"host": "127.0.0.1", "dashboard": False}}
    with (
        SpecCluster(workers=workers, scheduler=scheduler) as spec_cluster,
        Client(spec_cluster, set_as_default=False) as client,
    ):
        client.wait_for_workers(sum(HOSTS.values()))
        yield client, caches


@pytest.fixture
def hub(served, hf_cache, monkeypatch) -> HubServer:
    server, _ = served
    point_hub_at(monkeypatch, server.url)
    return server


def _heavy(cache: Path) -> list[Path]:
    """Graphs and weight files in a Hugging Face cache."""
    suffixes = {".onnx", ".onnx_data", ".safetensors", ".bin"}
    return [p for p in cache.rglob("*") if p.suffix in suffixes]


def _in_process(folder: Path) -> pd.Series:
    return pd.DataFrame({"body": TEXTS}).embed.text("body", model=str(folder))


def _same(result: pd.Series, expected: pd.Series) -> None:
    assert result.isna().tolist() == expected.isna().tolist()
    np.testing.assert_allclose(dfembed.to_numpy(result), dfembed.to_numpy(expected), atol=1e-5)


def _lazy(model: str):
    ddf = dd.from_pandas(pd.DataFrame({"body": TEXTS}), npartitions=6)
    return ddf.embed.text("body", model=model)


def _loads(client) -> dict[str, int]:
    return client.run(lambda: __import__("dfembed.encoders.load").encoders.load.load_count)


@pytest.mark.slow
def test_client_fetches_json_only_and_each_host_fetches_once(cluster, served, hub, hf_cache):
    client, caches = cluster
    _, repos = served
    before = _loads(client)
    with client.as_current():
        lazy = _lazy(JSON_REPO)
        assert lazy.dtype == dense_type(8)
        result = client.compute(lazy).result()
    _same(result, _in_process(repos[JSON_REPO]))
    assert _heavy(hf_cache) == []  # the client: no graph, no weights
    client_files = {p.name for p in hf_cache.rglob("snapshots/*/**/*") if p.is_file()}
    assert client_files <= {Path(name).name for name in WIDTH_FILES}
    deadline = time.monotonic() + 60  # every worker preloads, the idle ones too
    while any(_loads(client)[w] <= before[w] for w in before) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert all(_loads(client)[w] > before[w] for w in before)
    for cache in caches.values():
        assert [p.name for p in _heavy(cache)] == ["model.onnx"]
    gets = Counter(hub.file_gets(JSON_REPO))
    assert gets["onnx/model.onnx"] == len(HOSTS)  # three workers, two hosts: two downloads
    assert gets["tokenizer.json"] == len(HOSTS)
    assert gets["1_Pooling/config.json"] == len(HOSTS) + 1  # and the client's own
    assert gets["model.safetensors"] == 0


@pytest.mark.slow
def test_width_no_json_states_is_asked_of_a_worker(cluster, served, hub, hf_cache):
    client, _ = cluster
    _, repos = served
    assert describe(ModelSpec(GRAPH_REPO)).dim == 0  # the client cannot know it
    with client.as_current():
        lazy = _lazy(GRAPH_REPO)
        assert lazy.dtype == dense_type(6)
        result = client.compute(lazy).result()
    prefixes = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.task_prefixes))
    assert "model_info" in prefixes
    _same(result, _in_process(repos[GRAPH_REPO]))
    assert _heavy(hf_cache) == []
    assert Counter(hub.file_gets(GRAPH_REPO))["onnx/model.onnx"] == len(HOSTS)


@pytest.mark.slow
def test_client_without_hub_access_asks_a_worker(cluster, served, hub, hf_cache, monkeypatch):
    client, _ = cluster
    _, repos = served
    set_offline(monkeypatch)  # the client only: its workers still reach the hub
    with client.as_current():
        result = client.compute(_lazy(JSON_REPO)).result()
    _same(result, _in_process(repos[JSON_REPO]))
    assert [p for p in hf_cache.rglob("*") if p.is_file()] == []


def test_without_a_client_the_process_resolves_fully(served, hub, hf_cache):
    _, repos = served
    result = _lazy(GRAPH_REPO).compute(scheduler="sync")
    _same(result, _in_process(repos[GRAPH_REPO]))
    assert [p.name for p in _heavy(hf_cache)] == ["model.onnx"]  # it ran the model here


def test_a_wrong_declared_width_is_a_clear_error(served):
    _, repos = served
    spec = ModelSpec(str(repos[JSON_REPO]))
    task = EmbedTask(spec=spec, options=TextOptions(), column=None, name="v", dim=16)
    with pytest.raises(ModelLoadError, match="8-wide vectors here, but the result was built"):
        task.run(pd.Series(["hello world"]))
