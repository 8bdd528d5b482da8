"""Progress bars that work in a terminal and in Jupyter, off unless asked for."""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def row_bar(total: int, kind: str, enabled: bool) -> Iterator:
    """A tqdm bar counting embedded rows (a no-op object when disabled).

    ``tqdm.auto`` picks the notebook widget inside Jupyter (when ipywidgets is installed)
    and the text bar elsewhere.
    Rows that are null or duplicates are not run through the model, so the bar may end
    before ``total``; it is closed at ``total`` to say the column is done.
    """
    if not enabled:
        yield _NoBar()
        return
    if widgets_available():
        from tqdm.auto import tqdm
    else:  # tqdm.auto would warn in Jupyter and fall back to this text bar anyway
        from tqdm.std import tqdm

    bar = tqdm(total=total, desc=f"dfembed {kind}", unit="rows")
    try:
        yield bar
        bar.update(max(0, total - bar.n))
    finally:
        bar.close()


class _NoBar:
    def update(self, n: int = 1) -> None:
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
