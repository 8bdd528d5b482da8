"""Broken or mismatched model folders: a specific dfembed error that says what to fix.

Each test copies the real all-MiniLM-L6-v2 (int8) folder and breaks one thing in it. The
hub cases (download cut mid-file, wrong checksum, offline with an empty cache) are in
tests/models/test_hub.py, a ``dfembed.json`` that is not JSON in
tests/models/test_registry.py, and a corrupt ONNX file on Dask workers in
tests/engine/test_dask.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

import dfembed
from dfembed import ModelLoadError, ModelNotFoundError

TEXTS = pd.Series(["a cat sat on the mat", "stocks fell sharply", None], dtype=object)


def _copy(model: str, folder: Path) -> Path:
    shutil.copytree(model, folder)
    return folder


def _describe(folder: Path, **fields) -> None:
    """Change fields of the folder's dfembed.json."""
    path = folder / "dfembed.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **fields}))


def test_a_missing_onnx_file_fails_at_call_time_on_pandas_and_dask(minilm_int8, tmp_path):
    folder = _copy(minilm_int8, tmp_path / "no-onnx")
    (folder / "model.onnx").unlink()
    frame = pd.DataFrame({"body": TEXTS})
    with dask.config.set({"dataframe.convert-string": False}):
        lazy = dd.from_pandas(frame, npartitions=2)
    for target in (frame, lazy):  # the Dask graph is never built
        with pytest.raises(ModelNotFoundError, match=r"No ONNX file 'model\.onnx' in .*no-onnx"):
            target.embed.text("body", model=str(folder))


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 3],  # a download cut short
        lambda data: b"\x00" * 4096,  # not a protobuf at all
        lambda data: b"",  # empty file
        lambda data: data[:1000] + bytes(len(data) - 1000),  # right size, zeroed body
    ],
    ids=["truncated", "garbage", "empty", "zeroed"],
)
def test_a_corrupt_onnx_file_is_a_load_error_and_is_not_cached(minilm_int8, tmp_path, damage):
    folder = _copy(minilm_int8, tmp_path / "corrupt")
    good = (folder / "model.onnx").read_bytes()
    (folder / "model.onnx").write_bytes(damage(good))
    with pytest.raises(ModelLoadError, match=r"corrupt.*model\.onnx|model\.onnx.*corrupt"):
        TEXTS.embed.text(model=str(folder))
    (folder / "model.onnx").write_bytes(good)  # repaired: the next call loads it afresh
    assert TEXTS.embed.text(model=str(folder)).notna().sum() == 2


def test_a_missing_tokenizer_says_where_to_get_one(minilm_int8, tmp_path):
    folder = _copy(minilm_int8, tmp_path / "no-tokenizer")
    (folder / "tokenizer.json").unlink()
    with pytest.raises(ModelLoadError, match="no tokenizer.json"):
        TEXTS.embed.text(model=str(folder))


def test_a_corrupt_tokenizer_is_a_load_error(minilm_int8, tmp_path):
    folder = _copy(minilm_int8, tmp_path / "bad-tokenizer")
    text = (folder / "tokenizer.json").read_text()
    (folder / "tokenizer.json").write_text(text[: len(text) // 2])
    with pytest.raises(ModelLoadError, match="not a valid tokenizers file"):
        TEXTS.embed.text(model=str(folder))


def test_a_tokenizer_with_ids_past_the_models_vocabulary_is_a_load_error(minilm_int8, tmp_path):
    """A tokenizer.json from another model: here one with 2 tokens more than MiniLM's
    30,522-row embedding matrix. Texts that use them must fail clearly, not as ONNX
    Runtime's ``InvalidArgument`` about a Gather node (nor, on other providers, as garbage)."""
    from tokenizers import Tokenizer

    folder = _copy(minilm_int8, tmp_path / "other-tokenizer")
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.add_tokens(["dfembedtoken", "otherword"])
    tokenizer.save(str(folder / "tokenizer.json"))
    ok = pd.Series(["no added token in here"]).embed.text(model=str(folder))
    assert ok.notna().all()  # ids within the vocabulary still run
    with pytest.raises(ModelLoadError, match=r"tokenizer\.json.*another model") as err:
        pd.Series(["this has dfembedtoken in it"]).embed.text(model=str(folder))
    assert str(folder) in str(err.value) and "out of data bounds" in str(err.value)


def test_a_max_length_past_the_models_positions_is_a_load_error(minilm_int8, tmp_path):
    folder = _copy(minilm_int8, tmp_path / "too-long")
    _describe(folder, max_length=1024)  # MiniLM has 512 position embeddings
    assert pd.Series(["short text"]).embed.text(model=str(folder)).notna().all()
    with pytest.raises(ModelLoadError, match="max_length"):
        pd.Series(["word " * 800]).embed.text(model=str(folder))


@pytest.mark.parametrize("scheduler", ["pandas", "dask"])
def test_a_declared_width_that_is_wrong_is_a_load_error(minilm_int8, tmp_path, scheduler):
    """dfembed.json says 768 dims, the graph gives 384: without a check, pandas returned
    384-wide vectors under a 768-wide promise, and a Dask result mixed both widths in an
    ``object`` column."""
    folder = _copy(minilm_int8, tmp_path / "wrong-dim")
    _describe(folder, dim=768)
    frame = pd.DataFrame({"body": TEXTS})
    with pytest.raises(ModelLoadError, match=r"384-wide vectors.*768.*\"dim\""):
        if scheduler == "pandas":
            frame.embed.text("body", model=str(folder))
        else:
            with dask.config.set({"dataframe.convert-string": False}):
                lazy = dd.from_pandas(frame, npartitions=2)
            lazy.embed.text("body", model=str(folder)).compute(scheduler="sync")


def test_the_intact_copy_still_matches_the_original(minilm_int8, tmp_path):
    """The copies above differ from the real model only in what each test breaks."""
    folder = _copy(minilm_int8, tmp_path / "intact")
    np.testing.assert_allclose(
        dfembed.to_numpy(TEXTS.embed.text(model=str(folder))),
        dfembed.to_numpy(TEXTS.embed.text(model=minilm_int8)),
        atol=1e-6,
    )
