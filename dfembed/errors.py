"""The exceptions dfembed raises: one class per kind of failure, each saying what to do next."""

from __future__ import annotations


class DfembedError(Exception):
    """Base class of every error dfembed raises on purpose."""


class ModelNotFoundError(DfembedError):
    """A model name, repository, revision or file could not be found."""


class ModelLoadError(DfembedError):
    """A model's files were found but could not be loaded (corrupt, mismatched, unsupported)."""


class DeviceUnavailableError(DfembedError):
    """A device was asked for explicitly (``cuda=True``) but cannot be used."""


class InputError(DfembedError, ValueError):
    """The data handed to an accessor cannot be embedded (wrong type, missing column, ...)."""


class WorkerError(DfembedError):
    """A Dask worker could not serve a model (its load failed, or it has no session)."""


class OutputError(DfembedError):
    """An output path cannot be written safely: it is (or holds, or lies in) an input, or it
    holds parquet files dfembed did not write."""


class CacheError(DfembedError):
    """The persistent embedding cache (``cache=``) cannot be read or written."""


class TokenizerError(InputError, ModelLoadError):
    """A model's tokenizer crashed (a Rust panic) on an input: its ``tokenizer.json`` may be
    hostile or broken (a pre-tokenizer regex that backtracks without end, for one).

    ``position`` is the input's place in the list the tokenizer was given and ``item`` that
    input, where known; ``reason`` is the tokenizer's own message.
    """

    def __init__(self, message: str, position: int | None = None, reason: str = ""):
        super().__init__(message)
        self.position = position
        self.item: object = None
        self.reason = reason


class PanicError(DfembedError):
    """Code under dfembed raised a ``BaseException`` that is not an ``Exception`` (a Rust
    panic, or another library's ``BaseException`` subclass): raised in its place, so every
    caller sees an ordinary error (Dask's ``compute()`` hangs on the other kind)."""


def is_panic(exc: BaseException) -> bool:
    """Whether ``exc`` slips past ``except Exception`` without being a request to stop.

    Rust panics reach Python as ``pyo3_runtime.PanicException``, a ``BaseException``.
    ``KeyboardInterrupt``, ``SystemExit``, ``GeneratorExit`` and cancellation are not panics.
    """
    import asyncio

    stops = (Exception, KeyboardInterrupt, SystemExit, GeneratorExit, asyncio.CancelledError)
    return not isinstance(exc, stops)
