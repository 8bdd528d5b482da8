"""Estimated work per input row, before anything is tokenized: what partitions are cut by
and progress bars count.

Equal row counts are not equal work: text rows are weighed by their length, capped where
truncation cuts them; an image costs one row whatever its size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..inputs import without_string_view

#: Characters per token, roughly, for English subword vocabularies (cost estimate only).
CHARS_PER_TOKEN = 4
#: Cost of a row besides its text (special tokens, padding, per-row work), in tokens.
ROW_COST_TOKENS = 8
#: Truncation assumed when a call leaves ``max_length`` to the model.
DEFAULT_TOKEN_CAP = 512


def text_costs(values: pd.Series, max_length: int | None) -> np.ndarray:
    """Estimated tokens per row: its characters over :data:`CHARS_PER_TOKEN`, capped.

    Missing and non-text cells cost one row's overhead (they are nulls or errors later).
    """
    values = without_string_view(values)  # pandas' .str has no string_view kernels
    if not _stringish(values):
        return np.full(len(values), float(ROW_COST_TOKENS))
    chars = pd.to_numeric(values.str.len(), errors="coerce").to_numpy(np.float64, na_value=0.0)
    cap = (max_length or DEFAULT_TOKEN_CAP) * CHARS_PER_TOKEN
    return ROW_COST_TOKENS + np.minimum(chars, cap) / CHARS_PER_TOKEN


def one_per_row(values: pd.Series, max_length: int | None) -> np.ndarray:
    """Cost 1 per row (images: the model's input size does not depend on the file's)."""
    return np.ones(len(values))


def _stringish(values: pd.Series) -> bool:
    try:
        values.str  # noqa: B018 - raises AttributeError for columns that hold no strings
    except AttributeError:
        return False
    return True
