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
from .arguments import cache_argument, checked_options, model_spec
from .encoders.text import TextOptions
from .engine.task import EmbedTask
from .models.hub import resolve
from .runtime.batching import DEFAULT_TOKEN_BUDGET
from .spec import CudaPolicy, ModelSpec

DEFAULT_TEXT_MODEL = "all-MiniLM-L6-v2"
DEFAULT_SPARSE_MODEL = "prithivida/Splade_PP_en_v1"
DEFAULT_LATE_MODEL = "colbert-ir/colbertv2.0"
DEFAULT_IMAGE_MODEL = "Qdrant/clip-ViT-B-32-vision"
DEFAULT_RERANK_MODEL = "Xenova/ms-marco-MiniLM-L-6-v2"


class _EmbedAccessor:
    """Shared by the pandas and Dask accessors: argument handling, one place."""

    def __init__(self, obj):
        self._obj = obj

    # -- what subclasses provide -------------------------------------------------------
    def _is_series(self) -> bool:
        raise NotImplementedError  # pragma: no cover - abstract

    def _run(self, task: EmbedTask, progress: bool, parallel: int | None):
        raise NotImplementedError  # pragma: no cover - abstract

    def _width(self, spec: ModelSpec) -> int:
        """The output width, known before any row is embedded (a column's dtype needs it)."""
        return resolve(spec).info.dim  # in process: this process runs the model anyway

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
        dim = self._width(spec)
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

    def text(
        self,
        column: Hashable | None = None,
        model: str = DEFAULT_TEXT_MODEL,
        *,
        revision: str | None = None,
        batch_size: int | None = None,
        token_budget: int = DEFAULT_TOKEN_BUDGET,
        normalize: bool | None = None,
        max_length: int | None = None,
        query: bool = False,
        dedup: bool = True,
        cache: str | os.PathLike | bool | None = None,
        progress: bool = False,
        parallel: int | None = None,
        cuda: CudaPolicy = False,
        device_ids: Sequence[int] | None = None,
        device_id: int | None = 0,
        threads: int | None = None,
        session_options: Mapping[str, object] | None = None,
        cache_dir: str | None = None,
        local_files_only: bool = False,
        name: Hashable | None = None,
    ):
        """Dense text embeddings of a column, one float32 vector per row.

        Parameters
        ----------
        column
            Column to embed (omit on a Series).
        model
            Registry name (``dfembed.list_models()``), hub repository id, or local folder.
        revision, cache_dir, local_files_only
            Hub download settings (``HF_HUB_OFFLINE=1`` is honoured too).
        batch_size
            Most rows per model run; by default the token budget alone decides.
        token_budget
            Most padded tokens per model run: bounds memory whatever the text lengths.
        normalize
            L2-normalize vectors; ``None`` (default): as the model does (all-MiniLM-L6-v2,
            bge, e5: yes; the paraphrase models: no, as in sentence-transformers).
        max_length
            Truncate texts to this many tokens (at most the model's own limit).
        query
            Embed as search queries (the model's query prefix, e.g. for bge/e5).
        dedup
            Embed identical texts once.
        cache
            A folder for the persistent embedding cache (``True``: ``$DFEMBED_CACHE`` or
            ``~/.cache/dfembed/embeddings`` of the process that runs): outputs are stored
            there keyed by the model's exact files, the options and each input's hash, so a
            rerun, or a run over a grown table, only embeds inputs it has not seen. On a
            multi-node cluster give each node a folder on local disk (SQLite files).
        progress
            Show a progress bar (tqdm in process, Dask's progress bar on a cluster).
        parallel
            pandas only: ``None`` runs in process; ``0`` one Dask worker process per core;
            ``n`` n worker processes (an existing ``distributed.Client`` is used if active).
        cuda, device_ids, device_id, threads
            Device policy: ``cuda=False|True|"auto"``; GPUs assigned round-robin to Dask
            workers; the GPU used in process; ONNX Runtime threads.
        session_options
            ONNX Runtime settings: ``cpu_mem_arena`` (default True: faster repeated
            runs, but the arena keeps its peak), ``gpu_mem_limit`` (bytes),
            ``arena_extend_strategy`` (CUDA, default ``"kSameAsRequested"``),
            ``precision`` (``"fp32"``; ``"int8"`` for CPUs or ``"fp16"`` for GPUs: the
            fp32 graph converted when loaded) and ``graph_fusion`` (``True``/``False``:
            BERT-family graphs with or without ONNX Runtime's transformer fusions; default
            ``None``: whichever a short measurement on the machine found faster).
        name
            Name of the result (default: the column's name).

        Returns
        -------
        A Series (pandas) or lazy Series (Dask) with exactly the input's index, of dtype
        ``pd.ArrowDtype(pa.list_(pa.float32(), dim))``; missing inputs give null rows.
        """
        spec = model_spec(
            "text",
            model,
            revision,
            cuda,
            device_ids,
            device_id,
            threads,
            cache_dir,
            local_files_only,
            session_options,
        )
        options = TextOptions(
            batch_size=batch_size,
            token_budget=token_budget,
            dedup=dedup,
            normalize=normalize,
            max_length=max_length,
            query=query,
        )
        return self._run(self._task(spec, options, column, name, cache=cache), progress, parallel)

    def sparse(
        self,
        column: Hashable | None = None,
        model: str = DEFAULT_SPARSE_MODEL,
        *,
        revision: str | None = None,
        batch_size: int | None = None,
        token_budget: int = DEFAULT_TOKEN_BUDGET,
        max_length: int | None = None,
        query: bool = False,
        k1: float = 1.2,
        b: float = 0.75,
        avg_len: float = 256.0,
        dedup: bool = True,
        cache: str | os.PathLike | bool | None = None,
        progress: bool = False,
        parallel: int | None = None,
        cuda: CudaPolicy = False,
        device_ids: Sequence[int] | None = None,
        device_id: int | None = 0,
        threads: int | None = None,
        session_options: Mapping[str, object] | None = None,
        cache_dir: str | None = None,
        local_files_only: bool = False,
        name: Hashable | None = None,
    ):
        """Sparse text vectors (SPLADE, BM25): a ``struct<indices, values>`` per row.

        ``k1``, ``b`` and ``avg_len`` (average document length in words) are BM25's term
        weighting; queries (``query=True``) are weighted without length normalization.
        A SPLADE run's output is rows x tokens x 30,522 floats: about 125 MB at the default
        ``token_budget`` of 1,024 tokens, so raise it with care.
        Other parameters as for :meth:`text`. ``dfembed.to_scipy`` gives a CSR matrix.
        """
        from .encoders.sparse import SparseOptions

        spec = model_spec(
            "sparse",
            model,
            revision,
            cuda,
            device_ids,
            device_id,
            threads,
            cache_dir,
            local_files_only,
            session_options,
        )
        options = SparseOptions(
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

    def late_interaction(
        self,
        column: Hashable | None = None,
        model: str = DEFAULT_LATE_MODEL,
        *,
        revision: str | None = None,
        batch_size: int | None = None,
        token_budget: int = DEFAULT_TOKEN_BUDGET,
        max_length: int | None = None,
        query: bool = False,
        dedup: bool = True,
        cache: str | os.PathLike | bool | None = None,
        progress: bool = False,
        parallel: int | None = None,
        cuda: CudaPolicy = False,
        device_ids: Sequence[int] | None = None,
        device_id: int | None = 0,
        threads: int | None = None,
        session_options: Mapping[str, object] | None = None,
        cache_dir: str | None = None,
        local_files_only: bool = False,
        name: Hashable | None = None,
    ):
        """ColBERT-style token vectors: a ``[tokens, dim]`` matrix per row.

        ``query=True`` embeds queries (query marker, truncated and padded with [MASK] to the
        query length: ``max_length``, else 32, as ColBERT's ``query_maxlen``); documents get
        the document marker, skip punctuation tokens and are truncated to ``max_length``
        (else the model's limit). Score with :func:`dfembed.maxsim`. Other parameters as for
        :meth:`text`.
        """
        spec = model_spec(
            "late_interaction",
            model,
            revision,
            cuda,
            device_ids,
            device_id,
            threads,
            cache_dir,
            local_files_only,
            session_options,
        )
        options = TextOptions(
            batch_size=batch_size,
            token_budget=token_budget,
            dedup=dedup,
            max_length=max_length,
            query=query,
        )
        return self._run(self._task(spec, options, column, name, cache=cache), progress, parallel)

    def image(
        self,
        column: Hashable | None = None,
        model: str = DEFAULT_IMAGE_MODEL,
        *,
        revision: str | None = None,
        batch_size: int | None = 32,
        normalize: bool | None = None,
        on_error: str = "raise",
        dedup: bool = True,
        cache: str | os.PathLike | bool | None = None,
        progress: bool = False,
        parallel: int | None = None,
        cuda: CudaPolicy = False,
        device_ids: Sequence[int] | None = None,
        device_id: int | None = 0,
        threads: int | None = None,
        session_options: Mapping[str, object] | None = None,
        cache_dir: str | None = None,
        local_files_only: bool = False,
        name: Hashable | None = None,
    ):
        """Image embeddings of a column of file paths, bytes or PIL images.

        Images are preprocessed with Pillow as the model's ``preprocessor_config.json`` says.
        ``on_error="raise"`` (default) raises :class:`~dfembed.InputError` naming the first
        missing or unreadable image's index label; ``on_error="null"`` gives a null row.
        """
        from .encoders.image import ImageOptions

        if on_error not in ("raise", "null"):
            raise ValueError('on_error must be "raise" or "null"')
        spec = model_spec(
            "image",
            model,
            revision,
            cuda,
            device_ids,
            device_id,
            threads,
            cache_dir,
            local_files_only,
            session_options,
        )
        options = ImageOptions(batch_size=batch_size, dedup=dedup, normalize=normalize)
        task = self._task(spec, options, column, name, on_error=on_error, cache=cache)
        return self._run(task, progress, parallel)

    def rerank(
        self,
        query: str | None = None,
        column: Hashable | None = None,
        model: str = DEFAULT_RERANK_MODEL,
        *,
        query_column: Hashable | None = None,
        revision: str | None = None,
        batch_size: int | None = None,
        token_budget: int = DEFAULT_TOKEN_BUDGET,
        max_length: int | None = None,
        sigmoid: bool = False,
        dedup: bool = True,
        cache: str | os.PathLike | bool | None = None,
        progress: bool = False,
        parallel: int | None = None,
        cuda: CudaPolicy = False,
        device_ids: Sequence[int] | None = None,
        device_id: int | None = 0,
        threads: int | None = None,
        session_options: Mapping[str, object] | None = None,
        cache_dir: str | None = None,
        local_files_only: bool = False,
        name: Hashable | None = None,
    ):
        """Cross-encoder relevance of each row's text to ``query`` (or to ``query_column``).

        Returns a float32 Series (NaN where the text or query is missing): the model's raw
        logit, or its sigmoid with ``sigmoid=True``. Higher is more relevant.
        """
        from .encoders.rerank import RerankOptions

        if (query is None) == (query_column is None):
            raise TypeError("rerank needs exactly one of query= (a string) or query_column=.")
        spec = model_spec(
            "rerank",
            model,
            revision,
            cuda,
            device_ids,
            device_id,
            threads,
            cache_dir,
            local_files_only,
            session_options,
        )
        options = RerankOptions(
            batch_size=batch_size,
            token_budget=token_budget,
            dedup=dedup,
            max_length=max_length,
            sigmoid=sigmoid,
        )
        if name is None:
            name = "score"
        task = self._task(
            spec, options, column, name, query=query, query_column=query_column, cache=cache
        )
        return self._run(task, progress, parallel)


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

    def _width(self, spec: ModelSpec) -> int:
        from .engine.dask import declared_width  # a client never fetches the model itself

        return declared_width(spec)

    def _run(self, task: EmbedTask, progress: bool, parallel: int | None):
        if parallel is not None:
            raise TypeError("parallel= is for pandas frames; a Dask frame runs on its scheduler.")
        from .engine.dask import embed_dask

        return embed_dask(self._obj, task, progress)


def register() -> None:
    """Register ``embed`` on pandas and Dask DataFrames and Series (idempotent)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # re-registering on reload warns
        pd.api.extensions.register_dataframe_accessor("embed")(PandasEmbedAccessor)
        pd.api.extensions.register_series_accessor("embed")(PandasEmbedAccessor)
        try:
            from dask.dataframe.extensions import (
                register_dataframe_accessor,
                register_series_accessor,
            )
        except ImportError:  # pragma: no cover - dask is a dependency
            return
        register_dataframe_accessor("embed")(DaskEmbedAccessor)
        register_series_accessor("embed")(DaskEmbedAccessor)
