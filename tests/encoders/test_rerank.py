"""Cross-encoder reranking, on a small cross-encoder built in the test.

No reranker weights install offline, so this checks plumbing, not relevance: a tiny random
``BertForSequenceClassification`` (one label, the shape of the MS MARCO rerankers) is exported
to ONNX with torch and paired with the real all-MiniLM-L6-v2 tokenizer. dfembed's scores are
compared with fastembed's ``TextCrossEncoder`` and with onnxruntime run directly on the same
file; row alignment, per-row queries, missing values, truncation, the sigmoid and batching are
checked on top.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
from tokenizers import Tokenizer

from dfembed.encoders.rerank import relevance, sigmoid
from dfembed.errors import InputError, ModelLoadError
from dfembed.models.registry import lookup

#: Bump when the exported model changes, so a cached copy is not reused.
BUILD = "cross-encoder-v1"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")

_EXPORT = r"""
import sys
import torch
from transformers import BertConfig, BertForSequenceClassification

torch.manual_seed(0)
config = BertConfig(
    vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
    intermediate_size=64, max_position_embeddings=512, num_labels=1, initializer_range=0.3,
)
config._attn_implementation = "eager"
model = BertForSequenceClassification(config).eval()


class Logits(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, input_ids, attention_mask, token_type_ids):
        out = self.inner(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        )
        return out.logits


ids = torch.randint(1000, 2000, (2, 9))
mask = torch.ones(2, 9, dtype=torch.int64)
mask[0, 6:] = 0  # a padded row, so no all-ones shortcut is traced in
types = torch.zeros(2, 9, dtype=torch.int64)
types[:, 4:] = 1
names = ["input_ids", "attention_mask", "token_type_ids"]
axes = {n: {0: "batch", 1: "sequence"} for n in names}
axes["logits"] = {0: "batch"}
with torch.no_grad():
    torch.onnx.export(
        Logits(model), (ids, mask, types), sys.argv[1], input_names=names,
        output_names=["logits"], dynamic_axes=axes, opset_version=17, dynamo=False,
    )
