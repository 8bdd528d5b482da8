"""Progress bars that work in a terminal and in Jupyter, off unless asked for."""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections.abc import Iterator

import numpy as np

from .encoders.base import OnBatch
from .encoders.costs import ROW_COST_TOKENS
from .encoders.kinds import kind_of


@contextlib.contextmanager
def work_bar(costs: np.ndarray, kind: str, enabled: bool) -> Iterator[OnBatch]:
    """A tqdm bar counting estimated work; yields the ``on_batch`` callback that moves it.

    Text kinds count tokens (their record's ``unit``): ``costs`` is each row's estimate (see
    :func:`~dfembed.engine.partitions.row_costs`) and each batch moves the bar by its real
    tokens plus the rows' fixed overhead, so the first ETA is about right even though the
    longest texts run first (counting rows, the demo's bar began at "51:31 left" for a 62 s
    job). Images count rows. Rows served by the cache move it by the rows' average estimate.
    Null and duplicate rows never run, so the bar is closed at its total when the column is
    done. ``tqdm.auto`` picks the notebook widget inside Jupyter (when ipywidgets is
    installed) and the text bar elsewhere.
    """
    if not enabled:
        yield _ignore
        return
    if widgets_available():
        from tqdm.auto import tqdm
    else:  # tqdm.auto would warn in Jupyter and fall back to this text bar anyway
        from tqdm.std import tqdm

    by_rows = kind_of(kind).unit == "rows"
    total = len(costs) if by_rows else round(float(np.sum(costs)))
    per_row = total / len(costs) if len(costs) else 0.0

    def advance(rows: int, tokens: int, seconds: float) -> None:
        if by_rows:
            work = rows
        elif tokens:
            work = tokens + rows * ROW_COST_TOKENS
        else:  # cache hits: no tokens were counted
            work = round(rows * per_row)
        bar.update(max(0, min(work, total - bar.n)))  # an estimate can fall short

    unit = "rows" if by_rows else "tokens"
    scale = total >= 10_000  # 12.3k tokens, but 62 tokens as such
    bar = tqdm(total=total, desc=f"dfembed {kind}", unit=unit, unit_scale=scale)
    try:
        yield advance
        bar.update(max(0, total - bar.n))
    finally:
        bar.close()


def _ignore(rows: int, tokens: int, seconds: float) -> None:
    pass


def in_notebook() -> bool:
    """True inside a Jupyter kernel (an IPython shell with a kernel), not in a terminal."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


def widgets_available() -> bool:
    """True when ipywidgets is installed, which widget progress bars need."""
    return importlib.util.find_spec("ipywidgets") is not None


def dask_bar(futures, client) -> None:
    """Show Dask's progress bar for a persisted collection, a future, or futures.

    ``client`` is the client that computes them: the bar connects to its scheduler, since
    the client dfembed starts for ``parallel=`` is not the process's default client.

    In Jupyter with ipywidgets it is Dask's widget, displayed at once and updating while the
    work runs (the call does not wait). Elsewhere it is Dask's text bar, which waits for the
    work and stays on screen when done. ``distributed.progress`` alone would leave its widget
    undisplayed, fail in Jupyter without ipywidgets, and erase its text bar when finished,
    leaving a notebook or a log without a trace.
    """
    from distributed import futures_of, progress
    from distributed.diagnostics.progressbar import TextProgressBar

    if in_notebook() and widgets_available():
        from IPython.display import display

        display(progress(futures, notebook=True, scheduler=client.scheduler.address))
        return

    class KeptTextBar(TextProgressBar):
        def _draw_stop(self, **kwargs) -> None:
            sys.stdout.write("\n")  # end the line instead of erasing the finished bar
            sys.stdout.flush()

    KeptTextBar(futures_of(futures), scheduler=client.scheduler.address, complete=True)
