"""Compact token rows: tokenizing in chunks, padding a batch, pairs, long texts, markers.

The tokenizer is the tiny WordPiece one of ``tests.tiny_models``; every check compares with
what ``tokenizers`` itself gives one text at a time, padded by hand.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from dfembed.encoders import prefix_cut, tokens
from dfembed.encoders.late_interaction import QUERY_LENGTH, insert_marker
from dfembed.encoders.load import build_encoder
from dfembed.encoders.text import TextOptions
from dfembed.encoders.tokens import TextTokenizer, TokenRows, feed
from dfembed.errors import ModelLoadError
from dfembed.spec import ModelSpec
from tests.tiny_models import WORDS, build_tiny_text_model, build_tiny_tokenizer

NAMES = ["input_ids", "attention_mask", "token_type_ids"]


def _texts(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        words = rng.choice(WORDS, rng.integers(0, 12))
        out.append(" ".join(words) + rng.choice(["", ".", "!", " 42", " cat?"]))
    return out


def _padded(rows: list[list[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows padded one by one in Python: the reference for :meth:`TokenRows.pad`."""
    width = max(len(r) for r in rows)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return ids, mask


@pytest.fixture
def tokenizer_file(tmp_path):
    path = tmp_path / "tokenizer.json"
    build_tiny_tokenizer().save(str(path))
    return path


def test_pad_gathers_rows_in_any_order_and_pads_to_the_longest():
    rows = [[2, 5, 6, 3], [2, 3], [], [2, 7, 8, 9, 10, 3], [2, 11, 3]]
    token_rows = TokenRows.from_rows(rows)
    assert token_rows.type_ids is None  # no type ids given
    np.testing.assert_array_equal(token_rows.lengths, [4, 2, 0, 6, 3])
    assert token_rows.ids.dtype == np.int32 and token_rows.starts.dtype == np.int64
    for positions in ([0, 1, 2, 3, 4], [3, 0, 4], [1], [2, 2, 0], [4, 3, 2, 1, 0]):
        ids, mask, types = token_rows.pad(np.array(positions), pad_id=0)
        want_ids, want_mask = _padded([rows[i] for i in positions], 0)
        np.testing.assert_array_equal(ids, want_ids)
        np.testing.assert_array_equal(mask, want_mask)
        assert ids.dtype == mask.dtype == types.dtype == np.int64
        assert not types.any()
    ids, _, _ = token_rows.pad(np.array([1, 0]), pad_id=99)
    np.testing.assert_array_equal(ids, [[2, 3, 99, 99], [2, 5, 6, 3]])


def test_type_ids_are_kept_when_any_is_not_zero_and_concat_fills_zeros():
    plain = TokenRows.from_rows([[1, 2], [3]], [[0, 0], [0]])
    assert plain.type_ids is None
    pairs = TokenRows.from_rows([[4, 5, 6], [7, 8]], [[0, 1, 1], [0, 1]])
    np.testing.assert_array_equal(pairs.type_ids, [0, 1, 1, 0, 1])
    both = TokenRows.concat([plain, pairs])
    assert len(both) == 4
    np.testing.assert_array_equal(both.row(2), [4, 5, 6])
    np.testing.assert_array_equal(both.row_type_ids(1), [0])
    np.testing.assert_array_equal(both.row_type_ids(3), [0, 1])
    _, _, types = both.pad(np.array([2, 0, 3]), pad_id=0)
    np.testing.assert_array_equal(types, [[0, 1, 1], [0, 0, 0], [0, 1, 0]])


def test_feed_names_the_inputs_the_model_asks_for():
    token_rows = TokenRows.from_rows([[1, 2, 3], [1, 3]])
    inputs, mask = feed(token_rows, np.array([0, 1]), ["input_ids", "attention_mask"], 0)
    assert list(inputs) == ["input_ids", "attention_mask"]
    assert inputs["attention_mask"] is mask
    with pytest.raises(ModelLoadError, match="pixel_values"):
        feed(token_rows, np.array([0]), ["input_ids", "pixel_values"], 0)


def test_encode_in_chunks_matches_tokenizers_text_by_text(tokenizer_file, monkeypatch):
    monkeypatch.setattr(tokens, "CHUNK_TEXTS", 7)  # many chunks, the last one partial
    texts = _texts(60)
    tokenizer = TextTokenizer(tokenizer_file, max_length=10)
    token_rows = tokenizer.encode(texts, prefix="query ")
    reference = build_tiny_tokenizer()
    reference.enable_truncation(10)
    expected = [reference.encode("query " + t).ids for t in texts]
    assert len(token_rows) == len(texts)
    for i, ids in enumerate(expected):
        np.testing.assert_array_equal(token_rows.row(i), ids)
    assert token_rows.type_ids is None
    positions = np.array([5, 0, 59, 31])
    ids, mask, _ = token_rows.pad(positions, tokenizer.pad_id)
    want_ids, want_mask = _padded([expected[i] for i in positions], tokenizer.pad_id)
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_array_equal(mask, want_mask)


