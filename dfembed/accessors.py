"""The ``.embed`` accessor on pandas and Dask DataFrames and Series.

The accessor is a thin object holding the frame: it validates arguments, turns them into a
:class:`~dfembed.spec.ModelSpec` plus options (an :class:`~dfembed.engine.task.EmbedTask`),
and hands that to an engine. Its constructor never raises ``AttributeError``: dask-expr
falls back to column lookup on ``AttributeError``, which would hide the accessor.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping, Sequence

import pandas as pd

from . import inputs
from .arguments import cache_argument, checked_options, described_folder, model_spec, text_width
from .encoders.kinds import KINDS
from .encoders.text import DenseOptions
from .engine.task import EmbedTask
from .models.info import ModelInfo
from .models.resolve import resolve
from .parameter_docs import shared_parameters
from .runtime.batching import DEFAULT_TOKEN_BUDGET
from .spec import CudaPolicy, ModelSpec

#: The kind each method runs (one method per kind), and its default model.
TEXT, SPARSE, LATE_INTERACTION, IMAGE, RERANK = KINDS.values()
DEFAULT_TEXT_MODEL = TEXT.default_model
DEFAULT_SPARSE_MODEL = SPARSE.default_model
DEFAULT_LATE_MODEL = LATE_INTERACTION.default_model
DEFAULT_IMAGE_MODEL = IMAGE.default_model
DEFAULT_RERANK_MODEL = RERANK.default_model


class _EmbedAccessor:
    """Shared by the pandas and Dask accessors: argument handling, one place."""

    def __init__(self, obj):
        self._obj = obj

    # -- what subclasses provide -------------------------------------------------------
    def _is_series(self) -> bool:
        raise NotImplementedError  # pragma: no cover - abstract

    def _run(self, task: EmbedTask, progress: bool, parallel: int | None):
        raise NotImplementedError  # pragma: no cover - abstract

    def _info(self, spec: ModelSpec) -> ModelInfo:
        """The model, with its output width, known before any row is embedded (a column's
        dtype needs it, and prompt= and dim= are checked against it)."""
        return resolve(spec).info  # in process: this process runs the model anyway

    # -- shared ------------------------------------------------------------------------
    def _column(self, column: Hashable | None) -> Hashable | None:
        if self._is_series():
            if column is not None:
                raise TypeError("On a Series, call .embed methods without a column name.")
            return None
        if column is None:
            raise TypeError("On a DataFrame, name the column to embed: df.embed.text('body').")
        inputs.check_column(self._obj, column)
        return column

    def _task(
        self,
        spec: ModelSpec,
        options,
        column,
        name,
        on_error="raise",
        query=None,
        query_column=None,
        cache=None,
    ) -> EmbedTask:
        options = checked_options(spec.kind, options)
        cache = cache_argument(cache)
        column = self._column(column)
        if query_column is not None:
            if self._is_series():
                raise TypeError("query_column= names a column: call rerank on a DataFrame.")
            self._column(query_column)
        if name is None:
            name = self._obj.name if column is None else column
        info = self._info(spec)
        dim = info.dim
        if isinstance(options, DenseOptions):
            dim = text_width(info, options, described_folder(spec))
        return EmbedTask(
            spec=spec,
            options=options,
            column=column,
            name=name,
            dim=dim,
            on_error=on_error,
            query=query,
            query_column=query_column,
            cache=cache,
        )

    @shared_parameters
    def text(
        self,
        column: Hashable | None = None,
        *,
        model: str = DEFAULT_TEXT_MODEL,
        query: bool = False,
        prompt: str | None = None,
        dim: int | None = None,
        normalize: bool | None = None,
        max_length: int | None = None,
        batch_size: int | None = None,
        token_budget: int = DEFAULT_TOKEN_BUDGET,
        dedup: bool = True,
        cache: str | os.PathLike | bool | None = None,
        progress: bool = False,
        parallel: int | None = None,
        cuda: CudaPolicy = False,
        device_ids: Sequence[int] | None = None,
        device_id: int | None = 0,
        threads: int | None = None,
        session_options: Mapping[str, object] | None = None,
        revision: str | None = None,
        cache_dir: str | None = None,
        local_files_only: bool = False,
        name: Hashable | None = None,
    ):
        """Dense text embeddings of a column, one float32 vector per row.

        Parameters
        ----------
        query
            ``True``: these texts are search queries, so the model's query prompt goes
            before each (``False``: its document prompt, if any). Prompts come from the
            registry, a folder's ``dfembed.json`` or its ``config_sentence_transformers.json``.
            (To score texts against one query text, use :meth:`rerank`'s ``query_text=``.)
        prompt
            Put this before each text instead: the name of one of the model's prompts
            (``"query"``, ``"document"``, ``"clustering"``, ...: ``dfembed.list_models()``
            shows them) or the prompt's text itself (a single word is taken as a name).
        dim
            Keep the first ``dim`` values of each vector, then L2-normalize (if the model
            normalizes): sentence-transformers' ``truncate_dim``, for Matryoshka models
            (others warn). At most the model's width.

        Returns
        -------
        A Series (pandas) or lazy Series (Dask) with exactly the input's index, of dtype
        ``pd.ArrowDtype(pa.list_(pa.float32(), dim))``; missing inputs give null rows.
        """
        spec = model_spec(TEXT.name, model, revision, cuda, device_ids, device_id, threads,
                           cache_dir, local_files_only, session_options)  # fmt: skip
        options = TEXT.options(
            batch_size=batch_size,
            token_budget=token_budget,
            dedup=dedup,
            normalize=normalize,
            max_length=max_length,
            query=query,
            prompt=prompt,
            dim=dim,
        )
        return self._run(self._task(spec, options, column, name, cache=cache), progress, parallel)

    @shared_parameters
    def sparse(
        self,
        column: Hashable | None = None,
        *,
        model: str = DEFAULT_SPARSE_MODEL,
        query: bool = False,
        k1: float = 1.2,
        b: float = 0.75,
        avg_len: float = 256.0,
        max_length: int | None = None,
        batch_size: int | None = None,
        token_budget: int = DEFAULT_TOKEN_BUDGET,
        dedup: bool = True,
        cache: str | os.PathLike | bool | None = None,
        progress: bool = False,
        parallel: int | None = None,
        cuda: CudaPolicy = False,
        device_ids: Sequence[int] | None = None,
        device_id: int | None = 0,
        threads: int | None = None,
        session_options: Mapping[str, object] | None = None,
        revision: str | None = None,
        cache_dir: str | None = None,
        local_files_only: bool = False,
        name: Hashable | None = None,
    ):
        """Sparse text vectors (SPLADE, BM25): a ``struct<indices, values>`` per row.

        A SPLADE run's output is rows x tokens x 30,522 floats: about 125 MB at the default
        ``token_budget`` of 1,024 tokens, so raise it with care. ``dfembed.to_scipy`` gives
        a CSR matrix.

        Parameters
        ----------
        query
            ``True``: these texts are search queries (BM25 weighs each query term 1, with no
            length normalization).
        k1
            BM25's term-frequency saturation.
        b
            BM25's document length normalization (0: none, 1: full).
        avg_len
            BM25's average document length, in words.

        Returns
        -------
        A Series (pandas) or lazy Series (Dask) with exactly the input's index, of dtype
        ``struct<indices: list<int32>, values: list<float32>>``; missing inputs give nulls.
        """
        spec = model_spec(SPARSE.name, model, revision, cuda, device_ids, device_id, threads,
                           cache_dir, local_files_only, session_options)  # fmt: skip
        options = SPARSE.options(
            batch_size=batch_size,
            token_budget=token_budget,
            dedup=dedup,
            max_length=max_length,
            query=query,
            k1=k1,
            b=b,
            avg_len=avg_len,
        )
        return self._run(self._task(spec, options, column, name, cache=cache), progress, parallel)

    @shared_parameters
    def late_interaction(
        self,
        column: Hashable | None = None,
        *,
        model: str = DEFAULT_LATE_MODEL,
        query: bool = False,
        max_length: int | None = None,
        batch_size: int | None = None,
        token_budget: int = DEFAULT_TOKEN_BUDGET,
        dedup: bool = True,
        cache: str | os.PathLike | bool | None = None,
        progress: bool = False,
        parallel: int | None = None,
        cuda: CudaPolicy = False,
        device_ids: Sequence[int] | None = None,
        device_id: int | None = 0,
        threads: int | None = None,
        session_options: Mapping[str, object] | None = None,
        revision: str | None = None,
        cache_dir: str | None = None,
        local_files_only: bool = False,
        name: Hashable | None = None,
    ):
        """ColBERT-style token vectors: a ``[tokens, dim]`` matrix per row.

        Score with :func:`dfembed.maxsim`.

        Parameters
        ----------
        query
            ``True``: these texts are queries (query marker, truncated and padded with
            [MASK] to the query length, as ColBERT's ``query_maxlen``); ``False``: documents
            (document marker, punctuation tokens skipped).
        max_length
            Tokens per query (default 32) or per document (default: the model's limit).

        Returns
        -------
        A Series (pandas) or lazy Series (Dask) with exactly the input's index, one
        ``list<list<float32>>`` matrix per row; missing inputs give null rows.
        """
        spec = model_spec(LATE_INTERACTION.name, model, revision, cuda, device_ids, device_id,
                           threads, cache_dir, local_files_only, session_options)  # fmt: skip
        options = LATE_INTERACTION.options(
            batch_size=batch_size,
            token_budget=token_budget,
            dedup=dedup,
            max_length=max_length,
            query=query,
        )
        return self._run(self._task(spec, options, column, name, cache=cache), progress, parallel)

    @shared_parameters
    def image(
        self,
        column: Hashable | None = None,
        *,
        model: str = DEFAULT_IMAGE_MODEL,
        normalize: bool | None = None,
        on_error: str = "raise",
        batch_size: int | None = None,
        dedup: bool = True,
        cache: str | os.PathLike | bool | None = None,
        progress: bool = False,
        parallel: int | None = None,
        cuda: CudaPolicy = False,
        device_ids: Sequence[int] | None = None,
        device_id: int | None = 0,
        threads: int | None = None,
        session_options: Mapping[str, object] | None = None,
        revision: str | None = None,
        cache_dir: str | None = None,
        local_files_only: bool = False,
        name: Hashable | None = None,
    ):
        """Image embeddings of a column of file paths, bytes or PIL images.

        Images are preprocessed with Pillow as the model's ``preprocessor_config.json`` says.

        Parameters
        ----------
        column
            Column of images, given first (omit it on a Series).
        on_error
            ``"raise"`` (default) raises :class:`~dfembed.InputError` naming the first
            missing or unreadable image's index label; ``"null"`` gives a null row.

        Returns
        -------
        A Series (pandas) or lazy Series (Dask) with exactly the input's index, of dtype
        ``pd.ArrowDtype(pa.list_(pa.float32(), dim))``; missing inputs give null rows.
        """
        if on_error not in ("raise", "null"):
            raise ValueError('on_error must be "raise" or "null"')
        spec = model_spec(IMAGE.name, model, revision, cuda, device_ids, device_id, threads,
                           cache_dir, local_files_only, session_options)  # fmt: skip
        options = IMAGE.options(batch_size=batch_size, dedup=dedup, normalize=normalize)
        task = self._task(spec, options, column, name, on_error=on_error, cache=cache)
        return self._run(task, progress, parallel)

    @shared_parameters
    def rerank(
        self,
        column: Hashable | None = None,
        *args: Hashable,
        query_text: str | None = None,
        query_column: Hashable | None = None,
        model: str = DEFAULT_RERANK_MODEL,
        sigmoid: bool = False,
        max_length: int | None = None,
        batch_size: int | None = None,
        token_budget: int = DEFAULT_TOKEN_BUDGET,
        dedup: bool = True,
        cache: str | os.PathLike | bool | None = None,
        progress: bool = False,
        parallel: int | None = None,
        cuda: CudaPolicy = False,
        device_ids: Sequence[int] | None = None,
        device_id: int | None = 0,
        threads: int | None = None,
        session_options: Mapping[str, object] | None = None,
        revision: str | None = None,
        cache_dir: str | None = None,
        local_files_only: bool = False,
        name: Hashable | None = None,
        query: str | None = None,
    ):
        """Cross-encoder relevance of each row's text to a query: one float32 per row.

        ``df.embed.rerank("passage", query_text="how do cats purr")``. Two names, two
        meanings: ``query_text=`` (or ``query_column=``) gives the query here, while
        ``query=True`` in :meth:`text`, :meth:`sparse` and :meth:`late_interaction` says
        that the column itself holds queries.

        Parameters
        ----------
        column
            Column of texts to score, given first (omit it on a Series).
        *args
            Deprecated: the query first, ``rerank("how do cats purr", "passage")``, still
            works with a ``FutureWarning`` until the next release.
        query_text
            The query text every row is scored against.
        query_column
            Or: the column holding each row's own query (exactly one of the two).
        query
            Deprecated spelling of ``query_text=`` (a ``FutureWarning`` until the next
            release).
        sigmoid
            Return ``sigmoid(logit)`` in (0, 1) instead of the model's raw logit.
        max_length
            Most tokens per (query, text) pair; the longer of the two is cut first.
        name
            Name of the result (default: ``"score"``).

        Returns
        -------
        A float32 Series (pandas) or lazy Series (Dask) with exactly the input's index;
        NaN where the text or its query is missing. Higher is more relevant.
        """
        query_text = _renamed_query(query_text, query)
        column, query_text = self._rerank_inputs(column, args, query_text, query_column)
        spec = model_spec(RERANK.name, model, revision, cuda, device_ids, device_id, threads,
                           cache_dir, local_files_only, session_options)  # fmt: skip
        options = RERANK.options(
            batch_size=batch_size,
            token_budget=token_budget,
            dedup=dedup,
            max_length=max_length,
            sigmoid=sigmoid,
        )
        if name is None:
            name = "score"
        task = self._task(
            spec, options, column, name, query=query_text, query_column=query_column, cache=cache
        )
        return self._run(task, progress, parallel)

    def _rerank_inputs(self, column, args: tuple, query_text, query_column) -> tuple:
        """``(column, query_text)`` of a rerank call, the deprecated query-first order
        accepted.

        The old order is recognised, with a ``FutureWarning``, when the first argument is
        not a column and the second is (``rerank("how do cats purr", "passage")``), or, on
        a Series, when the first is a string and no query is given.
        """
        import warnings

        if len(args) > 1:
            raise TypeError("rerank takes one positional argument, the column: give query_text=.")
        if (
            args
            and query_text is None
            and not self._has_column(column)
            and self._has_column(args[0])
        ):
            query_text, column = column, args[0]
        elif args:
            raise TypeError(
                "rerank takes the column first and the query by keyword: "
                f"df.embed.rerank({args[0]!r}, query_text=...)."
            )
        elif self._is_series() and isinstance(column, str) and query_text is None:
            query_text, column = column, None
        else:
            if (query_text is None) == (query_column is None):
                raise TypeError(
                    "rerank needs exactly one of query_text= (a string) or query_column=."
                )
            if query_text is not None and not isinstance(query_text, str):
                raise TypeError(
                    f"rerank's query_text= is the query's text (a str), not {query_text!r}; "
                    "to score each row against its own query, name that column with "
                    "query_column=."
                )
            return column, query_text
        where = "" if column is None else f"{column!r}, "
        warnings.warn(
            "rerank(query, column) is deprecated: the column comes first, as in the other "
            f"methods, and the query by keyword: .embed.rerank({where}query_text="
            f"{query_text!r}). The old order stops working in the next release.",
            FutureWarning,
            stacklevel=3,
        )
        return self._rerank_inputs(column, (), query_text, query_column)

    def _has_column(self, label) -> bool:
        if self._is_series():
            return False
        try:
            return label in self._obj.columns
        except TypeError:  # an unhashable label is no column
            return False


class PandasEmbedAccessor(_EmbedAccessor):
    """``df.embed`` / ``series.embed`` on pandas objects."""

    def _is_series(self) -> bool:
        return isinstance(self._obj, pd.Series)

    def _run(self, task: EmbedTask, progress: bool, parallel: int | None) -> pd.Series:
        if parallel is None:
            from .engine.local import embed_pandas

            return embed_pandas(self._obj, task, progress)
        from .engine.dask import embed_pandas_on_cluster

        return embed_pandas_on_cluster(self._obj, task, progress, parallel)


class DaskEmbedAccessor(_EmbedAccessor):
    """``ddf.embed`` / ``dseries.embed`` on Dask objects: lazy, one task per partition."""

    def _is_series(self) -> bool:
        import dask.dataframe as dd

        return isinstance(self._obj, dd.Series)

    def _column(self, column):
        if self._is_series() or column is None:
            return super()._column(column)
        inputs.check_column(self._obj._meta, column)
        return column

    def _info(self, spec: ModelSpec) -> ModelInfo:
        from .engine.dask import declared_info  # a client never fetches the model itself

        return declared_info(spec)

    def _run(self, task: EmbedTask, progress: bool, parallel: int | None):
        if parallel is not None:
            raise TypeError("parallel= is for pandas frames; a Dask frame runs on its scheduler.")
        from .engine.dask import embed_dask

        return embed_dask(self._obj, task, progress)


def _renamed_query(query_text: str | None, query: str | None) -> str | None:
    """``query_text`` of a rerank call that may use the deprecated ``query=`` for it.

    ``query=`` is kept for one release with a ``FutureWarning``: in the other methods
    ``query=True`` means "these texts are queries", so rerank's query text has a name of
    its own.
    """
    import warnings

    if query is None:
        return query_text
    if query_text is not None:
        raise TypeError("rerank got both query_text= and query=: give only query_text=.")
    if isinstance(query, bool):
        raise TypeError(
            f'rerank\'s query is a text, not {query!r}: give it as query_text="..." (or a '
            "column of queries as query_column=). query=True belongs to text(), sparse() and "
            "late_interaction()."
        )
    warnings.warn(
        f"rerank(query=...) is renamed query_text=: .embed.rerank(..., query_text={query!r}). "
        "query= stops working in the next release.",
        FutureWarning,
        stacklevel=3,
    )
    return query