"""


def cross_encoder_folder(tokenizer_dir: str | Path) -> str:
    """A reranker folder (``onnx/model.onnx`` + MiniLM tokenizer), built once and cached."""
    root = Path(tempfile.gettempdir()) / "dfembed-tests"
    folder = root / BUILD
    if (folder / "dfembed.json").exists():
        return str(folder)
    root.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(dir=root))
    (build / "onnx").mkdir()
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    cmd = [sys.executable, "-c", _EXPORT, str(build / "onnx" / "model.onnx")]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        shutil.rmtree(build, ignore_errors=True)
        raise RuntimeError(f"exporting the test cross-encoder failed:\n{proc.stderr[-3000:]}")
    for name in TOKENIZER_FILES:
        shutil.copy(Path(tokenizer_dir) / name, build / name)
    descriptor = {"kind": "rerank", "onnx_file": "onnx/model.onnx", "max_length": 512}
    (build / "dfembed.json").write_text(json.dumps(descriptor))
    try:
        build.rename(folder)
    except OSError:  # another process finished first: use its copy
        shutil.rmtree(build, ignore_errors=True)
    return str(folder)


@pytest.fixture(scope="module")
def reranker(minilm_int8) -> str:
    return cross_encoder_folder(minilm_int8)


@pytest.fixture(scope="module")
def direct(reranker):
    """Scores computed straight with tokenizers + onnxruntime, one pair at a time."""
    session = ort.InferenceSession(
        str(Path(reranker) / "onnx" / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    tok = Tokenizer.from_file(str(Path(reranker) / "tokenizer.json"))
    tok.no_padding()

    def score(query: str, text: str, max_length: int = 512) -> float:
        tok.enable_truncation(max_length)  # longest_first, as the tokenizer file says
        enc = tok.encode(query, text)
        feed = {
            "input_ids": np.array([enc.ids], np.int64),
            "attention_mask": np.array([enc.attention_mask], np.int64),
            "token_type_ids": np.array([enc.type_ids], np.int64),
        }
        return float(session.run(["logits"], feed)[0][0, 0])

    return score


QUERY = "how do cats purr"
TEXTS = [
    "Cats purr by vibrating the muscles of the larynx while breathing.",
    "Stock markets fell sharply on Monday after the rate decision.",
    "A purring cat is usually content, though cats also purr when hurt.",
    "The recipe needs two cups of flour and a pinch of salt.",
    "",
]


def test_scores_equal_onnxruntime_run_directly_and_align_to_rows(reranker, direct):
    index = pd.Index(["e", "b", "e", "a", "c", "d", "z"])  # shuffled, with a duplicate label
    texts = [TEXTS[2], TEXTS[0], TEXTS[2], None, TEXTS[1], TEXTS[3], TEXTS[4]]
    frame = pd.DataFrame({"body": texts, "n": range(7)}, index=index)
    scores = frame.embed.rerank("body", query_text=QUERY, model=reranker)
    assert scores.dtype == np.float32 and scores.name == "score"
    assert scores.index.equals(index)
    expected = [np.nan if t is None else direct(QUERY, t) for t in texts]
    np.testing.assert_allclose(scores.to_numpy(), expected, atol=1e-5)
    assert np.isnan(scores.iloc[3])
    # random weights, but the scores are not all the same number
    assert np.nanstd(scores.to_numpy()) > 1e-2


def test_the_old_query_first_spelling_still_works_with_a_future_warning(reranker):
    frame = pd.DataFrame({"body": TEXTS[:3]})
    new = frame.embed.rerank("body", query_text=QUERY, model=reranker)
    with pytest.warns(FutureWarning, match=r"rerank\('body', query_text="):
        old = frame.embed.rerank(QUERY, "body", model=reranker)
    pd.testing.assert_series_equal(old, new)
    with pytest.warns(FutureWarning, match=r"rerank\(query_text="):  # a Series takes no column
        old_series = frame["body"].embed.rerank(QUERY, model=reranker)
    np.testing.assert_array_equal(old_series.to_numpy(), new.to_numpy())


def test_rerank_query_keyword_is_renamed_query_text_with_a_future_warning(reranker):
    """``query=`` means "these texts are queries" in the other methods, so rerank's query
    text is ``query_text=``; the last release's ``query=`` still works for one release."""
    frame = pd.DataFrame({"body": TEXTS[:3]})
    new = frame.embed.rerank("body", query_text=QUERY, model=reranker)
    with pytest.warns(FutureWarning, match=r"renamed query_text=.*query_text='"):
        old = frame.embed.rerank("body", query=QUERY, model=reranker)
    pd.testing.assert_series_equal(old, new)
    with pytest.raises(TypeError, match="both query_text= and query="):
        frame.embed.rerank("body", query_text=QUERY, query=QUERY, model=reranker)
    with pytest.raises(TypeError, match=r"query is a text, not True.*query_text="):
        frame.embed.rerank("body", query=True, model=reranker)


def test_query_column_gives_each_row_its_own_query(reranker, direct):
    frame = pd.DataFrame(
        {
            "q": ["how do cats purr", "why did stocks fall", None, "baking bread"],
            "body": [TEXTS[0], TEXTS[1], TEXTS[2], None],
        }
    )
    scores = frame.embed.rerank(column="body", query_column="q", model=reranker, name="rel")
    assert scores.name == "rel"
    expected = [direct(frame.q[0], TEXTS[0]), direct(frame.q[1], TEXTS[1]), np.nan, np.nan]
    np.testing.assert_allclose(scores.to_numpy(), expected, atol=1e-5)
    # the same text with another query is another pair: deduplication must not merge them
    same = pd.DataFrame({"q": ["cats", "stocks"], "body": [TEXTS[0], TEXTS[0]]})
    two = same.embed.rerank(column="body", query_column="q", model=reranker).to_numpy()
    np.testing.assert_allclose(two, [direct("cats", TEXTS[0]), direct("stocks", TEXTS[0])], 1e-5)


def test_fastembed_cross_encoder_gives_the_same_scores(reranker):
    from fastembed.rerank.cross_encoder import TextCrossEncoder

    fe = TextCrossEncoder(
        "Xenova/ms-marco-MiniLM-L-6-v2",
        specific_model_path=reranker,
        providers=["CPUExecutionProvider"],
        threads=2,
    )
    texts = [*TEXTS, " ".join(["a long passage about cats and their purring"] * 80)]
    theirs = np.array(list(fe.rerank(QUERY, texts, batch_size=3)), dtype=np.float32)
    ours = pd.Series(texts).embed.rerank(query_text=QUERY, model=reranker).to_numpy()
    np.testing.assert_allclose(ours, theirs, atol=1e-4)


