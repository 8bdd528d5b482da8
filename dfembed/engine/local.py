"""The in-process engine: embed a pandas column in this process, with an optional progress bar."""

from __future__ import annotations

import pandas as pd

from ..progress import row_bar
from .task import EmbedTask


def embed_pandas(obj: pd.DataFrame | pd.Series, task: EmbedTask, progress: bool) -> pd.Series:
    """Run ``task`` over the whole frame in this process; the result has ``obj``'s index."""
    with row_bar(len(obj), task.spec.kind, enabled=progress) as bar:
        return task.run(obj, on_batch=lambda rows, tokens, seconds: bar.update(rows))
