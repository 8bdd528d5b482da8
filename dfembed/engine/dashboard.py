"""The operator's view on the scheduler: one row per worker session, kept up to date.

:class:`DashboardPlugin` (a scheduler plugin, registered by dfembed next to its local-rank
plugin) receives the workers' reports (:mod:`.reports`) through Dask's event log and keeps
a :class:`SessionBoard`. At start it adds the ``/dfembed`` page to the scheduler's
dashboard (:mod:`.dashboard_page`), which reads the board every second.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field

from distributed.diagnostics.plugin import SchedulerPlugin
from distributed.metrics import time

from .dashboard_page import COLUMNS, PLUGIN, add_page
from .reports import TOPIC

logger = logging.getLogger(__name__)

#: Seconds of history behind the "rows/s" column.
WINDOW = 60.0


@dataclass
class Session:
    """What the scheduler knows of one model session on one worker."""

    worker: str
    details: dict = field(default_factory=dict)
    rows: int = 0
    tokens: int = 0
    #: (time the task ended, its rows) for the tasks of the last :data:`WINDOW` seconds
    recent: deque = field(default_factory=deque)
    #: when the first task with rows started: a younger session's rate is over its age
    first_start: float | None = None
    error: str | None = None
    error_time: float | None = None


class SessionBoard:
    """Worker sessions by ``(worker address, session name)``, fed one report at a time."""

    def __init__(self, window: float = WINDOW) -> None:
        self.window = window
        self.sessions: dict[tuple[str, str], Session] = {}

    def record(self, when: float, msg: dict) -> None:
        """Fold one report in; ``when`` is the scheduler's time of arrival."""
        worker, name = msg.get("worker"), msg.get("session")
        if not isinstance(worker, str) or not isinstance(name, str):
            return  # not one of ours (anyone may log under the topic)
        session = self.sessions.get((worker, name))
        if session is None:
            session = self.sessions[(worker, name)] = Session(worker)
        if msg.get("details"):
            session.details = dict(msg["details"])
        rows = int(msg.get("rows") or 0)
        session.rows += rows
        session.tokens += int(msg.get("tokens") or 0)
        if rows:
            if session.first_start is None:
                session.first_start = when - float(msg.get("seconds") or 0.0)
            session.recent.append((when, rows))
        if msg.get("error"):
            session.error, session.error_time = str(msg["error"]), when
        self._prune(session, when)

    def forget_worker(self, worker: str) -> None:
        """Drop the sessions of a worker that left the cluster."""
        for key in [k for k in self.sessions if k[0] == worker]:
            del self.sessions[key]

    def rows_per_second(self, session: Session, now: float) -> float:
        """Rows finished in the last :attr:`window` seconds, per second.

        Divided by the window, or by the time since the session's first task started when
        that is shorter, so a job's first minute is not under-reported.
        """
        self._prune(session, now)
        if not session.recent or session.first_start is None:
            return 0.0
        span = min(self.window, max(now - session.first_start, 1e-3))
        return sum(rows for _, rows in session.recent) / span

    def table(self, now: float, names: dict[str, object] | None = None) -> dict[str, list]:
        """The page's columns, one entry per session, sorted by host, rank and model.

        ``names`` maps worker addresses to worker names (the scheduler's), when known.
        """
        from distributed.comm import get_address_host

        names = names or {}
        rows = []
        for (worker, _), session in self.sessions.items():
            details = session.details
            try:
                host = get_address_host(worker)
            except Exception:  # an address Dask cannot parse: show it whole
                host = worker
            rank = details.get("local_rank")
            rows.append(
                {
                    "host": host,
                    "worker": str(names.get(worker, worker)),
                    "local_rank": "" if rank is None else str(rank),
                    "device": details.get("device") or "",
                    "provider": _short_provider(details.get("provider")) or "not loaded",
                    "precision": details.get("precision") or "",
                    "model": details.get("model") or "",
                    "rows": session.rows,
                    "tokens": session.tokens,
                    "rows_per_s": round(self.rows_per_second(session, now), 1),
                    "load_seconds": _number(details.get("load_seconds")),
                    "error": _when(session.error_time, now) + session.error
                    if session.error
                    else "",
                }
            )
        rows.sort(key=lambda r: (r["host"], r["local_rank"].zfill(6), r["worker"], r["model"]))
        return {column: [r[column] for r in rows] for column in COLUMNS}

    def _prune(self, session: Session, now: float) -> None:
        while session.recent and session.recent[0][0] < now - self.window:
            session.recent.popleft()


def _number(value) -> float:
    return float("nan") if value is None else float(value)


def _short_provider(provider: str | None) -> str:
    return provider.removesuffix("ExecutionProvider") if provider else ""


def _when(then: float | None, now: float) -> str:
    if then is None:
        return ""
    ago = max(0, int(now - then))
    return f"({ago} s ago) " if ago < 120 else f"({ago // 60} min ago) "


class DashboardPlugin(SchedulerPlugin):
    """Keeps the session board on the scheduler and serves it as the ``/dfembed`` page."""

    name = PLUGIN
    #: a second client registering it keeps the running board (and its history)
    idempotent = True

    def __init__(self) -> None:
        self.board = SessionBoard()
        self.scheduler = None

    async def start(self, scheduler) -> None:
        # No await in here: Dask adds the plugin right after, so no report slips between
        # the replay of the event log and the live feed.
        self.scheduler = scheduler
        for when, msg in scheduler.get_events(TOPIC):
            if isinstance(msg, dict):
                self.board.record(when, msg)
        try:
            add_page(scheduler)
        except Exception:  # no dashboard (or a Dask whose dashboard changed): data still kept
            logger.warning("dfembed could not add its page to the dashboard", exc_info=True)

    def log_event(self, topic: str, msg) -> None:
        if topic == TOPIC and isinstance(msg, dict):
            self.board.record(time(), msg)

    def remove_worker(self, scheduler=None, worker: str | None = None, **kwargs) -> None:
        if worker is not None:
            self.board.forget_worker(worker)

    def table(self) -> dict[str, list]:
        """The board's columns now, with the workers' names."""
        workers = self.scheduler.workers if self.scheduler is not None else {}
        names = {address: ws.name for address, ws in workers.items()}
        return self.board.table(time(), names)