def test_max_length_truncates_pairs(reranker, direct):
    long_text = " ".join(["cats purr when they are happy and also when they are stressed"] * 20)
    short = pd.Series([long_text]).embed.rerank(query_text=QUERY, model=reranker, max_length=24)
    full = pd.Series([long_text]).embed.rerank(query_text=QUERY, model=reranker)
    assert short.iloc[0] == pytest.approx(direct(QUERY, long_text, max_length=24), abs=1e-5)
    assert full.iloc[0] == pytest.approx(direct(QUERY, long_text), abs=1e-5)
    assert abs(short.iloc[0] - full.iloc[0]) > 1e-4


def test_sigmoid_maps_logits_monotonically_into_0_1(reranker):
    series = pd.Series(TEXTS)
    raw = series.embed.rerank(query_text=QUERY, model=reranker).to_numpy()
    prob = series.embed.rerank(query_text=QUERY, model=reranker, sigmoid=True).to_numpy()
    np.testing.assert_allclose(prob, 1 / (1 + np.exp(-raw.astype(np.float64))), atol=1e-6)
    assert ((prob > 0) & (prob < 1)).all()
    assert np.argsort(raw).tolist() == np.argsort(prob).tolist()


def test_batch_size_and_token_budget_do_not_change_scores(reranker):
    texts = [*TEXTS, *TEXTS[:3], None] * 3
    series = pd.Series(texts)
    default = series.embed.rerank(query_text=QUERY, model=reranker).to_numpy()
    single = series.embed.rerank(
        query_text=QUERY, model=reranker, batch_size=1, dedup=False
    ).to_numpy()
    tight = series.embed.rerank(query_text=QUERY, model=reranker, token_budget=64).to_numpy()
    np.testing.assert_allclose(single, default, atol=1e-5)
    np.testing.assert_allclose(tight, default, atol=1e-5)


def test_rerank_arguments_are_checked(reranker):
    frame = pd.DataFrame({"q": ["x"], "body": ["y"]})
    with pytest.raises(TypeError, match="exactly one"):
        frame.embed.rerank(column="body", model=reranker)
    with pytest.raises(TypeError, match="exactly one"):
        frame.embed.rerank("body", query_text="x", query_column="q", model=reranker)
    with pytest.raises(InputError, match="qq"):
        frame.embed.rerank(column="body", query_column="qq", model=reranker)
    with pytest.raises(InputError, match="holds a cell of type int"):
        pd.DataFrame({"body": [3]}).embed.rerank("body", query_text="x", model=reranker)


def test_relevance_reads_one_or_two_logit_heads():
    np.testing.assert_array_equal(relevance(np.array([0.5, -1.0])), [0.5, -1.0])
    np.testing.assert_array_equal(relevance(np.array([[0.5], [-1.0]])), [0.5, -1.0])
    two = np.array([[0.2, 1.7], [3.0, -1.0]])
    np.testing.assert_allclose(relevance(two), [1.5, -4.0])
    # with two classes, sigmoid of the score is the softmax probability of "relevant"
    softmax = np.exp(two) / np.exp(two).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(sigmoid(relevance(two)), softmax[:, 1])
    with pytest.raises(ModelLoadError, match="one or two logits"):
        relevance(np.zeros((2, 3)))
    extreme = sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_allclose(extreme, [0.0, 0.5, 1.0])


def test_registry_knows_the_published_rerankers():
    for repo in (
        "Xenova/ms-marco-MiniLM-L-6-v2",
        "Xenova/ms-marco-MiniLM-L-12-v2",
        "BAAI/bge-reranker-base",
        "jinaai/jina-reranker-v1-tiny-en",
    ):
        info = lookup(repo)
        assert info is not None and info.kind == "rerank", repo
        assert info.onnx_file == "onnx/model.onnx"
    assert lookup("jinaai/jina-reranker-v1-tiny-en").max_length == 8192


