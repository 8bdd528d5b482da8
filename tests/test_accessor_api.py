"""The public API's shape: the version, the accessor's registration, rerank's spelling."""

from __future__ import annotations

import importlib.metadata
import warnings

import dask.dataframe as dd
import pandas as pd
import pytest

import dfembed
from dfembed import accessors


def test_version_is_the_installed_metadata():
    # one place: pyproject.toml's version, as installed, which the embedding cache keys on
    assert dfembed.__version__ == importlib.metadata.version("dfembed")


def test_registering_again_over_dfembeds_own_accessor_is_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        accessors.register()  # as a re-import or a reload does
    assert pd.DataFrame.embed is accessors.PandasEmbedAccessor
    assert dd.Series.embed is accessors.DaskEmbedAccessor


@pytest.mark.parametrize("kind", ["dataframe", "series"])
def test_replacing_another_librarys_embed_accessor_warns_naming_it(kind):
    register = getattr(pd.api.extensions, f"register_{kind}_accessor")
    cls = pd.DataFrame if kind == "dataframe" else pd.Series

    class OtherEmbed:
        def __init__(self, obj):
            self.obj = obj

    try:
        with pytest.warns(UserWarning, match="overriding"):  # pandas' own warning
            register("embed")(OtherEmbed)
        with pytest.warns(UserWarning) as caught:
            accessors.register()
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            register("embed")(accessors.PandasEmbedAccessor)
    messages = [str(w.message) for w in caught]
    clash = [m for m in messages if "OtherEmbed" in m]
    assert len(clash) == 1, messages  # one warning, ours, naming the other accessor
    assert f"{cls.__module__}.{cls.__qualname__}" in clash[0]
    assert cls.embed is accessors.PandasEmbedAccessor  # dfembed's accessor wins
