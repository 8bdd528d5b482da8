"""What a kind of model is: one :class:`Kind` record per kind, kept next to its encoder.

Each encoder module (``text.py``, ``sparse.py``, ``late_interaction.py``, ``image.py``,
``rerank.py``) states its kind once, as ``KIND = register(Kind(...))``: its options, its
encoder class for each pooling it runs, how its inputs are read and its outputs stored,
what a row costs, its smallest ``max_length``, its default model and which graph output it
reads. :mod:`dfembed.encoders.kinds` gathers them; the engine, the accessor, the command
line and the progress bar ask the record instead of naming kinds.

This module imports no encoder (they import it), so any layer above it can read records.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import columns, inputs
from ..models.info import ModelInfo, output_to_read
from .costs import text_costs

if TYPE_CHECKING:
    from .base import EncodeOptions, Encoder

#: Reads a partition's column: ``(values, column label, task, partition)`` -> the valid-row
#: mask and the inputs to encode. ``task`` is the engine's task (``query``, ``on_error``, ...).
Reader = Callable[[pd.Series, object, Any, Any], tuple[np.ndarray, list]]
#: Estimated work per row of a column, given the call's ``max_length`` (see :mod:`.costs`).
Cost = Callable[[pd.Series, "int | None"], np.ndarray]
#: The graph outputs read by default: token vectors, under their usual export names.
TOKEN_OUTPUTS = ("last_hidden_state", "token_embeddings")


@dataclass(frozen=True)
class OutputColumn:
    """How a kind's outputs become a Series: its writer and its (empty result's) dtype.

    ``sized``: the column's dtype needs the vectors' width, so the width must be known
    before any row is embedded, and every process must agree on it.
    """

    name: str
    write: Callable[[Any, np.ndarray, pd.Index, Hashable, int], pd.Series]
    dtype: Callable[[int], Any]
    sized: bool


def _dense(outputs, valid: np.ndarray, index: pd.Index, name: Hashable, dim: int) -> pd.Series:
    return columns.dense(outputs, valid, index, name, dim)


def _sparse(outputs, valid: np.ndarray, index: pd.Index, name: Hashable, dim: int) -> pd.Series:
    return columns.sparse(outputs, valid, index, name)


def _multivector(
    outputs, valid: np.ndarray, index: pd.Index, name: Hashable, dim: int
) -> pd.Series:
    return columns.multivector(outputs, valid, index, name, dim)


def _scores(outputs, valid: np.ndarray, index: pd.Index, name: Hashable, dim: int) -> pd.Series:
    return columns.scores(outputs, valid, index, name)


DENSE = OutputColumn("dense", _dense, columns.dense_type, sized=True)
SPARSE = OutputColumn("sparse", _sparse, lambda dim: columns.sparse_type(), sized=False)
MULTIVECTOR = OutputColumn("multivector", _multivector, columns.multivector_type, sized=True)
SCORES = OutputColumn("scores", _scores, lambda dim: np.dtype("float32"), sized=False)


def read_texts(values: pd.Series, column: object, task: Any, part: Any):
    """A column of texts: missing cells are null rows, other non-strings raise."""
    return inputs.texts(values, column)


@dataclass(frozen=True)
class Kind:
    """One kind of model (``df.embed.<name>``), stated once.

    Parameters
    ----------
    name
        The kind's name: its accessor method, ``ModelSpec.kind`` and registry rows' ``kind``.
    options
        The options class of its calls.
    encoders
        The encoder class for each ``pooling`` the kind runs; the keys are the poolings it
        allows, and the first is its main encoder (used for a pooling it does not list).
    column
        How its outputs are stored (:data:`DENSE`, :data:`SPARSE`, ...).
    default_model
        The model its accessor method runs when none is named.
    read
        How a partition's column becomes inputs (:func:`read_texts` by default).
    cost
        Estimated work per row, which partitions are cut by (tokens by default).
    unit
        What :attr:`cost` counts, for progress bars: ``"tokens"`` or ``"rows"``.
    min_max_length
        The smallest ``max_length=`` (its special tokens and one token of text);
        ``None``: the kind has no ``max_length``.
    outputs
        The graph outputs it reads, in order of preference, when the model names none (see
        :meth:`output_to_read`).
    """

    name: str
    options: type[EncodeOptions]
    encoders: Mapping[str, type[Encoder]]
    column: OutputColumn
    default_model: str
    read: Reader = read_texts
    cost: Cost = text_costs
    unit: str = "tokens"
    min_max_length: int | None = None
    outputs: tuple[str, ...] = TOKEN_OUTPUTS

    @property
    def poolings(self) -> tuple[str, ...]:
        """The ``pooling`` values the kind runs."""
        return tuple(self.encoders)

    @property
    def sized(self) -> bool:
        """Whether results need the vectors' width before any row is embedded."""
        return self.column.sized

    def encoder(self, pooling: str = "") -> type[Encoder]:
        """The encoder class for a model of this kind with ``pooling``."""
        found = self.encoders.get(pooling)
        return found if found is not None else next(iter(self.encoders.values()))

    def output_to_read(self, info: ModelInfo, outputs: Sequence[str]) -> str:
        """The graph output an encoder of this kind reads: the registry's one rule
        (:func:`~dfembed.models.info.output_to_read`), with this kind's preferred names."""
        return output_to_read(info, outputs, preferred=self.outputs)


#: Every registered kind by name, in the order the encoder modules were imported;
#: :mod:`dfembed.encoders.kinds` imports them all.
RECORDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Add ``kind`` to :data:`RECORDS` (a second record of one name is a mistake)."""
    if kind.name in RECORDS:
        raise ValueError(f"Kind {kind.name!r} is registered twice.")
    RECORDS[kind.name] = kind
    return kind


def record_of(name: str) -> Kind:
    """The record of the kind called ``name``; ``ValueError`` naming the kinds for others."""
    found = RECORDS.get(name)
    if found is None:
        raise ValueError(f"Unknown model kind {name!r}: use one of {sorted(RECORDS)}")
    return found
