"""From near-duplicate pairs to groups, and the keep-mask: one row per group.

Groups are the connected components of the pairs (``a~b`` and ``b~c`` put ``a``, ``b``,
``c`` in one group even if ``a`` and ``c`` score below the threshold), and the row kept is
each group's first in row order; rows in no pair are kept.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def later_members(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The rows (global positions) of every group of pairs ``(a[i], b[i])`` but its first."""
    nodes, inverse = np.unique(np.r_[a, b].astype(np.int64), return_inverse=True)
    ia, ib = inverse[: len(a)], inverse[len(a) :]
    label = np.arange(len(nodes))
    while True:  # min-label propagation with pointer jumping: each group ends on its first
        lower = np.minimum(label[ia], label[ib])
        new = label.copy()
        np.minimum.at(new, ia, lower)
        np.minimum.at(new, ib, lower)
        new = new[new]
        if np.array_equal(new, label):
            break
        label = new
    return nodes[label != np.arange(len(nodes))]


def split_positions(positions: np.ndarray, offsets: np.ndarray) -> dict[int, np.ndarray]:
    """Global row positions as ``{partition: positions within it}`` (``offsets``: each
    partition's first global position, then the total)."""
    parts = np.searchsorted(offsets, positions, side="right") - 1
    return {int(p): positions[parts == p] - offsets[p] for p in np.unique(parts)}


def keep_part(part: pd.Series, dropped: dict[int, np.ndarray], number: int) -> pd.Series:
    """The keep-mask of one partition: False at its ``dropped[number]`` positions."""
    keep = np.ones(len(part), dtype=bool)
    keep[dropped.get(number, np.zeros(0, dtype=np.int64))] = False
    return pd.Series(keep, index=part.index, name=part.name)
