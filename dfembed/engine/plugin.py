"""Dask plugins: one ONNX session per worker per model, on the worker's assigned device.

* :class:`OrdinalPlugin` (scheduler) hands each worker a small, stable integer as it joins,
  reusing the numbers of workers that left. Worker names cannot serve: under ``dask worker``
  they are addresses or free strings, and under a LocalCluster they are not device indexes.
* :class:`ModelPlugin` (worker, one per model spec) learns its worker's ordinal and thread
  count, then loads the model in a thread (``asyncio.to_thread``) so the worker's event loop
  keeps answering heartbeats while a large model loads. Workers that join later load it
  lazily, on their first task. A failed load is kept and reported by the tasks, naming the
  worker and the model, instead of poisoning the worker.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging

from distributed.diagnostics.plugin import SchedulerPlugin, WorkerPlugin

from ..encoders.load import get_encoder
from ..errors import DfembedError, WorkerError
from ..runtime.devices import worker_device
from ..spec import ModelSpec
from . import metrics, reports

logger = logging.getLogger(__name__)
ORDINAL_HANDLER = "dfembed_worker_ordinal"


class OrdinalPlugin(SchedulerPlugin):
    """Gives each worker the smallest ordinal no live worker holds (0, 1, 2, ...)."""

    name = "dfembed-ordinals"
    #: a second client registering it leaves the running one (and its ordinals) in place
    idempotent = True

    def __init__(self) -> None:
        self.ordinals: dict[str, int] = {}

    async def start(self, scheduler) -> None:
        scheduler.handlers[ORDINAL_HANDLER] = self.ordinal
        for address in sorted(scheduler.workers, key=lambda a: str(scheduler.workers[a].name)):
            self.ordinal(address)

    def add_worker(self, scheduler=None, worker: str | None = None) -> None:
        if worker is not None:
            self.ordinal(worker)

    def remove_worker(self, scheduler=None, worker: str | None = None, **kwargs) -> None:
        self.ordinals.pop(worker, None)

    def ordinal(self, address: str | None = None) -> int:
        if address not in self.ordinals:
            taken = set(self.ordinals.values())
            self.ordinals[address] = next(i for i in range(len(taken) + 1) if i not in taken)
        return self.ordinals[address]


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
        self.ordinal = 0
        self._reported = False
        self._loading: asyncio.Future | None = None

    async def setup(self, worker) -> None:
        self.worker_name = f"{worker.name} ({worker.address})"
        try:
            ordinal = await worker.scheduler.dfembed_worker_ordinal(address=worker.address)
        except Exception:  # the scheduler plugin is missing: fall back on an int name
            ordinal = worker.name if isinstance(worker.name, int) else 0
        device = worker_device(self.spec.device_ids, int(ordinal), self.spec.device_id)
        threads = self.spec.threads or worker.state.nthreads
        self.ordinal = int(ordinal)
        self.worker_spec = dataclasses.replace(self.spec, device_id=device, threads=threads)
        reports.report(worker, self)  # the dashboard lists the session before its first task
        if worker.address in self.preload_on:
            # Loading goes on in a thread while setup returns at once: registration stays
            # quick, heartbeats keep flowing, and the first task waits on the cache's lock.
            self._loading = asyncio.ensure_future(asyncio.to_thread(self._load))
            self._loading.add_done_callback(lambda _: reports.report(worker, self))

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

    def loaded(self):
        """The encoder if it is already loaded on this worker, else ``None`` (never loads)."""
        from ..encoders.load import cached_encoder

        return cached_encoder(self.worker_spec) if self.worker_spec is not None else None

    def encoder(self):
        """This worker's encoder for the spec, loaded on first use (then cached)."""
        assert self.worker_spec is not None, "setup() has not run"
        try:
            encoder = get_encoder(self.worker_spec, self.worker_spec.device_id)
        except DfembedError as exc:
            raise WorkerError(
                f"Worker {self.worker_name} could not load {self.spec.describe()}: {exc}"
            ) from exc
        self.error = None  # a load that failed earlier (since fixed) is no longer news
        if not self._reported:
            self._reported = True
            metrics.report_load(self.worker_spec, encoder, self.ordinal)
        return encoder
