"""Analytics on vector columns, in process or across a Dask cluster: exact nearest
neighbours, similarity joins, near-duplicates and rank fusion."""

from __future__ import annotations

from .duplicates import NearDuplicates, near_duplicates
from .fusion import fuse
from .join import similarity_join
from .nearest import nearest
from .report import SkippedRowsWarning

__all__ = [
    "NearDuplicates",
    "SkippedRowsWarning",
    "fuse",
    "near_duplicates",
    "nearest",
    "similarity_join",
]
