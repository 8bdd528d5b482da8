"""Prompts: read from config_sentence_transformers.json or dfembed.json, picked per call.

Before, a folder's or hub repository's ``config_sentence_transformers.json`` was not read:
``query=True`` on an e5, nomic, arctic or Qwen3 folder silently added nothing.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dfembed
from dfembed import ModelLoadError, ModelSpec
from dfembed.models import prompts
from dfembed.models.describe import describe
from dfembed.models.registry import PROMPTS_FILE, lookup
from dfembed.models.resolve import resolve
from tests import hub_server
from tests.hub_server import HubServer
from tests.tiny_models import build_tiny_text_model

hub = hub_server.hub
hf_cache = hub_server.hf_cache


def _folder(root: Path, config: dict | None = None, descriptor: dict | None = None) -> str:
    folder = build_tiny_text_model(root / "m")
    if config is not None:
        (folder / PROMPTS_FILE).write_text(json.dumps(config))
    if descriptor is not None:
        (folder / "dfembed.json").write_text(json.dumps(descriptor))
    return str(folder)


def _info(folder: str):
    return resolve(ModelSpec(folder)).info


def _vectors(folder: str, texts, **options) -> np.ndarray:
    return dfembed.to_numpy(pd.Series(texts).embed.text(model=folder, **options))


@pytest.mark.parametrize(
    "config, query, document",
    [
        ({"prompts": {"query": "query: ", "passage": "passage: "}}, "query: ", "passage: "),
        ({"prompts": {"query": "q: ", "corpus": "c: ", "passage": "p: "}}, "q: ", "p: "),
        ({"prompts": {"query": "Instruct: x\nQuery:", "document": ""}}, "Instruct: x\nQuery:", ""),
        ({"prompts": {"query": "q: ", "document": "d: ", "passage": "p: "}}, "q: ", "d: "),
        # the default prompt stands in where the model names no query / document prompt
        ({"prompts": {"all": "a: "}, "default_prompt_name": "all"}, "a: ", "a: "),
        ({"prompts": {"query": "q: ", "all": "a: "}, "default_prompt_name": "all"}, "q: ", "a: "),
        ({"prompts": {}, "default_prompt_name": None}, "", ""),
    ],
)
def test_prompts_file_gives_query_and_document_prompts(tmp_path, config, query, document):
    info = _info(_folder(tmp_path, config))
    assert (info.query_prefix, info.document_prefix) == (query, document)
    others = {k: v for k, v in config["prompts"].items() if k not in ("query", "document")}
    assert dict(info.prompts) == others


@pytest.mark.parametrize(
    "config, match",
    [
        ({"prompts": ["query: "]}, "JSON object of prompt names"),
        ({"prompts": {"query": 3}}, "JSON object of prompt names"),
        ({"prompts": {"query": "q: "}, "default_prompt_name": "doc"}, "not one of its prompts"),
    ],
)
def test_a_bad_prompts_file_is_a_load_error_naming_it(tmp_path, config, match):
    with pytest.raises(ModelLoadError, match=match) as caught:
        _info(_folder(tmp_path, config))
    assert PROMPTS_FILE in str(caught.value)


def test_dfembed_json_prompts_override_the_prompts_file(tmp_path):
    config = {"prompts": {"query": "query: ", "document": "passage: "}}
    descriptor = {"query_prefix": "find: ", "prompts": {"clustering": "cluster: "}}
    info = _info(_folder(tmp_path, config, descriptor))
    assert (info.query_prefix, info.document_prefix) == ("find: ", "passage: ")
    assert info.prompts == (("clustering", "cluster: "),)


def test_dfembed_json_prompts_must_be_an_object_of_texts(tmp_path):
    with pytest.raises(ModelLoadError, match='"prompts" must be a JSON object'):
        _info(_folder(tmp_path, descriptor={"prompts": {"clustering": 1}}))


def test_prompts_change_the_texts_embedded(tmp_path):
    folder = _folder(tmp_path, {"prompts": {"query": "query: ", "clustering": "red car "}})
    texts = ["a cat", "the dog sat"]
    plain = _vectors(str(build_tiny_text_model(tmp_path / "plain")), ["query: " + t for t in texts])
    np.testing.assert_allclose(_vectors(folder, texts, query=True), plain, atol=1e-6)
    clustered = _vectors(folder, ["red car " + t for t in texts])
    np.testing.assert_allclose(_vectors(folder, texts, prompt="clustering"), clustered, atol=1e-6)
    literal = _vectors(folder, ["good: " + t for t in texts])
    np.testing.assert_allclose(_vectors(folder, texts, prompt="good: "), literal, atol=1e-6)


def test_prompt_names_and_literal_prompts():
    info = lookup("multilingual-e5-small")
    assert prompts.prompt_text(info, True, None) == "query: "
    assert prompts.prompt_text(info, False, None) == "passage: "
    assert prompts.prompt_text(info, False, "query") == "query: "
    assert prompts.prompt_text(info, True, "document") == "passage: "
    assert prompts.prompt_text(info, True, "Summarize: ") == "Summarize: "
    with pytest.raises(ValueError, match="names none of") as caught:
        prompts.prompt_text(info, False, "qeury")
    assert "'document'" in str(caught.value) and "'query'" in str(caught.value)


@pytest.mark.parametrize("bad", [1, b"query: ", ["query"]])
def test_prompt_must_be_a_string(tmp_path, bad):
    with pytest.raises(TypeError, match="prompt must be a string"):
        pd.Series(["a"]).embed.text(model=_folder(tmp_path), prompt=bad)


def test_query_without_a_query_prompt_warns_once(tmp_path):
    folder = _folder(tmp_path)
    with pytest.warns(UserWarning, match="query=True adds nothing") as caught:
        _vectors(folder, ["a cat"], query=True)
    assert caught[0].filename == __file__  # points at the user's call
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _vectors(folder, ["a dog"], query=True)  # once per model


def test_folders_described_by_dfembed_json_do_not_warn(tmp_path):
    folder = _folder(tmp_path, descriptor={"dim": 8})  # its author states its prompts: none
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _vectors(folder, ["a cat"], query=True)


def test_registry_rows_without_a_query_prompt_do_not_warn():
    from dfembed.arguments import text_width
    from dfembed.encoders.text import DenseOptions

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert text_width(lookup("all-MiniLM-L6-v2"), DenseOptions(query=True)) == 384


def test_a_folder_of_a_prompted_model_without_prompts_warns(tmp_path):
    folder = Path(_folder(tmp_path))
    config = json.loads((folder / "config.json").read_text())
    config["_name_or_path"] = "intfloat/multilingual-e5-small"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.warns(UserWarning, match="'query: ' before queries and 'passage: '"):
        _info(str(folder))
    (folder / PROMPTS_FILE).write_text(json.dumps({"prompts": {"query": "query: "}}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _info(str(folder))  # configured now


def test_describe_reads_a_hub_repos_prompts(hub: HubServer, hf_cache: Path, tmp_path):
    config = {"prompts": {"query": "search_query: ", "document": "search_document: "}}
    hub.add_repo("owner/prompted", Path(_folder(tmp_path, config)))
    spec = ModelSpec("owner/prompted", cache_dir=str(hf_cache))
    described = describe(spec)
    assert (described.query_prefix, described.document_prefix) == (
        "search_query: ", "search_document: ",
    )  # fmt: skip
    resolved = resolve(spec).info  # what workers run: the same prompts
    assert resolved.query_prefix == described.query_prefix
    assert resolved.document_prefix == described.document_prefix


def test_list_models_shows_prompts_and_what_ran_here():
    models = dfembed.list_models().set_index("name")
    e5 = models.loc["multilingual-e5-small"]
    assert (e5.query_prefix, e5.document_prefix) == ("query: ", "passage: ")
    assert isinstance(e5.prompts, dict)
    assert models.loc["all-MiniLM-L6-v2"].run_here
    assert models["source"].str.len().gt(0).all()  # every row says where its facts are from