def test_pairs_keep_type_ids_of_the_second_sequence(tokenizer_file, monkeypatch):
    monkeypatch.setattr(tokens, "CHUNK_TEXTS", 4)
    texts = _texts(10, seed=1)
    queries = _texts(10, seed=2)
    tokenizer = TextTokenizer(tokenizer_file, max_length=12)
    token_rows = tokenizer.encode(texts, pairs=queries)
    reference = build_tiny_tokenizer()
    reference.enable_truncation(12)
    for i, (query, text) in enumerate(zip(queries, texts, strict=True)):
        encoding = reference.encode(query, text)
        np.testing.assert_array_equal(token_rows.row(i), encoding.ids)
        np.testing.assert_array_equal(token_rows.row_type_ids(i), encoding.type_ids)
    assert token_rows.type_ids is not None and token_rows.type_ids.any()
    inputs, _ = feed(token_rows, np.array([3, 1]), NAMES, 0)
    first = reference.encode(queries[3], texts[3])
    np.testing.assert_array_equal(inputs["token_type_ids"][0, : len(first.ids)], first.type_ids)


def test_single_texts_with_type_id_one_keep_their_type_ids(tmp_path):
    from tokenizers import processors

    tok = build_tiny_tokenizer()
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS]:1 $A:1 [SEP]:1",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    tok.save(str(tmp_path / "tokenizer.json"))
    token_rows = TextTokenizer(tmp_path / "tokenizer.json", 16).encode(["the cat", "a dog sat"])
    np.testing.assert_array_equal(token_rows.type_ids, np.ones(len(token_rows.ids)))


def test_long_text_prefix_that_does_not_fill_the_window_is_encoded_whole(tokenizer_file):
    max_length = 8
    cap = max_length * prefix_cut._CHARS_PER_TOKEN
    # the cut prefix is "cat" and spaces: 3 tokens, short of the window, so it is redone
    sparse = "cat" + " " * (cap + 10) + "dog sat on the mat and the red car"
    # long enough that the prefix alone fills the window
    dense = " ".join(["hello world"] * cap)
    # one unbroken word: cut at ``cap`` characters, no space to cut at
    unbroken = "a" * (cap * 3)
    texts = [sparse, dense, unbroken, "the cat"]
    token_rows = TextTokenizer(tokenizer_file, max_length).encode(texts)
    reference = build_tiny_tokenizer()
    reference.enable_truncation(max_length)
    for i, text in enumerate(texts):
        np.testing.assert_array_equal(token_rows.row(i), reference.encode(text).ids)
    assert token_rows.lengths[0] == max_length  # dog sat ... made it in


@pytest.fixture(scope="module")
def late_model(tmp_path_factory):
    folder = build_tiny_text_model(tmp_path_factory.mktemp("late") / "tiny")
    meta = {
        "kind": "late_interaction",
        "dim": 8,
        "pooling": "none",
        "max_length": 64,
        "query_marker": "query",
        "document_marker": "document",
    }
    (folder / "dfembed.json").write_text(json.dumps(meta))
    return str(folder)


def _marked_by_hand(encoder, text: str, query: bool) -> tuple[list[int], int, list[bool] | None]:
    """One text's marked ids, attended length and kept flags, built row by row."""
    reference = build_tiny_tokenizer()
    reference.enable_truncation((QUERY_LENGTH if query else 64) - 1)
    ids = reference.encode(text).ids
    marker = encoder.query_marker_id if query else encoder.document_marker_id
    ids = [ids[0], marker, *ids[1:]]
    if not query:
        skip = set(encoder.skip_ids.tolist())
        return ids, len(ids), [i not in skip for i in ids]
    attended = len(ids)
    ids = ids + [encoder.mask_id] * (QUERY_LENGTH - len(ids))
    return ids, attended, None


@pytest.mark.parametrize("query", [True, False])
def test_late_interaction_markers_padding_attention_and_kept_vectors(late_model, query):
    encoder = build_encoder(ModelSpec(model=late_model, kind="late_interaction", threads=1))
    texts = _texts(40, seed=3) + [" ".join(["the cat sat."] * 30)]
    options = TextOptions(query=query)
    prepared = encoder.prepare(texts, options)
    marked = prepared.data
    for i, text in enumerate(texts):
        ids, attended, keep = _marked_by_hand(encoder, text, query)
        np.testing.assert_array_equal(marked.tokens.row(i), ids)
        assert prepared.lengths[i] == len(ids)
        assert marked.attended[i] == attended
        if keep is None:
            assert marked.kept(i) is None
        else:
            np.testing.assert_array_equal(marked.kept(i), keep)
    positions = np.array([40, 3, 0, 17])
    seen = {}
    encoder.run_model = lambda inputs, output=None: (
        seen.update(inputs) or np.ones((*inputs["input_ids"].shape, 8), dtype=np.float32)
    )
    vectors = encoder.run(prepared, positions, options)
    for r, i in enumerate(positions):
        n = int(marked.attended[i])
        assert seen["attention_mask"][r, :n].all() and not seen["attention_mask"][r, n:].any()
        kept = marked.kept(i)
        assert len(vectors[r]) == (prepared.lengths[i] if kept is None else kept.sum())


def test_insert_marker_handles_rows_of_one_token_and_type_ids():
    rows = TokenRows.from_rows([[2, 5, 3], [2]], [[0, 1, 1], [1]])
    marked, lengths = insert_marker(rows, marker=9, pad_to=5, pad_id=4)
    np.testing.assert_array_equal(marked.row(0), [2, 9, 5, 3, 4])
    np.testing.assert_array_equal(marked.row(1), [2, 9, 4, 4, 4])
    np.testing.assert_array_equal(marked.row_type_ids(0), [0, 0, 1, 1, 0])
    np.testing.assert_array_equal(marked.row_type_ids(1), [1, 0, 0, 0, 0])
    np.testing.assert_array_equal(lengths, [4, 2])