class _Spy:
    """A ``tokenizers.Tokenizer`` stand-in that records the longest text it is asked to encode."""

    def __init__(self, inner):
        self.inner = inner
        self.longest = 0

    def encode_batch(self, inputs, **kwargs):
        for item in inputs:
            sides = item if isinstance(item, tuple) else (item,)
            self.longest = max(self.longest, *(len(side) for side in sides))
        return self.inner.encode_batch(inputs, **kwargs)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def _pairs(seed: int, cap: int) -> list[tuple[str, str]]:
    """Pairs whose sides are short, fill the window, or run past the cut's ``cap``; and some
    of the same text twice (equal lengths: truncation breaks the tie its own way)."""
    import random

    from tests.encoders.test_prefix_cut import _texts

    rnd = random.Random(seed)
    pool = _texts(60, seed)

    def side() -> str:
        text = rnd.choice(pool)
        size = rnd.choice([0, 10, 3 * cap // 4, 2 * cap, 3 * cap])
        while len(text) < size:
            text += rnd.choice(" \n") + rnd.choice(pool)
        return text[: max(size, 1)] if size else text[:40]

    pairs = [(side(), side()) for _ in range(100)]
    return pairs + [(text, text) for _, text in pairs[:8]]  # ties: the second side wins


@pytest.mark.parametrize("chars_per_token", [2, 16])
@pytest.mark.parametrize("max_length", [16, 17])  # 13 and 14 tokens left by [CLS] [SEP] [SEP]
def test_long_pairs_give_the_tokens_of_a_full_encode(
    reranker, max_length, chars_per_token, monkeypatch
):
    """Long sides are cut before tokenizing, and the pair's tokens do not change:
    longest-first truncation of either side or both, an odd or even number of tokens left.
    (2 characters per window token makes cut sides that do not fill the window.)"""
    from dfembed.encoders import prefix_cut
    from dfembed.encoders.tokens import TextTokenizer

    monkeypatch.setattr(prefix_cut, "_CHARS_PER_TOKEN", chars_per_token)
    path = Path(reranker) / "tokenizer.json"
    pairs = _pairs(max_length * chars_per_token, max_length * chars_per_token)
    tokenizer = TextTokenizer(path, max_length)
    spy = tokenizer.tokenizer = _Spy(tokenizer.tokenizer)
    rows = tokenizer.encode([t for _, t in pairs], pairs=[q for q, _ in pairs])
    reference = Tokenizer.from_file(str(path))
    reference.no_padding()
    reference.enable_truncation(max_length)
    for i, (query, text) in enumerate(pairs):
        want = reference.encode(query, text)
        assert rows.row(i).tolist() == want.ids, (i, len(query), len(text))
        assert rows.row_type_ids(i).tolist() == want.type_ids, i
    assert spy.longest == max(len(side) for pair in pairs for side in pair)  # some redone whole


def test_a_long_document_is_cut_before_it_is_tokenized(reranker, direct):
    """A 10 MB document: 12.6 s and +1.5 GB when the pair was tokenized whole."""
    from dfembed.encoders.tokens import TextTokenizer

    path = Path(reranker) / "tokenizer.json"
    document = "Cats purr when they are content, and sometimes when hurt.\n" * 170_000
    tokenizer = TextTokenizer(path, 512)
    spy = tokenizer.tokenizer = _Spy(tokenizer.tokenizer)
    rows = tokenizer.encode([document, "short"], pairs=[QUERY, document])
    assert spy.longest < 20_000  # the prefixes, not 10 MB
    assert len(rows.row(0)) == len(rows.row(1)) == 512
    # the same tokens as a whole encode: checked on 300 KB (a whole pair is costly)
    reference = Tokenizer.from_file(str(path))
    reference.no_padding()
    reference.enable_truncation(512)
    head = document[:300_000]
    cut = tokenizer.encode([head, head[:500]], pairs=[QUERY, head])
    assert cut.row(0).tolist() == reference.encode(QUERY, head).ids
    assert cut.row(1).tolist() == reference.encode(head, head[:500]).ids
    scores = pd.Series([head]).embed.rerank(query_text=QUERY, model=reranker)
    assert scores.iloc[0] == pytest.approx(direct(QUERY, head), abs=1e-5)
