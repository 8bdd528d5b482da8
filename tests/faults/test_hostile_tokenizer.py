"""A hostile tokenizer.json, and other BaseExceptions that are not Exceptions, end the job.

The tokenizer here is the tiny test model's with one more pre-tokenizer step: a ``Split`` on
the regex ``(a|aa)+$``. Oniguruma gives up backtracking over ``"a" * 40 + "!"`` and
``tokenizers`` (0.23) panics: ``pyo3_runtime.PanicException``, a ``BaseException``. Before,
it slipped past every ``except Exception`` in process, and on a LocalCluster the client's
``compute()`` never returned (distributed's client loop re-raises a task's exception, and
its ``sync`` only hands ``Exception`` back to the caller).
"""

from __future__ import annotations

import json
from pathlib import Path

import dask
import dask.dataframe as dd
import pandas as pd
import pytest

import dfembed
from dfembed import InputError, ModelLoadError
from dfembed.encoders.tokens import TextTokenizer
from dfembed.errors import PanicError, TokenizerError
from tests.tiny_models import build_tiny_text_model

HOSTILE = "(a|aa)+$"
TRIGGER = "a" * 40 + "!"


class Boom(BaseException):
    """A library's own BaseException subclass (importable by the workers: tests is a package)."""


def _with_split(folder: Path, regex: str, first: bool = True) -> str:
    """``folder``'s tokenizer with a ``Split`` on ``regex`` before (or after) its own step."""
    path = folder / "tokenizer.json"
    tokenizer = json.loads(path.read_text())
    split = {"type": "Split", "pattern": {"Regex": regex}, "behavior": "Isolated"}
    split["invert"] = False
    steps = [split, tokenizer["pre_tokenizer"]]
    tokenizer["pre_tokenizer"] = {
        "type": "Sequence",
        "pretokenizers": steps if first else steps[::-1],
    }
    path.write_text(json.dumps(tokenizer))
    return str(folder)


@pytest.fixture(scope="module")
def hostile_model(tmp_path_factory) -> str:
    """The tiny text model with a pre-tokenizer regex that panics on ``TRIGGER``."""
    return _with_split(build_tiny_text_model(tmp_path_factory.mktemp("hostile") / "m"), HOSTILE)


def _frame() -> pd.DataFrame:
    texts = ["hello world", "the cat sat", TRIGGER, "good dog", TRIGGER]
    return pd.DataFrame({"body": texts}, index=["p", "q", "r", "s", "t"])


def test_the_regex_really_panics_in_tokenizers(hostile_model):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(hostile_model) / "tokenizer.json"))
    assert tokenizer.encode("hello aaa world").ids  # harmless texts still encode
    with pytest.raises(BaseException) as caught:
        tokenizer.encode_batch(["hello", TRIGGER])
    assert not isinstance(caught.value, Exception)
    assert type(caught.value).__name__ == "PanicException"


def test_the_tokenizer_names_the_input_that_panics(hostile_model):
    tokenizer = TextTokenizer(Path(hostile_model) / "tokenizer.json", 32)
    with pytest.raises(TokenizerError, match="panicked on input 1027") as caught:
        tokenizer.encode(["fine text"] * 1027 + [TRIGGER])  # the second chunk, at 3
    assert caught.value.position == 1027
    assert "retry-limit" in caught.value.reason
    # and as pairs (reranking): the pair whose text panics
    with pytest.raises(TokenizerError, match="panicked on input 2"):
        tokenizer.encode(["fine", "good", TRIGGER], pairs=["query"] * 3)


