"""The in-process engine: embed a pandas column in this process, with an optional progress bar."""

from __future__ import annotations

import pandas as pd

from ..progress import work_bar
from .partitions import row_costs
from .task import EmbedTask


def embed_pandas(obj: pd.DataFrame | pd.Series, task: EmbedTask, progress: bool) -> pd.Series:
    """Run ``task`` over the whole frame in this process; the result has ``obj``'s index."""
    costs = row_costs(obj, task) if progress else []
    with work_bar(costs, task.spec.kind, enabled=progress) as on_batch:
        return task.run(obj, on_batch=on_batch)
