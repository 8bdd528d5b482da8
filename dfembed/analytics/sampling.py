"""A uniform random sample of a column's non-null rows, in one pass over its partitions.

Each row gets a random key (seeded by the partition's number); each partition keeps its
``size`` smallest keys and a tree of merges keeps the overall ``size`` smallest: a uniform
sample without knowing the row count first. The same pass counts each partition's rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .kinds import dense_rows


@dataclass
class Sample:
    """Sampled rows (vectors, partition, position) by key; row counts of every partition."""

    keys: np.ndarray
    vectors: np.ndarray
    part: np.ndarray
    pos: np.ndarray
    lengths: dict[int, int] = field(default_factory=dict)
    valid: int = 0

    def offsets(self) -> np.ndarray:
        """Each partition's first global row position, then the row count."""
        counts = [self.lengths[p] for p in sorted(self.lengths)]
        return np.r_[0, np.cumsum(counts)].astype(np.int64)


def partition_sample(part: pd.Series, number: int, size: int, seed: int) -> Sample:
    """The ``size`` non-null rows of one partition with the smallest random keys."""
    rows, positions, _ = dense_rows(part, "cosine")
    keys = np.random.default_rng([seed, number]).random(len(positions))
    chosen = np.argsort(keys, kind="stable")[:size]
    return Sample(
        keys=keys[chosen],
        vectors=rows.matrix[chosen],
        part=np.full(len(chosen), number, dtype=np.int64),
        pos=positions[chosen].astype(np.int64),
        lengths={number: len(part)},
        valid=len(positions),
    )


def merge_samples(samples: list[Sample], size: int) -> Sample:
    """The ``size`` smallest keys of several samples; their row counts together."""
    keys = np.concatenate([s.keys for s in samples])
    chosen = np.argsort(keys, kind="stable")[:size]
    lengths: dict[int, int] = {}
    for s in samples:
        lengths.update(s.lengths)
    dim = max((s.vectors.shape[1] for s in samples if s.vectors.ndim == 2), default=0)
    vectors = [
        s.vectors.reshape(-1, dim) if len(s.vectors) else np.zeros((0, dim), np.float32)
        for s in samples
    ]
    return Sample(
        keys=keys[chosen],
        vectors=np.concatenate(vectors)[chosen],
        part=np.concatenate([s.part for s in samples])[chosen],
        pos=np.concatenate([s.pos for s in samples])[chosen],
        lengths=lengths,
        valid=sum(s.valid for s in samples),
    )
