"""The registry of known models and folder descriptions."""

from __future__ import annotations

import pytest

import dfembed
from dfembed import ModelSpec


def test_list_models_has_the_required_text_models():
    models = dfembed.list_models()
    names = set(models["name"])
    assert {"all-MiniLM-L6-v2", "paraphrase-MiniLM-L3-v2", "bge-small-en-v1.5"} <= names
    assert any("multilingual" in n for n in names)
    assert {"name", "kind", "repo", "dim", "pooling", "license"} <= set(models.columns)
    bge = models.set_index("name").loc["bge-small-en-v1.5"]
    assert bge.pooling == "cls" and bge.query_prefix.startswith("Represent")


def test_registry_files_are_only_onnx_and_configs():
    for info in map(dfembed.models.registry.lookup, dfembed.list_models()["name"]):
        for name in info.files():
            assert name.endswith((".onnx", ".onnx_data", ".json")), name


def test_spec_key_is_stable_and_distinguishes_fields():
    a = ModelSpec("m", device_ids=(0, 1))
    assert a.key() == ModelSpec("m", device_ids=(0, 1)).key()
    assert a.key() != ModelSpec("m", device_ids=(1, 0)).key()
    assert a.key() != ModelSpec("m", kind="sparse", device_ids=(0, 1)).key()


def test_list_models_of_an_unknown_kind_names_the_kinds():
    with pytest.raises(ValueError) as caught:
        dfembed.list_models(kind="texts")
    message = str(caught.value)
    assert "'texts'" in message
    assert all(repr(kind) in message for kind in dfembed.models.registry.KINDS)


def test_list_models_without_a_match_keeps_its_columns(monkeypatch):
    registry = dfembed.models.registry
    text_only = {k: v for k, v in registry._REGISTRY.items() if v.kind == "text"}
    monkeypatch.setattr(registry, "_REGISTRY", text_only)
    empty = dfembed.list_models(kind="rerank")
    assert empty.empty
    assert list(empty.columns) == list(dfembed.list_models().columns)
    assert list(empty.columns[:4]) == ["name", "kind", "repo", "dim"]
