"""What a stored cache entry of each kind must look like before it is served.

A cache entry that unpacks is not yet an output the model could have given: bytes written by
another program, an older bug or a hostile user of the folder can hold a 1-element row
(numpy would broadcast it across every dimension), a float64 row (cast to float32, large
values become ``inf``), a row of another width (the first such row fixed the width of the
whole output and the next good row raised a bare ``ValueError``), or ``NaN``. So every entry
is checked against its encoder's :class:`Layout`:

- ``text``, ``image``: a row of ``dim`` float32 values;
- ``late_interaction``: a ``[tokens, dim]`` float32 matrix with at least one token;
- ``sparse``: int32 indices, non-negative and strictly ascending, and as many float32 values;
- ``rerank``: a row holding one float32 score.

Values must be finite: no encoder stores an ``inf`` or ``NaN`` (:mod:`dfembed.encoders.cached`
runs the same check before storing, so an output that fails it is returned but never cached,
and a failing entry read back is damage, never a model's genuine output). ``dim`` 0 (a width
the model does not state) leaves the width unchecked, not the rest. Sparse indices are not
bounded above: SPLADE logits may be wider than the vocabulary, and BM25 hashes into the whole
int32 range.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import CacheError


def _floats(array: Any, what: str) -> str | None:
    """Why ``array`` is not a finite float32 array (``None``: it is)."""
    if not isinstance(array, np.ndarray):
        return f"{what} is a {type(array).__name__}, not an array"
    if array.dtype != np.float32:
        return f"{what} has dtype {array.dtype}, not float32"
    if not np.isfinite(array).all():
        return f"{what} holds inf or NaN"
    return None


def _dense(value: Any, row: bool, dim: int) -> str | None:
    if not row:
        return "a vector not stored as a row"
    if dim and value.shape != (dim,):
        return f"a vector of shape {value.shape}, not ({dim},)"
    if value.ndim != 1 or not value.size:
        return f"a vector of shape {value.shape}"
    return _floats(value, "a vector")


def _tokens(value: Any, row: bool, dim: int) -> str | None:
    if row or not isinstance(value, np.ndarray):
        return "token vectors not stored as one matrix"
    if value.ndim != 2 or not value.shape[0] or (dim and value.shape[1] != dim):
        return f"token vectors of shape {value.shape}, not (tokens, {dim or 'dim'})"
    return _floats(value, "token vectors")


def _sparse(value: Any, row: bool, dim: int) -> str | None:
    if row or not isinstance(value, tuple) or len(value) != 2:
        return "a sparse vector not stored as (indices, values)"
    indices, values = value
    if not (isinstance(indices, np.ndarray) and isinstance(values, np.ndarray)):
        return "a sparse vector whose parts are not arrays"
    if indices.dtype != np.int32 or indices.ndim != 1:
        return f"sparse indices of dtype {indices.dtype} and shape {indices.shape}"
    if values.shape != indices.shape:
        return f"{indices.size} sparse indices with values of shape {values.shape}"
    if indices.size and (indices[0] < 0 or (np.diff(indices) <= 0).any()):
        return "sparse indices that are negative or not strictly ascending"
    return _floats(values, "sparse values")


def _score(value: Any, row: bool, dim: int) -> str | None:
    if not row or value.shape != ():
        return f"a score of shape {getattr(value, 'shape', None)}, not one number"
    return _floats(value, "a score")


_CHECKS: dict[str, Callable[[Any, bool, int], str | None]] = {
    "text": _dense,
    "image": _dense,
    "late_interaction": _tokens,
    "sparse": _sparse,
    "rerank": _score,
}


@dataclass(frozen=True)
class Layout:
    """The outputs one encoder gives: its ``kind`` and, for fixed-width kinds, ``dim``."""

    kind: str
    dim: int = 0

    def __post_init__(self) -> None:
        if self.kind not in _CHECKS:  # a new kind must say what its entries look like
            raise ValueError(f"No cache layout for outputs of kind {self.kind!r}.")

    def problem(self, value: Any, row: bool) -> str | None:
        """Why ``value`` (``row``: a row of a numeric output) is not an output of this
        layout; ``None`` when it is."""
        return _CHECKS[self.kind](value, row, self.dim)

    def check(self, value: Any, row: bool) -> None:
        """Raise :class:`CacheError` (a damaged entry) unless :meth:`problem` finds none."""
        problem = self.problem(value, row)
        if problem is not None:
            raise CacheError(f"A damaged cache entry: {problem}.")