def test_a_tokenizer_that_panics_while_loading_is_a_model_load_error(tmp_path, monkeypatch):
    """dfembed runs the pipeline on probe texts when it loads a tokenizer (to find where long
    texts can be cut): one of them is 120 x's, on which ``(x+x+)+y`` backtracks without end."""
    from dfembed.encoders.text import TextEncoder

    folder = _with_split(build_tiny_text_model(tmp_path / "probe"), "(x+x+)+y", first=False)
    with pytest.raises(ModelLoadError, match="panicked on probe texts while loading"):
        pd.Series(["hello world"]).embed.text(model=folder)
    # any other panic while an encoder is set up: a ModelLoadError too
    tiny = str(build_tiny_text_model(tmp_path / "tiny"))
    monkeypatch.setattr(TextEncoder, "__init__", _explode)
    with pytest.raises(ModelLoadError, match="Boom: a BaseException from deep inside"):
        pd.Series(["hello world"]).embed.text(model=tiny)


def test_pandas_raises_an_input_error_naming_the_row(hostile_model):
    with pytest.raises(TokenizerError) as caught:
        _frame().embed.text("body", model=hostile_model)
    message = str(caught.value)
    assert "index label 'r' of column 'body'" in message
    assert "tokenizer.json" in message and "hostile or broken" in message
    # one class a caller may catch either way: bad input, or a bad model file
    assert isinstance(caught.value, InputError) and isinstance(caught.value, ModelLoadError)
    # through the persistent cache too (only the misses reach the tokenizer)
    texts = pd.Series(["hello world", "good dog", TRIGGER], index=[10, 11, 12])
    with pytest.raises(TokenizerError, match="index label 12 of the Series"):
        texts.embed.text(model=hostile_model, cache=str(Path(hostile_model) / "cache"))


@pytest.mark.timeout(120)
def test_dask_ends_with_the_error_instead_of_hanging(hostile_model, clusters):
    _, client = clusters.start(n_workers=1)
    with dask.config.set({"dataframe.convert-string": False}):
        lazy = dd.from_pandas(_frame(), npartitions=2)
    result = lazy.embed.text("body", model=hostile_model)
    # either partition's error may arrive first: 'r' is in the first, 't' in the second
    with pytest.raises(TokenizerError, match="index label '[rt]' of column 'body'"):
        client.compute(result).result(timeout=60)
    # the worker is fine: harmless rows still embed
    clean = lazy[lazy.body != TRIGGER].embed.text("body", model=hostile_model)
    assert client.compute(clean).result(timeout=60).notna().all()


def _explode(self, *args, **kwargs):
    raise Boom("a BaseException from deep inside")


def _patch_encoder() -> None:
    from dfembed.encoders.text import TextEncoder

    TextEncoder.encode_distinct = _explode


def test_any_base_exception_in_process_becomes_a_dfembed_error(monkeypatch, tmp_path):
    from dfembed.encoders.text import TextEncoder

    tiny = str(build_tiny_text_model(tmp_path / "tiny"))
    monkeypatch.setattr(TextEncoder, "encode_distinct", _explode)
    with pytest.raises(PanicError, match=r"test_hostile_tokenizer\.Boom: a BaseException"):
        pd.Series(["hello world"]).embed.text(model=tiny)
    # requests to stop are left alone
    monkeypatch.setattr(TextEncoder, "encode_distinct", _interrupt)
    with pytest.raises(KeyboardInterrupt):
        pd.Series(["hello world"]).embed.text(model=tiny)


def _interrupt(self, *args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.timeout(120)
def test_a_task_raising_any_base_exception_ends_the_dask_job(clusters, tmp_path):
    """Not only panics: any BaseException subclass a task raises made ``compute()`` hang."""
    tiny = str(build_tiny_text_model(tmp_path / "tiny"))
    _, client = clusters.start(n_workers=1)
    client.run(_patch_encoder)  # a throw-away worker: its encoder now raises Boom
    lazy = dd.from_pandas(pd.DataFrame({"body": ["hello world", "good dog"]}), npartitions=2)
    with pytest.raises(dfembed.DfembedError, match="Boom: a BaseException from deep inside"):
        client.compute(lazy.embed.text("body", model=tiny)).result(timeout=60)
