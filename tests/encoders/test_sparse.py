"""Sparse text vectors: SPLADE on real SPLADE-tiny weights, BM25, and both against fastembed.

fastembed 0.9.1 is the side-by-side reference: its ``SparseTextEmbedding`` runs the same
SPLADE-tiny ONNX file (``specific_model_path``), and its ``Qdrant/bm25`` reads the stopword
list from a folder, so both implementations see exactly the same inputs.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from tokenizers import Tokenizer

import dfembed
from dfembed import ModelLoadError, ModelSpec
from dfembed.encoders.sparse import SparseOptions, bm25_weights, term_id, words
from dfembed.models.file_names import PACKAGED_DATA
from dfembed.models.registry import list_models, lookup
from dfembed.models.resolve import resolve
from tools.datasets import news_articles, rotten_tomatoes, sms_spam

VOCAB = 30522
PAIRS = [
    ("The stock market crashed today", "Stock prices fell sharply as the market panicked"),
    ("A recipe for chocolate cake with butter", "Bake the cake with chocolate and sugar"),
    ("The football team won the championship game", "Our team scored late to win the game"),
    ("Heavy rain and storms are expected this weekend", "The weather forecast warns of rain"),
]
# Texts where word splitting, stopwords and stemming have something to get wrong.
TRICKY = [
    "",
    "   ",
    "?!...",
    "The cats are running quickly, aren't they? Yes!",
    "snake_case and __dunder__ names; a lone _ too",
    "Café, naïve résumé: ÜBER-cool façade — 東京 2024!",
    "İstanbul's ﬁnest ﬂoors",
    "x" * 41 + " kept " + "y" * 40,
    "e-mail me@example.com at 10:30, ok?",
]


def _sparse(texts, model, **kwargs) -> pd.Series:
    return pd.Series(texts, dtype=object).embed.sparse(model=model, **kwargs)


def _rows(series: pd.Series) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(np.asarray(r["indices"]), np.asarray(r["values"])) for r in series]


def _assert_same(ours, reference, rtol=1e-6, atol=0.0) -> None:
    """Rows equal as sparse vectors: same indices (reference sorted) and close values."""
    assert len(ours) == len(reference)
    for row, ((idx, val), ref) in enumerate(zip(ours, reference, strict=True)):
        order = np.argsort(ref.indices)
        np.testing.assert_array_equal(idx, ref.indices[order], err_msg=f"row {row}")
        np.testing.assert_allclose(
            val, ref.values[order], rtol=rtol, atol=atol, err_msg=f"row {row}"
        )


@pytest.fixture(scope="module")
def rt_texts() -> list[str]:
    """Rotten Tomatoes review snippets (one or two sentences), then the longer plot texts."""
    frame = rotten_tomatoes()
    plots = frame["category"] == "plot"
    return frame.loc[~plots, "text"].tolist() + frame.loc[plots, "text"].tolist()


# ------------------------------------------------------------------------------ SPLADE


def test_splade_top_terms_are_the_sentence_topic(splade_tiny):
    out = _sparse(["The stock market crashed today"], splade_tiny)
    assert out.dtype == dfembed.columns.sparse_type()  # int32 indices, float32 values
    ((idx, val),) = _rows(out)
    assert np.all(np.diff(idx) > 0), "indices must be strictly ascending"
    assert np.all(val > 0) and 10 < len(idx) < 100
    tokenizer = Tokenizer.from_file(f"{splade_tiny}/tokenizer.json")
    top = [tokenizer.id_to_token(int(i)) for i in idx[np.argsort(-val)[:8]]]
    assert {"stock", "market"} <= set(top), top
    assert {"crash", "crashed"} & set(top), top


def test_splade_paraphrases_score_higher_than_unrelated(splade_tiny):
    a = dfembed.to_scipy(_sparse([p for p, _ in PAIRS], splade_tiny), VOCAB)
    b = dfembed.to_scipy(_sparse([q for _, q in PAIRS], splade_tiny), VOCAB)
    scores = (a @ b.T).toarray()
    for i, row in enumerate(scores):
        assert row[i] > 2 * np.delete(row, i).max(), scores


@pytest.mark.slow
def test_splade_matches_fastembed_on_the_same_onnx(splade_tiny, rt_texts):
    from fastembed import SparseTextEmbedding

    short = rt_texts[:40] + [t for pair in PAIRS for t in pair] + TRICKY
    # plot summaries, and a news article well over 512 tokens (both truncate at 512)
    long = [*rt_texts[-2:], news_articles()["text"].iloc[0]]
    ours = _rows(_sparse([*short, *long], splade_tiny))
    ref = SparseTextEmbedding(
        "prithivida/Splade_PP_en_v1",
        specific_model_path=splade_tiny,
        providers=["CPUExecutionProvider"],
        threads=2,
    )
    # fastembed pads each batch to its longest text: one long text per batch bounds its memory
    expected = list(ref.embed(short, batch_size=8)) + list(ref.embed(long, batch_size=1))
    _assert_same(ours, expected, rtol=0, atol=1e-4)


def test_splade_max_length_truncates(splade_tiny):
    # "[CLS] the stock market [SEP]": five tokens keep the first three words only
    text = "The stock market crashed today"
    (cut,) = _rows(_sparse([text], splade_tiny, max_length=5))
    short, full = _rows(_sparse(["The stock market", text], splade_tiny))
    np.testing.assert_array_equal(cut[0], short[0])
    np.testing.assert_allclose(cut[1], short[1], atol=1e-6)
    assert not np.array_equal(cut[0], full[0])


def test_splade_batching_and_dedup_do_not_change_vectors(splade_tiny, rt_texts):
    texts = rt_texts[:30] + rt_texts[:5]  # repeats, for dedup
    base = _rows(_sparse(texts, splade_tiny))
    for kwargs in ({"batch_size": 1, "dedup": False}, {"token_budget": 64}, {"batch_size": 7}):
        other = _rows(_sparse(texts, splade_tiny, **kwargs))
        for (i0, v0), (i1, v1) in zip(base, other, strict=True):
            np.testing.assert_array_equal(i0, i1)
            np.testing.assert_allclose(v0, v1, atol=1e-5)


def test_dense_model_as_splade_fails_clearly(minilm_int8, tmp_path):
    folder = tmp_path / "dense"
    shutil.copytree(minilm_int8, folder)
    meta = json.loads((folder / "dfembed.json").read_text())
    (folder / "dfembed.json").write_text(json.dumps({**meta, "kind": "sparse", "pooling": ""}))
    with pytest.raises(ModelLoadError, match="not a SPLADE"):
        _sparse(["hello"], str(folder))


# ------------------------------------------------------------------------------ BM25


def _fastembed_bm25(folder, **kwargs):
    from fastembed import SparseTextEmbedding

    return SparseTextEmbedding("Qdrant/bm25", specific_model_path=str(folder), **kwargs)


@pytest.fixture(scope="module")
def bm25_texts(rt_texts) -> list[str]:
    return rt_texts[:1500] + sms_spam()["text"].tolist()[:500] + TRICKY


def test_bm25_documents_match_fastembed(bm25_texts):
    ours = _rows(_sparse(bm25_texts, "Qdrant/bm25"))
    expected = list(_fastembed_bm25(PACKAGED_DATA).embed(bm25_texts))
    _assert_same(ours, expected)


def test_bm25_queries_match_fastembed(bm25_texts):
    texts = bm25_texts[:300] + TRICKY
    ours = _rows(_sparse(texts, "Qdrant/bm25", query=True))
    expected = list(_fastembed_bm25(PACKAGED_DATA).query_embed(texts))
    _assert_same(ours, expected)
    assert all(np.all(v == 1) for _, v in ours)


def test_bm25_parameters_and_folder_stopwords_match_fastembed(bm25_texts, tmp_path):
    # a model folder's own <language>.txt replaces the packaged list
    (tmp_path / "english.txt").write_text("the\nmovie\nfilm\n")
    descriptor = {"kind": "sparse", "pooling": "bm25", "onnx_file": "", "language": "english"}
    (tmp_path / "dfembed.json").write_text(json.dumps(descriptor))
    texts = bm25_texts[:400]
    ours = _rows(_sparse(texts, str(tmp_path), k1=0.9, b=0.4, avg_len=12.0))
    expected = list(_fastembed_bm25(tmp_path, k=0.9, b=0.4, avg_len=12.0).embed(texts))
    _assert_same(ours, expected)
    ((idx, _),) = _rows(_sparse(["The film, the movie"], str(tmp_path)))
    assert idx.tolist() == []
    ((idx, _),) = _rows(_sparse(["The film, the movie"], "Qdrant/bm25"))
    assert idx.tolist() == sorted([term_id("film"), term_id("movi")])


def test_bm25_weights_by_hand():
    ids = np.array([term_id("cat"), term_id("cat"), term_id("dog")])
    idx, val = bm25_weights(ids, SparseOptions())
    norm = 1.2 * (1 - 0.75 + 0.75 * 3 / 256)
    expected = {term_id("cat"): 2 * 2.2 / (2 + norm), term_id("dog"): 2.2 / (1 + norm)}
    assert idx.tolist() == sorted(expected)
    np.testing.assert_allclose(val, [expected[i] for i in idx], rtol=1e-6)
    q_idx, q_val = bm25_weights(ids, SparseOptions(query=True))
    assert q_idx.tolist() == idx.tolist() and q_val.tolist() == [1.0, 1.0]
    assert words("Don't STOP-me_now!") == ["don", "t", "stop", "me_now"]


def test_bm25_is_batch_and_dedup_invariant(rt_texts):
    texts = rt_texts[:200] * 2
    base = _rows(_sparse(texts, "Qdrant/bm25"))
    for kwargs in ({"batch_size": 1, "dedup": False}, {"token_budget": 16}):
        other = _rows(_sparse(texts, "Qdrant/bm25", **kwargs))
        for (i0, v0), (i1, v1) in zip(base, other, strict=True):
            np.testing.assert_array_equal(i0, i1)
            np.testing.assert_array_equal(v0, v1)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"k1": -1}, ValueError, "k1"),
        ({"b": 1.5}, ValueError, "b must"),
        ({"avg_len": 0}, ValueError, "avg_len"),
        ({"k1": None}, TypeError, "k1 must be a number"),
        ({"b": "0.5"}, TypeError, "b must be a number"),
    ],
)
def test_bad_bm25_parameters_raise(kwargs, error, match):
    with pytest.raises(error, match=match):
        _sparse(["text"], "Qdrant/bm25", **kwargs)


# ------------------------------------------------------------------------------ registry


def test_registry_has_sparse_models_and_bm25_resolves_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    splade = lookup("prithivida/Splade_PP_en_v1")
    assert splade is lookup("Qdrant/Splade_PP_en_v1")
    assert (splade.kind, splade.pooling, splade.dim) == ("sparse", "splade", VOCAB)
    names = set(list_models(kind="sparse")["name"])
    assert {"prithivida/Splade_PP_en_v1", "Qdrant/bm25"} <= names
    model = resolve(ModelSpec("Qdrant/bm25", kind="sparse"))
    assert model.folder == PACKAGED_DATA and model.info.language == "english"
    words_ = (PACKAGED_DATA / "english.txt").read_text().splitlines()
    assert len(words_) == 179 and {"the", "and", "wouldn't"} <= set(words_)
    with pytest.raises(ModelLoadError, match="of kind 'sparse'"):
        pd.Series(["x"]).embed.text(model="Qdrant/bm25")


# ------------------------------------------------------------------------------ columns


def test_to_scipy_keeps_index_nulls_and_values(splade_tiny):
    s = pd.Series(
        ["Stocks fell.", None, "Rain today.", np.nan, "Stocks fell."], index=list("vwxyz")
    )
    for model in (splade_tiny, "Qdrant/bm25"):
        out = s.embed.sparse(model=model, name="sv")
        assert out.index.equals(s.index) and out.name == "sv"
        assert out.isna().tolist() == [False, True, False, True, False]
        matrix = dfembed.to_scipy(out, dim=2**31 - 1 if model == "Qdrant/bm25" else VOCAB)
        assert matrix.shape == (5, 2**31 - 1 if model == "Qdrant/bm25" else VOCAB)
        assert matrix.getrow(1).nnz == 0 and matrix.getrow(3).nnz == 0
        for row in (0, 2, 4):
            idx, val = out.iloc[row]["indices"], out.iloc[row]["values"]
            got = matrix.getrow(row)
            np.testing.assert_array_equal(got.indices, idx)
            np.testing.assert_array_equal(got.data, val)
        assert dfembed.to_scipy(out).shape[1] == matrix.indices.max() + 1
