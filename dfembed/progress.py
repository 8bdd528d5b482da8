"""Progress bars that work in a terminal and in Jupyter, off unless asked for."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def row_bar(total: int, kind: str, enabled: bool) -> Iterator:
    """A tqdm bar counting embedded rows (a no-op object when disabled).

    ``tqdm.auto`` picks the notebook widget inside Jupyter and the text bar elsewhere.
    Rows that are null or duplicates are not run through the model, so the bar may end
    before ``total``; it is closed at ``total`` to say the column is done.
    """
    if not enabled:
        yield _NoBar()
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=f"dfembed {kind}", unit="rows")
    try:
        yield bar
        bar.update(max(0, total - bar.n))
    finally:
        bar.close()


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass
