"""Prompts, last-token pooling, CLIP text towers and ``dim=`` against the reference libraries.

Each model is a small random one built with transformers (:mod:`tests.parity_models`) and
exported to ONNX in the test; dfembed runs the export, sentence-transformers or transformers
the torch weights. Equal to 1e-5: the processing paths (prompts, padding, pooling, cut,
normalization) are the references', which says nothing about any real model's quality.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import dfembed
from tests import parity_models

pytestmark = pytest.mark.slow  # importing torch and exporting: ~10 s on a busy machine

TEXTS = [
    "the cat sat on the mat",
    "a dog",
    "hello world, a good model of red cars and fast blue ones",
    "text",
    "the cat sat on the mat",
]
ATOL = 1e-5


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("parity")
    with warnings.catch_warnings():  # the exporter's tracing notes
        warnings.simplefilter("ignore")
        return {
            "bert": str(parity_models.build_bert(root / "bert")),
            "qwen3": str(parity_models.build_qwen3(root / "qwen3")),
            "clip": str(parity_models.build_clip_text(root / "clip")),
        }


def _sentence_transformer(folder: str):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(folder, device="cpu")


def _ours(folder: str, texts=TEXTS, **options) -> np.ndarray:
    return dfembed.to_numpy(pd.Series(texts).embed.text(model=folder, **options))


# -- prompts ----------------------------------------------------------------------------
def test_query_and_document_prompts_are_sentence_transformers(built):
    reference = _sentence_transformer(built["bert"])
    queries = reference.encode_query(TEXTS, convert_to_numpy=True)
    documents = reference.encode_document(TEXTS, convert_to_numpy=True)
    np.testing.assert_allclose(_ours(built["bert"], query=True), queries, atol=ATOL)
    np.testing.assert_allclose(_ours(built["bert"]), documents, atol=ATOL)
    assert not np.allclose(queries, documents, atol=1e-3)  # the prompts changed something


def test_named_and_literal_prompts_are_sentence_transformers(built):
    reference = _sentence_transformer(built["bert"])
    named = reference.encode(TEXTS, prompt_name="clustering", convert_to_numpy=True)
    literal = reference.encode(TEXTS, prompt="good: ", convert_to_numpy=True)
    np.testing.assert_allclose(_ours(built["bert"], prompt="clustering"), named, atol=ATOL)
    np.testing.assert_allclose(_ours(built["bert"], prompt="good: "), literal, atol=ATOL)
    # prompt= wins over query=True, as a prompt given to encode_query does
    np.testing.assert_allclose(
        _ours(built["bert"], prompt="clustering", query=True), named, atol=ATOL
    )


def test_a_misspelt_prompt_name_is_refused_when_called(built):
    with pytest.raises(ValueError, match="clustering"):
        pd.Series(TEXTS).embed.text(model=built["bert"], prompt="clustring")


# -- last-token pooling (decoders) ------------------------------------------------------
def test_last_token_pooling_is_sentence_transformers_left_padded(built):
    reference = _sentence_transformer(built["qwen3"])
    assert reference.tokenizer.padding_side == "left"
    documents = reference.encode_document(TEXTS, convert_to_numpy=True)
    queries = reference.encode_query(TEXTS, convert_to_numpy=True)
    np.testing.assert_allclose(_ours(built["qwen3"]), documents, atol=ATOL)
    np.testing.assert_allclose(_ours(built["qwen3"], query=True), queries, atol=ATOL)


def test_last_token_pooling_is_the_model_cards_recipe(built):
    """Qwen3-Embedding's card: left-padded batch, the last position, L2-normalized."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(built["qwen3"], padding_side="left")
    model = AutoModel.from_pretrained(built["qwen3"]).eval()
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    assert (batch["attention_mask"][:, 0] == 0).any()  # some rows really are padded
    with torch.no_grad():
        last = model(**batch).last_hidden_state[:, -1]
    expected = torch.nn.functional.normalize(last, dim=-1).numpy()
    np.testing.assert_allclose(_ours(built["qwen3"]), expected, atol=ATOL)


def test_batches_do_not_change_last_token_vectors(built):
    one_by_one = _ours(built["qwen3"], batch_size=1)
    np.testing.assert_allclose(_ours(built["qwen3"], batch_size=5), one_by_one, atol=ATOL)


def test_a_decoder_folder_reads_as_last_token_with_its_prompts(built):
    info = dfembed.models.resolve.resolve(dfembed.ModelSpec(built["qwen3"])).info
    assert info.pooling == "last" and info.dim == 32
    assert info.query_prefix == parity_models.QWEN_QUERY and info.document_prefix == ""


# -- CLIP text tower --------------------------------------------------------------------
def test_clip_text_is_transformers_projected_output(built):
    import torch
    from transformers import AutoTokenizer, CLIPTextModelWithProjection

    tokenizer = AutoTokenizer.from_pretrained(built["clip"])
    model = CLIPTextModelWithProjection.from_pretrained(built["clip"]).eval()
    long = " ".join(["cat"] * 100)  # past the 77 positions: truncated as CLIP's tokenizer does
    texts = [*TEXTS, long]
    batch = tokenizer(texts, padding=True, truncation=True, max_length=77, return_tensors="pt")
    with torch.no_grad():
        embeds = model(**batch).text_embeds
    expected = torch.nn.functional.normalize(embeds, dim=-1).numpy()
    ours = _ours(built["clip"], texts)
    assert ours.shape == (len(texts), 12)  # the projection's width, not the hidden size
    np.testing.assert_allclose(ours, expected, atol=ATOL)


def test_a_clip_text_folder_reads_its_projection_and_77_tokens(built):
    info = dfembed.models.resolve.resolve(dfembed.ModelSpec(built["clip"])).info
    assert (info.output_name, info.pooling, info.max_length, info.dim) == (
        "text_embeds", "none", 77, 12,
    )  # fmt: skip


# -- dim= (Matryoshka cut) --------------------------------------------------------------
def test_dim_is_sentence_transformers_truncate_dim(built):
    reference = _sentence_transformer(built["bert"])
    expected = reference.encode_document(
        TEXTS, truncate_dim=8, normalize_embeddings=True, convert_to_numpy=True
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the folder does not say Matryoshka
        ours = _ours(built["bert"], dim=8)
    assert ours.shape == (len(TEXTS), 8)
    np.testing.assert_allclose(ours, expected, atol=ATOL)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-6)


def test_dim_on_the_last_token_path(built):
    reference = _sentence_transformer(built["qwen3"])
    expected = reference.encode_query(
        TEXTS, truncate_dim=16, normalize_embeddings=True, convert_to_numpy=True
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ours = _ours(built["qwen3"], dim=16, query=True)
    np.testing.assert_allclose(ours, expected, atol=ATOL)
