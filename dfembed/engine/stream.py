"""Consuming a Dask result partition by partition, as partitions finish."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd

from .cluster import active_client


def as_completed(result, client=None) -> Iterator[tuple[int, pd.Series | pd.DataFrame]]:
    """Yield ``(partition_number, pandas object)`` as each partition of ``result`` finishes.

    For code that upserts vectors into a store as it goes: partitions arrive in the order
    they finish, each tagged with its position, and each still carries its own index, so
    nothing needs the whole result in memory. ``result.compute()`` stays the ordered way.
    Stopping early (``break``, an exception) cancels the partitions not yet yielded once the
    iterator is closed or dropped, instead of computing them and sending them back for
    nothing.
    """
    from distributed import as_completed as futures_completed

    client = client or active_client()
    if client is None:
        raise RuntimeError(
            "dfembed.as_completed needs a distributed Client: create one first "
            "(distributed.Client() starts a local cluster)."
        )
    futures = client.compute(list(result.to_delayed()))
    position = {future.key: i for i, future in enumerate(futures)}
    finished = futures_completed(futures, with_results=True)
    try:
        for future, part in finished:
            yield position[future.key], part
    finally:
        left = [future for future in futures if not future.done()]
        if left:
            client.cancel(left)
        finished.clear()


def devices(client=None) -> pd.DataFrame:
    """Which worker runs which model where, one row per worker and model.

    Columns: ``worker`` (address), ``name``, ``host`` (the host part of the address: GPU
    numbers are that machine's), ``local_rank`` (the worker's number among the live
    workers of its host), ``model``, ``kind``, ``cuda`` (the policy asked for),
    ``device_id`` (the GPU placement gives the worker: round-robin over ``device_ids``, or
    over its host's GPUs, by local rank; ``None`` when no GPU is planned, e.g.
    ``cuda=False``), ``threads``, ``loaded``, ``providers`` (what the session got: with
    ``cuda="auto"`` on a worker without a usable GPU, ``device_id`` is the plan and
    ``providers`` says CPU), ``precision`` and ``error``. A worker holding no model shows
    one row with ``model`` missing.
    """
    client = client or active_client()
    if client is None:
        raise RuntimeError("dfembed.devices needs a distributed Client.")
    rows = []
    for address, sessions in client.run(_worker_sessions).items():
        for row in sessions or [{"model": None}]:
            rows.append({"worker": address, **row})
    return pd.DataFrame(rows)


def _worker_sessions(dask_worker=None) -> list[dict]:
    from .plugin import ModelPlugin

    rows = []
    for plugin in dask_worker.plugins.values() if dask_worker is not None else []:
        if not isinstance(plugin, ModelPlugin) or plugin.worker_spec is None:
            continue
        encoder = plugin.loaded()
        placement = plugin.placement
        error = plugin.placement_error or plugin.error
        rows.append(
            {
                "name": dask_worker.name,
                "host": placement.host,
                "local_rank": placement.local_rank,
                "model": plugin.spec.model,
                "kind": plugin.spec.kind,
                "cuda": plugin.spec.cuda,
                "device_id": placement.device_id,
                "threads": plugin.worker_spec.threads,
                "loaded": encoder is not None,
                "providers": ",".join(encoder.providers) if encoder is not None else None,
                "precision": encoder.precision if encoder is not None else None,
                "error": str(error) if error else None,
            }
        )
    return rows
