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
