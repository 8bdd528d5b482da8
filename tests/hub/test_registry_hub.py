"""Every registry row against published reference values, on the real hub (``pytest -m hub``).

Not run in CI (no network there): with network access, ``pytest -m hub tests/hub`` downloads
each registry model (several GB in all) and checks

* that its files resolve and its vectors are as wide as the row says;
* that the prompts of its card's ``config_sentence_transformers.json`` are the row's;
* its vectors against fastembed's published canonical values (the first five values of
  "hello world", from fastembed's tests/test_text_onnx_embeddings.py, and rerank scores from
  tests/test_text_cross_encoder.py), within fastembed's own tolerance of 1e-3;
* where fastembed publishes none, against sentence-transformers run on the card's own torch
  weights (cosine >= 0.999, queries with their prompt too).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import dfembed
from dfembed import ModelSpec
from dfembed.models.hub import download
from dfembed.models.info import PROMPTS_FILE
from dfembed.models.prompts import prompt_fields
from dfembed.models.registry import list_models, lookup
from dfembed.models.resolve import resolve

pytestmark = pytest.mark.hub

DOCS = ["hello world", "flag embedding"]
#: fastembed's canonical vectors (first five values of DOCS[0]) and whether fastembed
#: normalizes that model's vectors (it leaves mean-pooled e5 / mpnet / nomic ones raw).
CANONICAL = {
    "bge-small-en-v1.5": ([0.01522374, -0.02271799, 0.00860278, -0.07424029, 0.00386434], True),
    "bge-base-en-v1.5": ([0.01129394, 0.05493144, 0.02615099, 0.00328772, 0.02996045], True),
    "bge-large-en-v1.5": ([0.03434538, 0.03316108, 0.02191251, -0.03713358, -0.01577825], True),
    "all-MiniLM-L6-v2": ([-0.034478, 0.03102, 0.00673, 0.02611, -0.039362], True),
    "paraphrase-multilingual-MiniLM-L12-v2": ([0.0361, 0.1862, 0.2776, 0.2461, -0.1904], False),
    "multilingual-e5-large": ([0.4544, -0.0968, 0.1054, -1.3753, 0.1500], False),
    "paraphrase-multilingual-mpnet-base-v2": ([0.0047, 0.1334, -0.0102, 0.0714, 0.1930], False),
    "jina-embeddings-v2-small-en": ([-0.0455, -0.0428, -0.0122, 0.0613, 0.0015], True),
    "jina-embeddings-v2-base-en": ([-0.0332, -0.0509, 0.0287, -0.0043, -0.0077], True),
    "nomic-embed-text-v1.5": ([-0.15407836, -0.03053198, -3.9138033, 0.1910364, 0.13224715], False),
    "gte-large": ([-0.00986551, -0.00018734, 0.00605892, -0.03289612, -0.0387564], True),
    "gte-base": ([0.0038, 0.0355, 0.0181, 0.0092, 0.0654], True),
    "mxbai-embed-large-v1": ([0.02295546, 0.03196154, 0.016512, -0.04031524, -0.0219634], True),
    "snowflake-arctic-embed-xs": ([0.0092, 0.0619, 0.0196, 0.009, -0.0114], True),
    "snowflake-arctic-embed-s": ([-0.0416, -0.0867, 0.0209, 0.0554, -0.0272], True),
    "snowflake-arctic-embed-m": ([-0.0329, 0.0364, 0.0481, 0.0016, 0.0328], True),
    "snowflake-arctic-embed-l": ([0.0189, -0.0673, 0.0183, 0.0124, 0.0146], True),
    "clip-ViT-B-32-text": ([0.0083, 0.0103, -0.0138, 0.0199, -0.0069], False),
}
RERANK_QUERY = "What is the capital of France?"
RERANK_DOCS = ["Paris is the capital of France.", "Berlin is the capital of Germany."]
CANONICAL_SCORES = {
    "ms-marco-MiniLM-L-6-v2": [8.500708, -2.541011],
    "ms-marco-MiniLM-L-12-v2": [9.330912, -2.0380247],
    "bge-reranker-base": [6.15733337, -3.65939403],
    "jina-reranker-v1-tiny-en": [2.5911, 0.1122],
    "jina-reranker-v2-base-multilingual": [1.6533, -1.6455],
}
TEXT_ROWS = list(list_models(kind="text")["name"])


def _card(name: str) -> str | None:
    """The repository of the row's model card, as its ``source`` names it."""
    found = re.search(r"card (\S+/\S+?)[ ;,)]", lookup(name).source + " ")
    return found.group(1) if found else None


def _embed(name: str, texts, **options) -> np.ndarray:
    return dfembed.to_numpy(pd.Series(texts).embed.text(model=name, **options))


@pytest.mark.parametrize("name", sorted(n for n in list_models()["name"] if lookup(n).repo))
def test_row_resolves_and_has_its_width(name):
    info = lookup(name)
    resolved = resolve(ModelSpec(name, kind=info.kind)).info
    assert resolved.dim == info.dim


@pytest.mark.parametrize("name", TEXT_ROWS)
def test_row_prompts_are_its_cards(name):
    card = _card(name)
    if card is None:
        pytest.skip(f"{name}'s source names no model card repository")
    folder = download(card, None, ModelSpec(card), [PROMPTS_FILE])
    path = folder / PROMPTS_FILE
    if not path.exists():
        pytest.skip(f"{card} has no {PROMPTS_FILE}")
    import json

    config = json.loads(path.read_text())
    if not config.get("prompts"):
        pytest.skip(f"{card}'s {PROMPTS_FILE} names no prompts (the row's are its README's)")
    said = prompt_fields(config, path)
    info = lookup(name)
    assert (info.query_prefix, info.document_prefix) == (
        said["query_prefix"], said["document_prefix"],
    ), card  # fmt: skip


@pytest.mark.parametrize("name", sorted(CANONICAL))
def test_row_gives_fastembeds_canonical_vector(name):
    values, normalized = CANONICAL[name]
    vectors = _embed(name, DOCS, normalize=normalized)
    assert vectors.shape == (2, lookup(name).dim)
    np.testing.assert_allclose(vectors[0, :5], values, atol=1e-3)


@pytest.mark.parametrize("name", sorted(set(TEXT_ROWS) - set(CANONICAL)))
def test_row_gives_sentence_transformers_vectors(name):
    sentence_transformers = pytest.importorskip("sentence_transformers")
    card = _card(name)
    if card is None:
        pytest.skip(f"{name}'s source names no model card repository")
    reference = sentence_transformers.SentenceTransformer(
        card, device="cpu", trust_remote_code=True
    )
    for query in (False, True):
        encode = reference.encode_query if query else reference.encode_document
        expected = encode(DOCS, normalize_embeddings=True, convert_to_numpy=True)
        ours = _embed(name, DOCS, query=query, normalize=True)
        cosine = (ours * expected).sum(axis=1)
        assert cosine.min() >= 0.999, (name, query, cosine)


@pytest.mark.parametrize("name", sorted(CANONICAL_SCORES))
def test_reranker_gives_fastembeds_canonical_scores(name):
    frame = pd.DataFrame({"text": RERANK_DOCS})
    scores = frame.embed.rerank("text", query_text=RERANK_QUERY, model=name).to_numpy()
    np.testing.assert_allclose(scores, CANONICAL_SCORES[name], atol=1e-3)
