"""The public API's shape: the version, the accessor's registration, rerank's spelling."""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import pydoc
import warnings

import dask.dataframe as dd
import pandas as pd
import pytest

import dfembed
from dfembed import _version, accessors, registration
from dfembed.encoders import base as encoder_base


def test_version_is_the_installed_metadata():
    # one place: pyproject.toml's version, as installed, which the embedding cache keys on
    assert dfembed.__version__ == importlib.metadata.version("dfembed")


def test_version_of_an_uninstalled_source_tree_says_unknown(monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    try:
        importlib.reload(_version)  # the one module that reads it
        assert importlib.reload(dfembed).__version__ == "0+unknown"
    finally:
        monkeypatch.undo()
        importlib.reload(_version)
        importlib.reload(dfembed)
    assert dfembed.__version__ == importlib.metadata.version("dfembed")


def test_the_cache_namespace_holds_the_packages_version():
    # the embedding cache reads the version from the same place as dfembed.__version__
    assert encoder_base.__version__ == dfembed.__version__


def test_registering_again_over_dfembeds_own_accessor_is_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        registration.register()  # as a re-import or a reload does
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
            registration.register()
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            register("embed")(accessors.PandasEmbedAccessor)
    messages = [str(w.message) for w in caught]
    clash = [m for m in messages if "OtherEmbed" in m]
    assert len(clash) == 1, messages  # one warning, ours, naming the other accessor
    assert f"{cls.__module__}.{cls.__qualname__}" in clash[0]
    assert cls.embed is accessors.PandasEmbedAccessor  # dfembed's accessor wins


METHODS = ["text", "sparse", "late_interaction", "image", "rerank"]
FRAME = pd.DataFrame({"body": ["a cat sat"], "q": ["cats"]})
NOWHERE = "/no/such/model"


@pytest.mark.parametrize("method", METHODS)
def test_the_column_comes_first_and_every_option_is_keyword_only(method):
    parameters = list(
        inspect.signature(getattr(accessors.PandasEmbedAccessor, method)).parameters.values()
    )
    assert [p.name for p in parameters[:2]] == ["self", "column"]
    after = [p for p in parameters[2:] if p.kind is not inspect.Parameter.VAR_POSITIONAL]
    assert after and all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in after)
    assert {p.name: p.default for p in after}["batch_size"] is None  # one default rule


@pytest.mark.parametrize("method", ["text", "sparse", "late_interaction", "image"])
def test_a_model_given_positionally_is_refused(method):
    with pytest.raises(TypeError, match="positional"):
        getattr(FRAME.embed, method)("body", NOWHERE)


@pytest.mark.parametrize("method", METHODS)
def test_help_documents_every_parameter_once_in_signature_order(method):
    func = getattr(accessors.PandasEmbedAccessor, method)
    rendered = pydoc.render_doc(func, renderer=pydoc.plaintext)
    block = rendered.split("Parameters\n    ----------\n")[1].split("Returns")[0]
    documented = [
        line.strip()
        for line in block.splitlines()
        if line.startswith("    ") and not line.startswith("        ") and line.strip()
    ]
    wanted = [
        ("*" if p.kind is inspect.Parameter.VAR_POSITIONAL else "") + p.name
        for p in list(inspect.signature(func).parameters.values())[1:]
    ]
    assert documented == wanted
    assert "Returns\n    -------\n    A " in rendered
    # the shared docs are written once and the same in every method
    assert "Most padded tokens per model run" in rendered or method == "image"
    assert "keyed by the model's exact files" in rendered


def test_shared_parameters_refuses_a_docstring_out_of_step_with_its_signature():
    from dfembed.parameter_docs import shared_parameters

    def undocumented(self, column=None, *, colour=None):
        """Summary."""

    with pytest.raises(TypeError, match="'colour' is not documented"):
        shared_parameters(undocumented)

    def stale(self, column=None):
        """Summary.

        Parameters
        ----------
        gone
            Removed long ago.
        """

    with pytest.raises(TypeError, match="gone"):
        shared_parameters(stale)


@pytest.mark.parametrize("method", ["text", "sparse", "late_interaction"])
def test_query_is_a_flag_in_the_embedding_methods(method):
    with pytest.raises(TypeError, match=r"query must be True.*rerank\(column, query_text="):
        getattr(FRAME.embed, method)("body", model=NOWHERE, query="how do cats purr")


def test_rerank_query_text_is_a_text():
    with pytest.raises(TypeError, match="query_column="):
        FRAME.embed.rerank("body", model=NOWHERE, query_text=True)
    with pytest.raises(TypeError, match="exactly one"):
        FRAME.embed.rerank("body", model=NOWHERE)
    # neither argument order makes sense: not taken for the old spelling
    with pytest.raises(TypeError, match=r"column first.*rerank\('x', query_text=\.\.\.\)"):
        FRAME.embed.rerank("body", "x", model=NOWHERE)
    with pytest.raises(TypeError, match="one positional argument"):
        FRAME.embed.rerank("body", "q", "x", model=NOWHERE)
