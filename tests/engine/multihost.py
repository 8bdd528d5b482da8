"""A multi-host Dask cluster simulated on one machine, for tests of what differs per host.

``dask worker --host 127.0.0.N`` binds a worker to its own loopback address, and the
scheduler knows a worker's machine only by the host part of its address: workers bound to
127.0.0.2 and 127.0.0.3 are on two hosts as far as Dask (and dfembed's placement) can tell.
Each simulated host also gets its own HOME (with HF_HOME, the XDG cache and dfembed's
embedding cache inside), so nothing on disk is shared but the folders a test names
explicitly. Workers run without a nanny, one thread each: killing one is a machine's
process dying, and nothing restarts it behind the test's back.

Start-up is what costs (about 2 s per worker process on a busy 2-core machine), so tests
share one small cluster and start workers of different hosts side by side.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]
#: the loopback address of each simulated host
ADDRESSES = {"A": "127.0.0.2", "B": "127.0.0.3", "C": "127.0.0.4"}


@dataclass
class Hosts:
    """A scheduler and ``dask worker`` processes on simulated hosts, under ``root``.

    ``root/<host>/home`` is each host's HOME; ``root/<host>/logs/<worker>.log`` its workers'
    output. ``copy_to_homes`` puts a folder (a model) on every host's own disk.
    """

    root: Path
    workers: dict[str, subprocess.Popen] = field(default_factory=dict)
    hosts: dict[str, str] = field(default_factory=dict)  # worker name -> host letter
    scheduler: subprocess.Popen | None = None
    client: object = None
    address: str = ""
    model: str = ""  # a model path a test put on every host (``~/...``)
    source: str = ""  # where that model came from
    _count: int = 0

    def home(self, host: str) -> Path:
        return self.root / host / "home"

    def env(self, host: str) -> dict[str, str]:
        """A worker's environment on ``host``: its own HOME and caches, this repo importable."""
        home = self.home(host)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DFEMBED_", "HF_"))}
        path = [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]
        env.update(
            HOME=str(home),
            XDG_CACHE_HOME=str(home / ".cache"),
            HF_HOME=str(home / ".cache" / "huggingface"),
            HF_HUB_OFFLINE="1",
            DFEMBED_CACHE=str(home / ".cache" / "dfembed" / "embeddings"),
            PYTHONPATH=os.pathsep.join(path),
            DASK_TEMPORARY_DIRECTORY=str(self.root / host / "scratch"),
            PYTHONUNBUFFERED="1",
        )
        return env

    def start_scheduler(self) -> None:
        file = self.root / "scheduler.json"
        log = open(self.root / "scheduler.log", "wb")  # noqa: SIM115 - closed with the process
        self.scheduler = subprocess.Popen(
            [BIN / "dask", "scheduler", "--host", "127.0.0.1", "--port", "0",
             "--scheduler-file", file, "--no-dashboard"],
            # the scheduler unpickles graphs that name test helpers (``gated``): the repo
            # must be importable there too, as on the workers
            env={**os.environ, "PYTHONPATH": self.env("A")["PYTHONPATH"],
                 "DASK_TEMPORARY_DIRECTORY": str(self.root / "scratch")},
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        _wait(file.is_file, 60, "the scheduler file", self.root / "scheduler.log")
        from distributed import Client

        self.client = Client(scheduler_file=str(file), timeout=30, set_as_default=False)
        self.address = self.client.scheduler.address

    def start(self, *layout: str, timeout: float = 90) -> list[str]:
        """Start one worker per letter of ``layout`` (all at once); wait until they joined.

        Returns their names (``w0-A``, ``w1-B``, ...): numbered in start order, so sorting
        them gives the order they were started in, whatever the host.
        """
        names = []
        for host in layout:
            name = f"w{self._count}-{host}"
            self._count += 1
            home = self.home(host)
            (home / ".cache").mkdir(parents=True, exist_ok=True)
            (self.root / host / "logs").mkdir(exist_ok=True)
            log = open(self.root / host / "logs" / f"{name}.log", "wb")  # noqa: SIM115
            self.workers[name] = subprocess.Popen(
                [BIN / "dask", "worker", self.address, "--host", ADDRESSES[host],
                 "--name", name, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                 "--local-directory", self.root / host / "scratch"],
                env=self.env(host), stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
            log.close()
            self.hosts[name] = host
            names.append(name)
        _wait(lambda: set(names) <= set(self.names()), timeout, f"workers {names}", self.root)
        return names

    def names(self) -> dict[str, str]:
        """Live workers as the scheduler sees them: ``{name: address}``."""
        info = self.client.scheduler_info(n_workers=-1)["workers"]
        return {w["name"]: address for address, w in info.items()}

    def kill(self, name: str) -> None:
        """SIGKILL a worker (a machine's process dying) and wait until the scheduler knows."""
        proc = self.workers.pop(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        _wait(lambda: name not in self.names(), 60, f"{name} to leave", self.root)

    def log(self, name: str) -> str:
        return (self.root / self.hosts[name] / "logs" / f"{name}.log").read_text(errors="replace")

    def copy_to_homes(self, folder: str | Path, relative: str, hosts=("A", "B", "client")) -> str:
        """Copy ``folder`` to ``~/relative`` on each host (and the client's HOME); returns
        the ``~/...`` path."""
        for host in hosts:
            target = self.home(host) / relative
            if not target.exists():
                shutil.copytree(folder, target)
        return f"~/{relative}"

    def close(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.close(timeout=10)
        # workers are killed (nothing of theirs is kept); the scheduler is asked to stop
        for proc in self.workers.values():
            proc.kill()
        for proc in filter(None, [self.scheduler]):
            proc.terminate()
        for proc in [*self.workers.values(), *filter(None, [self.scheduler])]:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        self.workers.clear()


def tiny_model(folder: Path) -> Path:
    """A tiny text model (milliseconds to load, so tests time the cluster, not the model).

    Its config names no model type: a BERT type would have each host build a fused graph
    first, which takes seconds of imports per worker.
    """
    from tests.tiny_models import build_tiny_text_model

    build_tiny_text_model(folder, dim=16)
    config = json.loads((folder / "config.json").read_text())
    config.pop("model_type")
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def _wait(ready, timeout: float, what: str, logs: Path) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            found = sorted(str(p) for p in Path(logs).rglob("*.log"))
            raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f} s; logs: {found}")
        time.sleep(0.2)


@contextlib.contextmanager
def start_hosts(root: Path, *layout: str):
    """A scheduler and workers on simulated hosts, e.g. ``start_hosts(root, "A", "B")``;
    everything is stopped on exit, whatever happened."""
    hosts = Hosts(Path(root))
    try:
        hosts.start_scheduler()
        if layout:
            hosts.start(*layout)
        yield hosts
    finally:
        hosts.close()


# ---------------------------------------------------------------- run on the workers
# (defined here, not in a test module, so that workers can import them by name)


def pretend_gpus(n: int | None) -> None:
    """Run on a worker: its driver reports ``n`` GPUs (``None``: the real count again)."""
    from dfembed.runtime import devices

    real = devices.__dict__.setdefault("_real_gpu_count", devices.gpu_count)
    devices.gpu_count = real if n is None else (lambda: n)


def gated(rows, name: str):
    """A task that waits until the test sets the distributed ``Event`` ``name``."""
    from distributed import Event

    assert Event(name).wait(timeout=120), "the test never opened the gate"
    return rows
