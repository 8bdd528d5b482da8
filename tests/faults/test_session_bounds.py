"""Loaded sessions are bounded: least recently used out, and freed with their Dask plugin.

Every distinct ``threads=`` or ``session_options=`` is a spec of its own with its own ONNX
session; before, a process kept every one it ever loaded (24 combinations: 24 sessions,
+2.6 GB), and a Dask worker kept each plugin's session after the plugin was removed.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
import weakref

import numpy as np
import pandas as pd
import pytest

import dfembed
from dfembed.encoders import load
from dfembed.spec import ModelSpec
from tests.tiny_models import build_tiny_text_model

TEXTS = pd.Series(["the cat sat on the mat", "a fast red car", "hello world"])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> str:
    return str(build_tiny_text_model(tmp_path_factory.mktemp("bounds") / "tiny"))


@pytest.fixture
def fresh_cache(monkeypatch):
    """An empty cache holding at most three sessions, emptied again afterwards."""
    load.clear_cache()
    monkeypatch.setattr(load, "MAX_LOADED", 3, raising=False)
    yield
    load.clear_cache()


def test_the_cache_keeps_the_most_recently_used_sessions(tiny, fresh_cache):
    first = TEXTS.embed.text(model=tiny, threads=1)
    held = weakref.ref(load.cached_encoder(ModelSpec(tiny, threads=1)))
    for threads in (2, 3, 4):
        TEXTS.embed.text(model=tiny, threads=threads)
        assert load.loaded_count() <= 3
    options = [{"cpu_mem_arena": False}, {"graph_fusion": False}]
    for settings in options:
        TEXTS.embed.text(model=tiny, session_options=settings)
        assert load.loaded_count() == 3
    # threads=1 went first; its session was freed, not only forgotten
    assert load.cached_encoder(ModelSpec(tiny, threads=1)) is None
    gc.collect()
    assert held() is None
    # using a session keeps it: threads=4 stays while two more specs load
    recent = load.cached_encoder(ModelSpec(tiny, threads=4))
    for threads in (5, 6):
        TEXTS.embed.text(model=tiny, threads=4)
        TEXTS.embed.text(model=tiny, threads=threads)
    assert load.cached_encoder(ModelSpec(tiny, threads=4)) is recent
    # an evicted spec loads again, and gives the same vectors
    loads = load.load_count
    again = TEXTS.embed.text(model=tiny, threads=1)
    assert load.load_count == loads + 1
    np.testing.assert_array_equal(dfembed.to_numpy(again), dfembed.to_numpy(first))


def test_an_evicted_encoder_keeps_working_for_whoever_holds_it(tiny, fresh_cache):
    """Threads keep encoding with an encoder while others evict it from the cache."""
    from dfembed.encoders.text import TextOptions

    spec = ModelSpec(tiny, threads=1)
    held = load.get_encoder(spec)
    expected = held.encode(list(TEXTS), TextOptions())
    failures: list[BaseException] = []
    stop = threading.Event()

    def use() -> None:
        try:
            while not stop.is_set():
                out = load.get_encoder(spec).encode(list(TEXTS), TextOptions())
                np.testing.assert_array_equal(out, expected)
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    users = [threading.Thread(target=use) for _ in range(2)]
    for thread in users:
        thread.start()
    try:
        for threads in range(2, 12):  # each load evicts the least recently used
            load.get_encoder(ModelSpec(tiny, threads=threads))
            assert load.loaded_count() <= 3
    finally:
        stop.set()
        for thread in users:
            thread.join()
    assert not failures, failures
    np.testing.assert_array_equal(held.encode(list(TEXTS), TextOptions()), expected)


def test_the_limit_is_set_by_an_environment_variable():
    code = "from dfembed.encoders import load; print(load.MAX_LOADED)"
    env = dict(os.environ, DFEMBED_MAX_SESSIONS="2")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "2", out.stderr
    assert load.MAX_LOADED == 8  # the default, in this process


def _dfembed_plugins(dask_worker) -> list[str]:
    from dfembed.engine.plugin import ModelPlugin

    return [name for name, p in dask_worker.plugins.items() if isinstance(p, ModelPlugin)]


def test_removing_the_dask_plugin_frees_its_session(tiny, clusters):
    import dask.dataframe as dd

    from dfembed.encoders.load import loaded_count

    _, client = clusters.start(n_workers=1)
    lazy = dd.from_pandas(pd.DataFrame({"body": list(TEXTS)}), npartitions=1)
    client.compute(lazy.embed.text("body", model=tiny)).result(timeout=60)
    client.compute(lazy.embed.text("body", model=tiny, threads=2)).result(timeout=60)
    (names,) = client.run(_dfembed_plugins).values()
    assert len(names) == 2
    assert list(client.run(loaded_count).values()) == [2]
    client.unregister_worker_plugin(names[0])
    assert list(client.run(loaded_count).values()) == [1]
    client.unregister_worker_plugin(names[1])
    assert list(client.run(loaded_count).values()) == [0]
