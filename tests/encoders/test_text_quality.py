"""Dense text vectors against sentence-transformers references of the same weights.

The reference vectors in ``tests/data/minilm_reference.npz`` were computed with
sentence-transformers from the fp32 all-MiniLM-L6-v2 safetensors (``tools/make_reference.py``
regenerates them). Truncation is 256 tokens, as sentence-transformers does for this model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dfembed

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "minilm_reference.npz"


@pytest.fixture(scope="module")
def reference():
    data = np.load(REFERENCE)
    return [str(t) for t in data["texts"]], data["vectors"]


def _embed(model: str, texts: list[str], **kwargs) -> np.ndarray:
    return dfembed.to_numpy(pd.Series(texts).embed.text(model=model, **kwargs))


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.mark.slow
def test_fp32_export_matches_sentence_transformers(minilm_fp32, reference):
    texts, vectors = reference
    assert _cosines(_embed(minilm_fp32, texts), vectors).min() >= 0.9999


def test_int8_close_to_fp32_reference(minilm_int8, reference):
    texts, vectors = reference
    assert _cosines(_embed(minilm_int8, texts), vectors).min() >= 0.995


def test_similar_sentences_score_higher(minilm_int8):
    texts = [
        "A man is playing a guitar.",
        "Someone is playing an instrument.",
        "The central bank raised interest rates.",
    ]
    v = _embed(minilm_int8, texts)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2


@pytest.mark.parametrize("batch_size", [1, 3, 64])
def test_batch_size_does_not_change_vectors(minilm_int8, reference, batch_size):
    texts, _ = reference
    base = _embed(minilm_int8, texts)
    np.testing.assert_allclose(_embed(minilm_int8, texts, batch_size=batch_size), base, atol=1e-5)


def test_token_budget_and_dedup_do_not_change_vectors(minilm_int8, reference):
    texts, _ = reference
    texts = texts + texts[:5]
    base = _embed(minilm_int8, texts)
    np.testing.assert_allclose(_embed(minilm_int8, texts, token_budget=64), base, atol=1e-5)
    np.testing.assert_allclose(_embed(minilm_int8, texts, dedup=False), base, atol=1e-5)


def test_max_length_truncates(minilm_int8):
    long = " ".join(["word"] * 400) + " ending about finance"
    full = _embed(minilm_int8, [long])
    short = _embed(minilm_int8, [long], max_length=16)
    prefix = _embed(minilm_int8, [" ".join(["word"] * 14)])
    assert not np.allclose(full, short, atol=1e-3)
    np.testing.assert_allclose(short, prefix, atol=1e-5)


def test_paraphrase_l3_runs_with_its_own_output(paraphrase_l3):
    v = _embed(paraphrase_l3, ["A cat sits on the mat.", "A kitten rests on a rug.", "Taxes rose."])
    assert v.shape == (3, 384)
    assert v[0] @ v[1] > v[0] @ v[2]


def test_normalize_follows_the_model_unless_asked(paraphrase_l3, minilm_int8):
    """paraphrase-MiniLM-L3-v2's dfembed.json says normalize: false (its sentence-transformers
    pipeline has no Normalize step); all-MiniLM-L6-v2's says true."""
    texts = ["A cat sits on the mat.", "Taxes rose."]
    raw = _embed(paraphrase_l3, texts)
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1.0)
    np.testing.assert_array_equal(raw, _embed(paraphrase_l3, texts, normalize=False))
    unit = _embed(paraphrase_l3, texts, normalize=True)
    np.testing.assert_allclose(unit, raw / np.linalg.norm(raw, axis=1, keepdims=True), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(_embed(minilm_int8, texts), axis=1), 1.0, atol=1e-5)
    with pytest.raises(TypeError, match="normalize"):
        _embed(minilm_int8, texts, normalize="false")
