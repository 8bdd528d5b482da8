"""Late interaction (ColBERT processing) on real all-MiniLM-L6-v2 token vectors, and MaxSim.

No ColBERT weights install offline, so the ColBERT pre/post-processing runs on the real
MiniLM int8 graph (same BERT vocabulary, so ``[unused0]``, ``[unused1]`` and ``[MASK]`` exist).
It is checked three ways: against hand-built token ids run directly with onnxruntime,
against fastembed's ColBERT implementation on the same ONNX file, and end to end (a relevant
document outranks unrelated ones under MaxSim).
"""

from __future__ import annotations

import json
import string
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
from tokenizers import Tokenizer

import dfembed
from dfembed import InputError, ModelLoadError, scoring
from dfembed.models.registry import lookup
from tests.tiny_models import share_file

LINKED = ("model.onnx", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def late_interaction_folder(src: str | Path, dst: Path, **descriptor) -> str:
    """A model folder using ``src``'s files, described as a 384-dim late-interaction model."""
    dst.mkdir(parents=True, exist_ok=True)
    for name in LINKED:
        if not (dst / name).exists():
            share_file(Path(src) / name, dst / name)
    meta = {"kind": "late_interaction", "dim": 384, "pooling": "none", "max_length": 512}
    (dst / "dfembed.json").write_text(json.dumps({**meta, **descriptor}))
    return str(dst)


def _without_token_type_ids(src: Path, dst: Path) -> None:
    """Copy an ONNX graph with ``token_type_ids`` computed inside it as zeros.

    fastembed's ColBERT inserts its marker into ``input_ids`` and ``attention_mask`` only, so
    a graph that also takes ``token_type_ids`` gets them one token short. Single-sequence
    BERT inputs have all-zero type ids, so this graph computes exactly what the original does
    with the ids dfembed feeds (checked in a test below).
    """
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(str(src))
    graph = model.graph
    kept = [i for i in graph.input if i.name != "token_type_ids"]
    del graph.input[:]
    graph.input.extend(kept)
    zeros = helper.make_tensor("zero_type", TensorProto.INT64, [1], [0])
    nodes = [
        helper.make_node("Shape", ["input_ids"], ["ids_shape_for_types"]),
        helper.make_node(
            "ConstantOfShape", ["ids_shape_for_types"], ["token_type_ids"], value=zeros
        ),
    ]
    for node in reversed(nodes):
        graph.node.insert(0, node)
    onnx.save(model, str(dst))


@pytest.fixture(scope="module")
def colbert_minilm(minilm_int8, tmp_path_factory) -> str:
    return late_interaction_folder(minilm_int8, tmp_path_factory.mktemp("li") / "minilm")


@pytest.fixture(scope="module")
def parity_folder(minilm_int8, tmp_path_factory) -> str:
    """The MiniLM graph without a token_type_ids input, with every file fastembed reads."""
    dst = tmp_path_factory.mktemp("li") / "parity"
    dst.mkdir()
    _without_token_type_ids(Path(minilm_int8) / "model.onnx", dst / "model.onnx")
    for name in (*LINKED[1:], "config.json"):
        share_file(Path(minilm_int8) / name, dst / name)
    return late_interaction_folder(minilm_int8, dst)


@pytest.fixture(scope="module")
def tokenizer(minilm_int8) -> Tokenizer:
    tok = Tokenizer.from_file(str(Path(minilm_int8) / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    return tok


@pytest.fixture(scope="module")
def session(minilm_int8) -> ort.InferenceSession:
    path = str(Path(minilm_int8) / "model.onnx")
    return ort.InferenceSession(path, providers=["CPUExecutionProvider"])


def _embed(texts, model: str, **kwargs) -> list[np.ndarray | None]:
    result = pd.Series(texts, dtype=object).embed.late_interaction(model=model, **kwargs)
    return [None if v is None or v is pd.NA else np.asarray(v, np.float32) for v in result]


def _reference(session, ids: list[int], attended: int, keep: list[int]) -> np.ndarray:
    """Token vectors straight from onnxruntime for hand-built ids, normalized, kept rows."""
    feed = {
        "input_ids": np.array([ids], dtype=np.int64),
        "attention_mask": np.array([[1] * attended + [0] * (len(ids) - attended)], np.int64),
        "token_type_ids": np.zeros((1, len(ids)), dtype=np.int64),
    }
    hidden = session.run(["last_hidden_state"], feed)[0][0][keep]
    return hidden / np.linalg.norm(hidden, axis=1, keepdims=True)


QUERIES = [
    "Where is the Eiffel Tower?",
    "How do plants turn sunlight into energy?",
    "When did the Great Depression begin?",
    "Which animal is the largest mammal on Earth?",
]
DOCS = [
    "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France.",
    "Photosynthesis lets plants convert light energy from the sun into chemical energy.",
    "The Great Depression began after the stock market crash of October 1929.",
    "The blue whale is the largest animal known to have lived, a marine mammal.",
    "A good sourdough needs flour, water, salt and a lively starter.",
    "Jazz originated in New Orleans in the late 19th and early 20th centuries.",
]


def test_document_marker_and_punctuation_skip_match_hand_built_ids(colbert_minilm, session):
    tok = Tokenizer.from_file(str(Path(colbert_minilm) / "tokenizer.json"))
    tok.no_padding()
    cls, sep, d_marker = (tok.token_to_id(t) for t in ("[CLS]", "[SEP]", "[unused1]"))
    assert d_marker == 2  # ColBERT's [D] is [unused1], id 2 in the BERT vocabulary
    words = [tok.token_to_id(w) for w in ("hello", ",", "world", "!")]
    ids = [cls, d_marker, *words, sep]
    expected = _reference(session, ids, len(ids), keep=[0, 1, 2, 4, 6])  # "," and "!" dropped
    # in a batch with a longer document, so padding is added and must not show up
    got = _embed(
        ["Hello, world!", "A much longer document, with more words in it."], colbert_minilm
    )
    assert got[0].shape == (5, 384)
    np.testing.assert_allclose(got[0], expected, atol=1e-5)
    # [CLS] [D] a much longer document with more words in it [SEP]: "," and "." dropped
    assert got[1].shape[0] == 12


def test_query_is_marked_mask_padded_to_32_and_masks_are_not_attended(colbert_minilm, session):
    tok = Tokenizer.from_file(str(Path(colbert_minilm) / "tokenizer.json"))
    tok.no_padding()
    q_marker, mask = tok.token_to_id("[unused0]"), tok.token_to_id("[MASK]")
    assert q_marker == 1  # ColBERT's [Q]
    ids = tok.encode(QUERIES[0]).ids
    ids = [ids[0], q_marker, *ids[1:]]
    n = len(ids)
    padded = ids + [mask] * (32 - n)
    expected = _reference(session, padded, attended=n, keep=list(range(32)))
    (got,) = _embed([QUERIES[0]], colbert_minilm, query=True)
    assert got.shape == (32, 384)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # the [MASK] expansion vectors are real outputs, not copies of one padding vector
    assert np.abs(got[n:] - got[n]).max() > 1e-3


def test_long_queries_are_truncated_to_the_query_length_unless_max_length_says(colbert_minilm):
    long_query = " ".join(["semantic search over dataframes with late interaction"] * 10)
    (default,) = _embed([long_query], colbert_minilm, query=True)
    (longer,) = _embed([long_query], colbert_minilm, query=True, max_length=48)
    assert default.shape == (32, 384)
    assert longer.shape == (48, 384)
    (doc,) = _embed([long_query], colbert_minilm, max_length=20)
    assert doc.shape == (20, 384)  # 18 words + [CLS] + [D] ... [SEP]: no punctuation here


@pytest.mark.parametrize("max_length", [8, 48])
def test_max_length_is_the_query_length_short_queries_are_padded_to(
    colbert_minilm, session, max_length
):
    """As ColBERT's ``query_maxlen``: truncation and [MASK] padding both follow it."""
    tok = Tokenizer.from_file(str(Path(colbert_minilm) / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length - 1)  # one slot for the [Q] marker
    ids = tok.encode(QUERIES[1]).ids  # 10 tokens: padded to 48, truncated to 8
    ids = [ids[0], tok.token_to_id("[unused0]"), *ids[1:]]
    n = len(ids)
    padded = ids + [tok.token_to_id("[MASK]")] * (max_length - n)
    expected = _reference(session, padded, attended=n, keep=list(range(max_length)))
    (got,) = _embed([QUERIES[1]], colbert_minilm, query=True, max_length=max_length)
    assert got.shape == (max_length, 384)
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_vectors_are_unit_norm_and_batching_does_not_change_them(colbert_minilm):
    texts = [*DOCS, DOCS[0], None, ""]
    default = _embed(texts, colbert_minilm)
    one_by_one = _embed(texts, colbert_minilm, batch_size=1, dedup=False)
    tight = _embed(texts, colbert_minilm, token_budget=40)
    assert default[7] is None
    assert default[8].shape == (3, 384)  # [CLS] [D] [SEP]
    for a, b, c in zip(default, one_by_one, tight, strict=True):
        if a is None:
            assert b is None and c is None
            continue
        np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
        np.testing.assert_allclose(a, b, atol=1e-5)
        np.testing.assert_allclose(a, c, atol=1e-5)
    np.testing.assert_array_equal(default[0], default[6])


def test_maxsim_ranks_the_relevant_document_first(colbert_minilm):
    frame = pd.DataFrame({"body": DOCS}, index=[f"doc-{i}" for i in range(len(DOCS))])
    frame["vectors"] = frame.embed.late_interaction("body", model=colbert_minilm)
    queries = pd.DataFrame({"q": QUERIES})
    q_vectors = queries.embed.late_interaction("q", model=colbert_minilm, query=True)
    for i in range(len(QUERIES)):
        scores = dfembed.maxsim(q_vectors.iloc[[i]], frame["vectors"])
        assert scores.shape == (len(DOCS),)
        assert int(np.argmax(scores)) == i, (QUERIES[i], scores)
        # per-token cosines: each of the 32 query vectors contributes at most 1
        assert scores.max() <= 32 + 1e-4


@pytest.mark.slow
def test_fastembed_colbert_gives_the_same_vectors(parity_folder, colbert_minilm):
    from fastembed import LateInteractionTextEmbedding

    fe = LateInteractionTextEmbedding(
        "colbert-ir/colbertv2.0",
        specific_model_path=parity_folder,
        providers=["CPUExecutionProvider"],
        threads=2,
    )
    docs = [*DOCS, "Punctuation!!! (lots of it); isn't it: odd?"]
    theirs = list(fe.embed(docs, batch_size=3))
    ours = _embed(docs, parity_folder)
    same_graph = _embed(docs, colbert_minilm)  # the original graph, fed token_type_ids
    for a, b, c in zip(ours, theirs, same_graph, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=1e-4)
        np.testing.assert_allclose(a, c, atol=1e-5)
    ours_q = _embed(QUERIES, parity_folder, query=True)
    for query, mine in zip(QUERIES, ours_q, strict=True):
        (theirs_q,) = fe.query_embed(query)
        # fastembed relies on ColBERT graphs that normalize inside; this graph does not
        theirs_q = theirs_q / np.linalg.norm(theirs_q, axis=1, keepdims=True)
        assert mine.shape == theirs_q.shape == (32, 384)
        np.testing.assert_allclose(mine, theirs_q, atol=1e-4)


@pytest.mark.slow
def test_model_descriptors_choose_markers_and_expansion_attention(minilm_int8, tmp_path, session):
    attend = late_interaction_folder(
        minilm_int8,
        tmp_path / "attend",
        query_marker="[unused5]",
        document_marker="[unused6]",
        attend_expansion=True,
    )
    tok = Tokenizer.from_file(str(Path(minilm_int8) / "tokenizer.json"))
    tok.no_padding()
    ids = tok.encode(QUERIES[1]).ids
    ids = [ids[0], tok.token_to_id("[unused5]"), *ids[1:]]
    padded = ids + [tok.token_to_id("[MASK]")] * (32 - len(ids))
    expected = _reference(session, padded, attended=32, keep=list(range(32)))
    (got,) = _embed([QUERIES[1]], attend, query=True)
    np.testing.assert_allclose(got, expected, atol=1e-5)

    bad = late_interaction_folder(minilm_int8, tmp_path / "bad", query_marker="[NOT-A-TOKEN]")
    with pytest.raises(ModelLoadError, match="query_marker"):
        _embed(["text"], bad)
    wrong_dim = late_interaction_folder(minilm_int8, tmp_path / "dim", dim=128)
    with pytest.raises(ModelLoadError, match="dim"):
        _embed(["text"], wrong_dim)


def test_registry_knows_the_published_colbert_models():
    colbert = lookup("colbert-ir/colbertv2.0")
    assert (colbert.kind, colbert.dim, colbert.onnx_file) == ("late_interaction", 128, "model.onnx")
    small = lookup("answerdotai/answerai-colbert-small-v1")
    assert (small.dim, small.onnx_file) == (96, "vespa_colbert.onnx")
    jina = lookup("jinaai/jina-colbert-v2")
    assert jina.query_marker == "[QueryMarker]" and jina.attend_expansion
    assert "onnx/model.onnx_data" in jina.files()
    table = dfembed.list_models(kind="late_interaction")
    assert set(table["name"]) >= {"colbertv2.0", "answerai-colbert-small-v1", "jina-colbert-v2"}


# --------------------------------------------------------------------------- maxsim


def _column(mats: list[np.ndarray | None], dim: int) -> pd.Series:
    from dfembed import columns

    valid = np.array([m is not None for m in mats])
    return columns.multivector(
        [m for m in mats if m is not None], valid, pd.RangeIndex(len(mats)), "v", dim
    )


def _brute(query: np.ndarray, mats) -> np.ndarray:
    return np.array(
        [np.nan if m is None or len(m) == 0 else (m @ query.T).max(axis=0).sum() for m in mats],
        dtype=np.float32,
    )


@pytest.mark.parametrize("chunk", [1, 7, 1 << 18])
def test_maxsim_equals_brute_force(monkeypatch, chunk):
    monkeypatch.setattr(scoring, "_TOKENS_PER_CHUNK", chunk)
    rng = np.random.default_rng(chunk)
    dim = 6
    mats = [rng.normal(size=(rng.integers(1, 9), dim)).astype(np.float32) for _ in range(25)]
    mats[3] = None
    mats[10] = None
    mats[11] = np.zeros((0, dim), np.float32)
    query = rng.normal(size=(4, dim)).astype(np.float32)
    expected = _brute(query, mats)
    column = _column(mats, dim)
    np.testing.assert_allclose(dfembed.maxsim(query, column), expected, rtol=1e-5)
    # a zero-copy slice of the column (its Arrow offsets do not start at 0)
    np.testing.assert_allclose(dfembed.maxsim(query, column[5:]), expected[5:], rtol=1e-5)
    # several Arrow chunks (what pd.concat of partitions gives)
    chunked = pd.concat([column[:9], column[9:]])
    assert chunked.array._pa_array.num_chunks == 2
    np.testing.assert_allclose(dfembed.maxsim(query, chunked), expected, rtol=1e-5)
    # a query given as a one-row column, itself a slice of a longer one
    queries = _column([rng.normal(size=(3, dim)).astype(np.float32), query], dim)
    np.testing.assert_allclose(dfembed.maxsim(queries[1:], column), expected, rtol=1e-5)
    # plain object cells (lists of arrays, None) work too
    objects = pd.Series(mats, dtype=object)
    np.testing.assert_allclose(dfembed.maxsim(query, objects), expected, rtol=1e-5)
    assert np.isnan(expected[[3, 10, 11]]).all()


def test_maxsim_rejects_what_it_cannot_score():
    column = _column([np.ones((2, 4), np.float32)], 4)
    with pytest.raises(InputError, match="one query"):
        dfembed.maxsim(_column([np.ones((2, 4))] * 2, 4), column)
    with pytest.raises(InputError, match="same model"):
        dfembed.maxsim(np.ones((2, 3), np.float32), column)
    with pytest.raises(InputError, match="matrix"):
        dfembed.maxsim(np.ones(4, np.float32), column)
    with pytest.raises(InputError, match="null"):
        dfembed.maxsim(_column([None], 4), column)


def test_punctuation_characters_are_each_one_token(tokenizer):
    # the skip list takes each character's first token: in BERT's vocabulary each is whole
    for symbol in string.punctuation:
        assert len(tokenizer.encode(symbol, add_special_tokens=False).ids) == 1
