"""Registering the ``embed`` accessor on pandas and Dask DataFrames and Series."""

from __future__ import annotations

import warnings

import pandas as pd

from .accessors import DaskEmbedAccessor, PandasEmbedAccessor


def register() -> None:
    """Register ``embed`` on pandas and Dask DataFrames and Series (idempotent).

    Registering again over dfembed's own accessor (a re-import or ``importlib.reload``) is
    silent; replacing another library's ``embed`` accessor warns, naming it.
    """
    _register_on(pd.api.extensions.register_dataframe_accessor, pd.DataFrame)
    _register_on(pd.api.extensions.register_series_accessor, pd.Series)
    try:
        import dask.dataframe as dd
        from dask.dataframe.extensions import (
            register_dataframe_accessor,
            register_series_accessor,
        )
    except ImportError:  # pragma: no cover - dask is a dependency
        return
    _register_on(register_dataframe_accessor, dd.DataFrame, DaskEmbedAccessor)
    _register_on(register_series_accessor, dd.Series, DaskEmbedAccessor)


def _register_on(registrar, cls: type, accessor: type = PandasEmbedAccessor) -> None:
    """Register ``accessor`` as ``cls.embed``, warning only when it replaces a stranger's.

    pandas and Dask warn on any replacement, dfembed's own included; that warning is
    silenced here and replaced by one that names the other library's attribute, since a
    clash means one of the two libraries' ``.embed`` calls now reaches the other's code.
    """
    existing = getattr(cls, "embed", None)
    if (
        existing is not None
        and getattr(existing, "__module__", None) != PandasEmbedAccessor.__module__
    ):
        owner = f"{getattr(existing, '__module__', '?')}.{getattr(existing, '__qualname__', '?')}"
        warnings.warn(
            f"dfembed replaces the `embed` accessor that {owner} registered on "
            f"{cls.__module__}.{cls.__qualname__}: df.embed now means dfembed's. Import "
            "dfembed before that library to keep its accessor instead.",
            UserWarning,
            stacklevel=3,
        )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="registration of accessor", category=UserWarning)
        registrar("embed")(accessor)
