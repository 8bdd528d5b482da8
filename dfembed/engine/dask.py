"""The Dask engine: one task per partition, on workers that each hold one session per model."""

from __future__ import annotations

import math

import pandas as pd

from ..encoders.kinds import kind_of
from ..errors import ModelNotFoundError
from ..models.describe import describe
from ..models.registry import ModelInfo
from ..models.resolve import resolve
from ..runtime.memory import release_free_memory
from ..spec import ModelSpec
from .cluster import active_client, client_for
from .dashboard import DashboardPlugin
from .metrics import batch_recorder
from .partitions import balanced_bounds, row_costs
from .plugin import LocalRankPlugin, ModelPlugin, fallback_rank, plugin_name
from .reports import task_report
from .task import EmbedTask

_ROWS_PER_PARTITION = 8192


def embed_partition(part: pd.DataFrame | pd.Series, task: EmbedTask) -> pd.Series:
    """Embed one partition where it runs: on a worker through its model plugin."""
    worker = _current_worker()
    if worker is None:  # threaded or synchronous scheduler: the process cache serves
        return task.run(part, on_batch=batch_recorder(task.spec.kind, in_dask_task=False))
    plugin = worker.plugins.get(plugin_name(task.spec)) or _adhoc_plugin(worker, task.spec)
    record = batch_recorder(task.spec.kind, in_dask_task=True)
    with task_report(worker, plugin, len(part), record) as on_batch:  # the dashboard's feed
        out = task.run(part, load=plugin.encoder, on_batch=on_batch)
    # a long-lived worker: what this partition freed goes back before the next step (often
    # a parquet write) allocates, instead of staying in the heap for the worker's lifetime
    release_free_memory()
    return out


def embed_dask(obj, task: EmbedTask, progress: bool = False):
    """The lazy result of ``task`` over a Dask frame: aligned, one task per partition."""
    client = active_client()
    if client is not None:
        ensure_plugins(client, task.spec)
    result = obj.map_partitions(
        embed_partition,
        task,
        meta=task.meta(obj._meta.index),
        token=f"dfembed-{task.spec.kind}",
        align_dataframes=False,
    )
    if progress:
        result = _persist_with_progress(result, client)
    return result


def declared_info(spec: ModelSpec) -> ModelInfo:
    """The model a lazy result is built for, with the vectors' width it declares, learnt
    without running the model here.

    With a distributed client, this process only builds the graph: the model comes from
    :func:`~dfembed.models.describe.describe` (registry, local folder, or the hub's small
    JSON files; never the graph or weights). Where those do not state the width, or this
    process cannot see the model at all (a folder only the workers have, a hub it cannot
    reach), one worker resolves the model, which it downloads to run anyway, and answers.
    With no client this process computes, so it resolves the model itself.
    """
    client = active_client()
    if client is None:
        return resolve(spec).info
    try:
        info = describe(spec)
    except ModelNotFoundError:  # not here; the workers may have it (else they say why)
        info = None
    if info is not None and (info.dim or not kind_of(info.kind).sized):
        return info
    return client.submit(model_info, spec, pure=False).result()


def model_info(spec: ModelSpec) -> ModelInfo:
    """``spec``'s model and the width of its vectors, as the process that runs it sees it
    (a Dask task)."""
    return resolve(spec).info


def embed_pandas_on_cluster(
    obj: pd.DataFrame | pd.Series, task: EmbedTask, progress: bool, parallel: int
) -> pd.Series:
    """Run a pandas job on Dask workers and bring the result back in the input's order."""
    import dask
    import dask.dataframe as dd
    from distributed import span

    from ..progress import dask_bar

    client = client_for(parallel)
    slots = max(1, sum(client.nthreads().values()))  # a worker with 4 threads runs 4 tasks
    parts = max(1, min(len(obj), max(2 * slots, math.ceil(len(obj) / _ROWS_PER_PARTITION))))
    obj = task.inputs_of(obj)  # other columns would be pickled and shipped for nothing
    bounds = balanced_bounds(row_costs(obj, task), parts)
    # contiguous slices keep the rows in their order (and duplicates in the index); no string
    # conversion, so a non-text cell raises as it does in process instead of becoming text.
    # Scattered to the workers rather than put in the graph: a 1M-row frame made a 79 MB
    # graph that went through the scheduler (and a "large graph" warning on every call).
    pieces = client.scatter([obj.iloc[start:stop] for start, stop in bounds], hash=False)
    with dask.config.set({"dataframe.convert-string": False}):
        frame = dd.from_delayed(pieces, meta=obj.iloc[:0], verify_meta=False)
    ensure_plugins(client, task.spec)
    result = frame.map_partitions(
        embed_partition,
        task,
        meta=task.meta(obj.index),
        token=f"dfembed-{task.spec.kind}",
        align_dataframes=False,
    )
    with span("dfembed", task.spec.kind):
        future = client.compute(result)
        if progress:
            dask_bar(future, client)
        out = future.result()
    out.index = obj.index  # identical labels; this drops the per-partition index copies
    return out


def ensure_plugins(client, spec) -> None:
    """Register the scheduler plugins and this spec's model plugin once per client."""
    done: set = client.__dict__.setdefault("_dfembed_plugins", set())
    if "ranks" not in done:
        client.register_plugin(LocalRankPlugin())
        done.add("ranks")
    if "dashboard" not in done:
        client.register_plugin(DashboardPlugin())
        done.add("dashboard")
    name = plugin_name(spec)
    if name not in done:
        workers = frozenset(client.scheduler_info()["workers"])
        client.register_plugin(ModelPlugin(spec, preload_on=workers), name=name)
        done.add(name)


def _current_worker():
    try:
        from distributed import get_worker

        return get_worker()
    except (ImportError, ValueError):
        return None


_adhoc: dict[tuple[str, str], ModelPlugin] = {}


def _adhoc_plugin(worker, spec) -> ModelPlugin:
    """A stand-in when the graph was built before any client existed (no plugin sent)."""
    key = (worker.address, spec.key())
    if key not in _adhoc:
        plugin = ModelPlugin(spec)
        rank = fallback_rank(worker)
        plugin.assign(worker, rank["host"], rank["local_rank"])
        _adhoc[key] = plugin
    return _adhoc[key]


def _persist_with_progress(result, client):
    """Start computing now and show a bar: Dask's own on a cluster, tqdm-free otherwise."""
    if client is not None:
        from ..progress import dask_bar

        persisted = client.persist(result)
        dask_bar(persisted, client)
        return persisted
    from dask.diagnostics import ProgressBar

    with ProgressBar():
        return result.persist()
