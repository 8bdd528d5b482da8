"""Registry rows against fastembed's own descriptions of the same models (offline).

fastembed (a test dependency) describes each model it runs: width, licence, repository,
ONNX file, pooling class. Where a row names the same model, those facts must agree; where
the row runs another copy of the weights (e.g. the original repository's fp32 file where
fastembed runs an int8 copy), width and licence must still agree.
"""

from __future__ import annotations

import pytest

from dfembed.models.registry import lookup

fastembed = pytest.importorskip("fastembed")

#: Registry name -> fastembed's model name, for every row fastembed also describes.
SAME_MODEL = {
    "all-MiniLM-L6-v2": "sentence-transformers/all-MiniLM-L6-v2",
    "bge-small-en-v1.5": "BAAI/bge-small-en-v1.5",
    "bge-base-en-v1.5": "BAAI/bge-base-en-v1.5",
    "bge-large-en-v1.5": "BAAI/bge-large-en-v1.5",
    "paraphrase-multilingual-MiniLM-L12-v2": "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2",  # noqa: E501
    "paraphrase-multilingual-mpnet-base-v2": "sentence-transformers/paraphrase-multilingual-mpnet-base-v2",  # noqa: E501
    "multilingual-e5-large": "intfloat/multilingual-e5-large",
    "nomic-embed-text-v1.5": "nomic-ai/nomic-embed-text-v1.5",
    "mxbai-embed-large-v1": "mixedbread-ai/mxbai-embed-large-v1",
    "snowflake-arctic-embed-xs": "snowflake/snowflake-arctic-embed-xs",
    "snowflake-arctic-embed-s": "snowflake/snowflake-arctic-embed-s",
    "snowflake-arctic-embed-m": "snowflake/snowflake-arctic-embed-m",
    "snowflake-arctic-embed-l": "snowflake/snowflake-arctic-embed-l",
    "gte-base": "thenlper/gte-base",
    "gte-large": "thenlper/gte-large",
    "jina-embeddings-v2-small-en": "jinaai/jina-embeddings-v2-small-en",
    "jina-embeddings-v2-base-en": "jinaai/jina-embeddings-v2-base-en",
    "Qwen3-Embedding-0.6B": "Qwen/Qwen3-Embedding-0.6B",
    "clip-ViT-B-32-text": "Qdrant/clip-ViT-B-32-text",
    "clip-ViT-B-32-vision": "Qdrant/clip-ViT-B-32-vision",
    "resnet50-onnx": "Qdrant/resnet50-onnx",
    "Unicom-ViT-B-32": "Qdrant/Unicom-ViT-B-32",
    "Unicom-ViT-B-16": "Qdrant/Unicom-ViT-B-16",
    "prithivida/Splade_PP_en_v1": "prithivida/Splade_PP_en_v1",
    "colbertv2.0": "colbert-ir/colbertv2.0",
    "answerai-colbert-small-v1": "answerdotai/answerai-colbert-small-v1",
    "jina-colbert-v2": "jinaai/jina-colbert-v2",
    "ms-marco-MiniLM-L-6-v2": "Xenova/ms-marco-MiniLM-L-6-v2",
    "ms-marco-MiniLM-L-12-v2": "Xenova/ms-marco-MiniLM-L-12-v2",
    "bge-reranker-base": "BAAI/bge-reranker-base",
    "bge-reranker-v2-m3": "BAAI/bge-reranker-v2-m3",
    "jina-reranker-v1-tiny-en": "jinaai/jina-reranker-v1-tiny-en",
    "jina-reranker-v2-base-multilingual": "jinaai/jina-reranker-v2-base-multilingual",
}
#: How fastembed pools each of its dense text classes: dfembed's pooling of the same model.
FASTEMBED_POOLING = {
    "OnnxTextEmbedding": "cls",
    "PooledEmbedding": "mean",
    "PooledNormalizedEmbedding": "mean",
    "LastTokenNormalizedEmbedding": "last",
    "CLIPOnnxEmbedding": "none",
}


def _descriptions() -> dict[str, tuple[object, str]]:
    """fastembed's model descriptions by model name, with the class that runs each."""
    from fastembed import ImageEmbedding, LateInteractionTextEmbedding, SparseTextEmbedding
    from fastembed.rerank.cross_encoder import TextCrossEncoder
    from fastembed.text.text_embedding import TextEmbedding

    found = {}
    runners = [
        *TextEmbedding.EMBEDDINGS_REGISTRY,
        *ImageEmbedding.EMBEDDINGS_REGISTRY,
        *SparseTextEmbedding.EMBEDDINGS_REGISTRY,
        *LateInteractionTextEmbedding.EMBEDDINGS_REGISTRY,
        *TextCrossEncoder.CROSS_ENCODER_REGISTRY,
    ]
    for cls in runners:
        for description in cls._list_supported_models():
            found.setdefault(description.model, (description, cls.__name__))
    return found


DESCRIPTIONS = _descriptions()


@pytest.mark.parametrize("name", sorted(SAME_MODEL))
def test_rows_agree_with_fastembeds_description(name):
    info = lookup(name)
    assert info is not None, name
    description, runner = DESCRIPTIONS[SAME_MODEL[name]]
    if info.kind not in ("rerank", "sparse"):
        assert info.dim == description.dim, name
    assert info.license == description.license, name
    if info.repo == description.sources.hf:  # the same files: the same graph
        assert info.onnx_file == description.model_file, name
    if info.kind == "text":
        assert info.pooling == FASTEMBED_POOLING[runner], (name, runner)


def test_every_text_row_says_where_its_facts_come_from():
    import dfembed

    rows = dfembed.list_models()
    assert rows["source"].str.len().gt(20).all()
    text = rows[rows.kind == "text"].set_index("name")
    assert text.loc[["nomic-embed-text-v1.5", "mxbai-embed-large-v1", "Qwen3-Embedding-0.6B",
                     "snowflake-arctic-embed-m-v1.5"], "matryoshka"].all()  # fmt: skip
    assert not text.loc[["all-MiniLM-L6-v2", "snowflake-arctic-embed-m"], "matryoshka"].any()
