"""``dim=``: Matryoshka cuts (sentence-transformers' ``truncate_dim``) on text embeddings.

Parity with sentence-transformers is in tests/encoders/test_text_parity.py; here the
arguments, the width a lazy result declares, and the embedding cache's namespace.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import dfembed
from dfembed import ModelSpec
from dfembed.encoders.load import build_encoder
from dfembed.encoders.text import DenseOptions
from tests.tiny_models import build_tiny_text_model

TEXTS = ["the cat sat on the mat", "a dog", "hello world"]


@pytest.fixture
def matryoshka(tmp_path) -> str:
    """A 16-wide tiny model whose dfembed.json says it may be cut."""
    folder = build_tiny_text_model(tmp_path / "m", dim=16)
    (folder / "dfembed.json").write_text(json.dumps({"matryoshka": True}))
    return str(folder)


def _embed(folder: str, **options) -> pd.Series:
    return pd.Series(TEXTS).embed.text(model=folder, **options)


def test_dim_keeps_the_first_values_then_normalizes(matryoshka):
    full = dfembed.to_numpy(_embed(matryoshka, normalize=False))
    cut = _embed(matryoshka, dim=4)
    assert cut.dtype == pd.ArrowDtype(pa.list_(pa.float32(), 4))
    expected = full[:, :4] / np.linalg.norm(full[:, :4], axis=1, keepdims=True)
    np.testing.assert_allclose(dfembed.to_numpy(cut), expected, atol=1e-6)
    raw = dfembed.to_numpy(_embed(matryoshka, dim=4, normalize=False))
    np.testing.assert_allclose(raw, full[:, :4], atol=1e-6)
    np.testing.assert_allclose(dfembed.to_numpy(_embed(matryoshka, dim=16)), dfembed.to_numpy(
        _embed(matryoshka)), atol=1e-7)  # fmt: skip


@pytest.mark.parametrize(
    "dim, error, match",
    [
        (17, ValueError, "wider than .* 16-wide"),
        (0, ValueError, "dim must be an int >= 1"),
        (-2, ValueError, "dim must be an int >= 1"),
        (4.0, TypeError, "dim must be an int"),
        (True, TypeError, "dim must be an int"),
    ],
)
def test_bad_dims_are_refused_when_called(matryoshka, dim, error, match):
    with pytest.raises(error, match=match):
        _embed(matryoshka, dim=dim)


def test_dim_accepts_numpy_integers(matryoshka):
    assert dfembed.to_numpy(_embed(matryoshka, dim=np.int64(8))).shape == (3, 8)


def test_cutting_a_model_not_said_to_be_matryoshka_warns_once(tmp_path):
    folder = str(build_tiny_text_model(tmp_path / "plain", dim=16))
    with pytest.warns(UserWarning, match="not known to be a Matryoshka model") as caught:
        out = _embed(folder, dim=8)
    assert caught[0].filename == __file__
    assert dfembed.to_numpy(out).shape == (3, 8)  # a warning, the cut is made
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _embed(folder, dim=4)


def test_a_lazy_result_declares_the_cut_width(matryoshka):
    frame = dd.from_pandas(pd.DataFrame({"t": TEXTS}), npartitions=2)
    lazy = frame.embed.text("t", model=matryoshka, dim=4)
    assert lazy.dtype == pd.ArrowDtype(pa.list_(pa.float32(), 4))
    computed = lazy.compute(scheduler="sync")
    np.testing.assert_allclose(
        dfembed.to_numpy(computed), dfembed.to_numpy(_embed(matryoshka, dim=4)), atol=1e-7
    )


def test_dim_and_prompt_have_their_own_cache_namespace(matryoshka, tmp_path: Path):
    encoder = build_encoder(ModelSpec(matryoshka))
    plain, about = encoder.cache_namespace(DenseOptions())
    assert "dim" not in about["options"] and "prompt" not in about["options"]
    assert "source" not in about["info"] and "run_here" not in about["info"]
    cut = encoder.cache_namespace(DenseOptions(dim=4))[0]
    prompted = encoder.cache_namespace(DenseOptions(prompt="x: "))[0]
    assert len({plain, cut, prompted}) == 3
    cache = tmp_path / "cache"
    first = _embed(matryoshka, dim=4, cache=cache)
    full = _embed(matryoshka, cache=cache)  # not served the 4-wide vectors
    assert dfembed.to_numpy(full).shape == (3, 16)
    np.testing.assert_allclose(dfembed.to_numpy(_embed(matryoshka, dim=4, cache=cache)),
                               dfembed.to_numpy(first))  # fmt: skip
