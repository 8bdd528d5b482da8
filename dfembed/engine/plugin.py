"""Dask plugins: one ONNX session per worker per model, on the worker's assigned device.

* :class:`LocalRankPlugin` (scheduler) gives each worker a *local rank* as it joins: the
  smallest number no live worker of its host holds (host: the host part of its address),
  kept while it lives and freed when it leaves, for the next worker of that host. GPU
  numbers are per machine, so a cluster-wide number would put two workers of one host on
  one GPU when hosts join interleaved. Worker names cannot serve either: under
  ``dask worker`` they are addresses or free strings, and under a LocalCluster they are not
  device indexes.
* :class:`ModelPlugin` (worker, one per model spec) learns its worker's host and local
  rank, places it (:func:`dfembed.runtime.devices.place`), then loads the model in a
  thread (``asyncio.to_thread``) so the worker's event loop keeps answering heartbeats
  while a large model loads. Workers that join later load it lazily, on their first task.
  A failed load or placement is kept and reported by the tasks, naming the worker and the
  model, instead of poisoning the worker. Its teardown (on
  ``client.unregister_worker_plugin(name)`` or when the worker closes) drops the model's
  session from the worker's cache, which also keeps only the most recently used few
  (:data:`dfembed.encoders.load.MAX_LOADED`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging

from distributed.diagnostics.plugin import SchedulerPlugin, WorkerPlugin

from ..encoders.load import forget, get_encoder, loaded_count
from ..errors import DfembedError, WorkerError
from ..runtime.devices import Placement, place
from ..spec import ModelSpec
from . import metrics, reports

logger = logging.getLogger(__name__)
RANK_HANDLER = "dfembed_local_rank"


def address_host(address: str) -> str:
    """The machine part of a worker address (``tcp://10.0.0.5:4321`` -> ``10.0.0.5``)."""
    from distributed.comm import get_address_host

    try:
        return get_address_host(address)
    except (ValueError, TypeError):  # an address form Dask cannot split here
        return address


class LocalRankPlugin(SchedulerPlugin):
    """Per host, gives each worker the smallest local rank no live worker there holds."""

    name = "dfembed-local-ranks"
    #: a second client registering it leaves the running one (and its ranks) in place
    idempotent = True

    def __init__(self) -> None:
        self.ranks: dict[str, dict[str, int]] = {}  # host -> {worker address: local rank}

    async def start(self, scheduler) -> None:
        scheduler.handlers[RANK_HANDLER] = self.local_rank
        # workers already there are ranked as if the plugin had seen them join
        for address in sorted(scheduler.workers, key=lambda a: _joined(scheduler, a)):
            self.local_rank(address)

    def add_worker(self, scheduler=None, worker: str | None = None) -> None:
        if worker is not None:
            self.local_rank(worker)

    def remove_worker(self, scheduler=None, worker: str | None = None, **kwargs) -> None:
        host = address_host(worker) if worker is not None else None
        held = self.ranks.get(host, {})
        held.pop(worker, None)
        if not held:
            self.ranks.pop(host, None)

    def local_rank(self, address: str | None = None) -> dict:
        """``{"host": ..., "local_rank": ...}`` of the worker at ``address`` (assigned once)."""
        host = address_host(address)
        held = self.ranks.setdefault(host, {})
        if address not in held:
            taken = set(held.values())
            held[address] = next(i for i in range(len(taken) + 1) if i not in taken)
        return {"host": host, "local_rank": held[address]}


def _joined(scheduler, address: str) -> tuple[float, str]:
    """When a worker joined (the scheduler's ``add-worker`` event), then its name."""
    name = str(getattr(scheduler.workers.get(address), "name", address))
    try:
        events = scheduler.events.get(address, ())
        when = min(
            t for t, msg in events if isinstance(msg, dict) and msg.get("action") == "add-worker"
        )
    except (AttributeError, TypeError, ValueError):  # no such event kept: by name
        when = float("inf")
    return when, name


def plugin_name(spec: ModelSpec) -> str:
    return f"dfembed-{spec.key()}"


class ModelPlugin(WorkerPlugin):
    """Serves one model spec on one worker: device choice, threads, load, errors.

    Idempotent: a later client asking for the same spec keeps the plugin the workers
    already run (and its loaded session) instead of setting it up again.
    """

    idempotent = True

    def __init__(self, spec: ModelSpec, preload_on: frozenset[str] = frozenset()):
        self.spec = spec
        self.name = plugin_name(spec)
        self.preload_on = preload_on
        self.worker_spec: ModelSpec | None = None
        self.worker_name = "?"
        self.error: BaseException | None = None
        self.placement: Placement | None = None
        #: a device_ids entry this worker's host lacks: every task raises it
        self.placement_error: DfembedError | None = None
        self._reported = False
        self._loading: asyncio.Future | None = None

    async def setup(self, worker) -> None:
        try:
            rank = await worker.scheduler.dfembed_local_rank(address=worker.address)
        except Exception:  # the scheduler plugin is missing: fall back on an int name
            rank = fallback_rank(worker)
        self.assign(worker, rank["host"], int(rank["local_rank"]))
        reports.report(worker, self)  # the dashboard lists the session before its first task
        if worker.address in self.preload_on and self.placement_error is None:
            # Loading goes on in a thread while setup returns at once: registration stays
            # quick, heartbeats keep flowing, and the first task waits on the cache's lock.
            self._loading = asyncio.ensure_future(asyncio.to_thread(self._load))
            self._loading.add_done_callback(lambda _: reports.report(worker, self))

    def assign(self, worker, host: str, local_rank: int) -> None:
        """Place this worker (host, local rank) and fix the spec it loads: device, threads."""
        self.worker_name = f"{worker.name} ({worker.address})"
        try:
            self.placement = place(
                self.spec.cuda, self.spec.device_ids, host, local_rank, self.worker_name
            )
        except DfembedError as exc:
            self.placement_error = exc
            self.placement = Placement(host, local_rank, None)
            logger.error("dfembed: %s", exc)
        device = self.placement.device_id
        threads = self.spec.threads or worker.state.nthreads
        self.worker_spec = dataclasses.replace(
            self.spec, device_id=0 if device is None else device, threads=threads
        )

    def _load(self) -> None:
        try:
            self.encoder()
        except Exception as exc:  # kept: tasks raise it with the worker's name
            self.error = exc
            if isinstance(exc, WorkerError):  # its message names the worker and the model
                logger.error("dfembed: %s", exc)
            else:
                logger.error(
                    "dfembed could not load %s on %s: %s",
                    self.spec.describe(),
                    self.worker_name,
                    exc,
                )

    async def teardown(self, worker) -> None:
        """Free this spec's session on the worker: the plugin is being removed.

        A plugin whose spec ends up the same on this worker (``threads=None`` with one
        thread, and ``threads=1``) shares the session: it loads it again on its next task.
        """
        if self._loading is not None:  # a preload still running would cache it again
            await asyncio.wait([self._loading])
        if self.worker_spec is not None and forget(self.worker_spec):
            metrics.prometheus().sessions.set(loaded_count())
        self._reported = False

    def loaded(self):
        """The encoder if it is already loaded on this worker, else ``None`` (never loads)."""
        from ..encoders.load import cached_encoder

        return cached_encoder(self.worker_spec) if self.worker_spec is not None else None

    def encoder(self):
        """This worker's encoder for the spec, loaded on first use (then cached)."""
        assert self.worker_spec is not None, "setup() has not run"
        if self.placement_error is not None:
            raise WorkerError(
                f"{self.spec.describe()} cannot run: {self.placement_error}"
            ) from self.placement_error
        try:
            encoder = get_encoder(self.worker_spec, self.worker_spec.device_id)
        except DfembedError as exc:
            raise WorkerError(
                f"Worker {self.worker_name} could not load {self.spec.describe()}: {exc}"
            ) from exc
        self.error = None  # a load that failed earlier (since fixed) is no longer news
        if not self._reported:
            self._reported = True
            metrics.report_load(self.worker_spec, encoder, self.placement)
        return encoder


def fallback_rank(worker) -> dict:
    """Host and local rank without the scheduler plugin: an int worker name, else 0."""
    rank = worker.name if isinstance(worker.name, int) else 0
    return {"host": address_host(worker.address), "local_rank": rank}
