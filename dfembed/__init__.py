"""dfembed: embeddings for dataframe columns, in process or across a Dask cluster.

``import dfembed`` registers the ``embed`` accessor on pandas and Dask DataFrames/Series::

    df["vec"] = df.embed.text("body")
    ddf = ddf.assign(vec=ddf.embed.text("body"))
"""

from __future__ import annotations

from ._version import __version__  # noqa: F401 - dfembed.__version__, read in one place
from .analytics import (
    NearDuplicates,
    SkippedRowsWarning,
    fuse,
    near_duplicates,
    nearest,
    similarity_join,
)
from .columns import to_numpy, to_scipy
from .display import preview
from .engine.stream import as_completed, devices
from .errors import (
    CacheError,
    DeviceUnavailableError,
    DfembedError,
    InputError,
    ModelLoadError,
    ModelNotFoundError,
    OutputError,
    PanicError,
    TokenizerError,
    WorkerError,
)
from .io.parquet import read_parquet, to_parquet, write_parquet
from .models.registry import ModelInfo, list_models
from .registration import register as _register
from .scoring import maxsim
from .spec import ModelSpec

_register()

__all__ = [
    "CacheError",
    "DeviceUnavailableError",
    "DfembedError",
    "InputError",
    "ModelInfo",
    "ModelLoadError",
    "ModelNotFoundError",
    "ModelSpec",
    "NearDuplicates",
    "SkippedRowsWarning",
    "OutputError",
    "PanicError",
    "TokenizerError",
    "WorkerError",
    "as_completed",
    "devices",
    "fuse",
    "list_models",
    "maxsim",
    "near_duplicates",
    "nearest",
    "preview",
    "read_parquet",
    "similarity_join",
    "to_numpy",
    "to_parquet",
    "to_scipy",
    "write_parquet",
]
