"""One embedding job over one partition: read the column, encode, build the output column.

An :class:`EmbedTask` is small and picklable: it is what every Dask task carries, and the
pandas path runs exactly the same code in process.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass

import pandas as pd

from .. import inputs
from ..encoders.base import EncodeOptions, Encoder, OnBatch
from ..encoders.kind import Kind
from ..encoders.kinds import kind_of
from ..encoders.load import get_encoder
from ..encoders.tokens import panic_message
from ..errors import ModelLoadError, PanicError, TokenizerError, is_panic
from ..io.cache import cache_folder
from ..spec import ModelSpec


@dataclass(frozen=True)
class EmbedTask:
    """Everything a partition needs to be embedded, and nothing heavy.

    Parameters
    ----------
    spec
        The model to run.
    options
        The kind's per-call options.
    column
        Column of the partition to embed; ``None`` when partitions are Series.
    name
        Name of the output Series.
    dim
        Output width, so empty partitions produce the right (empty) column.
    on_error
        ``"raise"`` or ``"null"`` for inputs a kind can fail on per row (images).
    query, query_column
        Reranking only: one query for every row, or the column holding each row's query.
    cache
        Persistent embedding cache: a folder, ``True`` for the default folder of the
        process that runs the task, or ``None`` (off). See :mod:`dfembed.io.cache`.
    """

    spec: ModelSpec
    options: EncodeOptions
    column: Hashable | None
    name: Hashable
    dim: int
    on_error: str = "raise"
    query: str | None = None
    query_column: Hashable | None = None
    cache: str | bool | None = None

    @property
    def kind(self) -> Kind:
        """The record of the spec's kind: how inputs are read and outputs stored."""
        return kind_of(self.spec.kind)

    def meta(self, index: pd.Index) -> pd.Series:
        """An empty output Series with the right dtype, name and index type (Dask's meta)."""
        dtype = self.kind.column.dtype(self.dim)
        return pd.Series([], index=index[:0], name=self.name, dtype=dtype)

    def inputs_of(self, obj: pd.DataFrame | pd.Series) -> pd.DataFrame | pd.Series:
        """The columns of ``obj`` this task reads (a Series is all input)."""
        if isinstance(obj, pd.Series) or self.column is None:
            return obj
        wanted = [self.column] + ([self.query_column] if self.query_column is not None else [])
        return obj[list(dict.fromkeys(wanted))]

    def check_width(self, encoder: Encoder) -> None:
        """Raise :class:`ModelLoadError` unless ``encoder`` gives vectors as wide as the
        result was declared (its dtype was fixed when the result was built, maybe in
        another process that read other copies of the model's files)."""
        width = encoder.width(self.options)
        if self.kind.sized and width != self.dim:
            raise ModelLoadError(
                f"{self.spec.describe()} gives {width}-wide vectors here, but the result was "
                f"built for {self.dim}-wide ones (from the model's files where it was built). "
                "The files differ between that process and this one: give every host the "
                "same folder, or pin revision= to a commit, then build the result again."
            )

    def run(
        self,
        part: pd.DataFrame | pd.Series,
        load: Callable[[], Encoder] | None = None,
        on_batch: OnBatch | None = None,
    ) -> pd.Series:
        """Embed one partition; the result has exactly the partition's index.

        ``load`` returns the encoder (a Dask worker passes its plugin's); by default the
        process-wide cached encoder for the task's spec is used. It is only called when the
        partition has something to embed.

        A ``BaseException`` that is not an ``Exception`` (a Rust panic) leaves as a
        :class:`~dfembed.errors.PanicError`: Dask's ``compute()`` never returns when a task
        raises the other kind, and in process it slips past ``except Exception``.
        """
        try:
            return self._run(part, load, on_batch)
        except BaseException as exc:
            if not is_panic(exc):
                raise
            failure = f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}"
        # raised outside the except block: the panic itself may not pickle back to a client
        raise PanicError(
            f"Embedding with {self.spec.describe()} failed with {failure}, a BaseException "
            "that is not an Exception (a crash in native code such as a Rust panic, or a "
            "library's BaseException subclass). If the model's files come from an untrusted "
            "source, they may be hostile or broken."
        )

    def _run(self, part, load, on_batch) -> pd.Series:
        values = part if self.column is None else part[self.column]
        label = self.column if self.column is not None else values.name
        valid, items = self.kind.read(values, label, self, part)
        outputs = None
        if len(items):
            encoder = load() if load is not None else get_encoder(self.spec)
            self.check_width(encoder)
            try:
                outputs = encoder.encode(items, self.options, on_batch, cache_folder(self.cache))
            except TokenizerError as exc:
                if exc.item is None:
                    raise
                raise self._at_row(exc, items, values.index[valid], label) from None
        return self.kind.column.write(outputs, valid, values.index, self.name, self.dim)

    def _at_row(
        self, exc: TokenizerError, items: list, labels: pd.Index, column: object
    ) -> TokenizerError:
        """``exc`` naming the index label of the first row holding the input it names."""
        row = labels[next(i for i, item in enumerate(items) if item == exc.item)]
        owner = "the Series" if self.column is None else f"column {inputs.show(column)}"
        where = f"the row at index label {inputs.show(row)} of {owner}"
        return TokenizerError(panic_message(exc.reason, where), reason=exc.reason)
