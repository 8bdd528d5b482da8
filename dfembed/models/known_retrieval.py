"""Registry rows of retrieval text models: BGE, E5, nomic, mxbai, Arctic, GTE, Jina v2,
Qwen3-Embedding and CLIP's text tower.

Every fact is from the model's card (its pooling, normalization, prompts, context, whether
it is Matryoshka) and fastembed 0.9.1's description of the same model (width, licence,
ONNX file, context, how it pools); ``source`` says which. None of these weights install
offline, so no row was run here: ``pytest -m hub`` (with network access) checks each
against fastembed's published vectors or sentence-transformers' outputs.
"""

from __future__ import annotations

from .info import ModelInfo

#: The instruction BGE, mxbai and Arctic cards put before queries (documents get none).
REPRESENT = "Represent this sentence for searching relevant passages: "
#: Qwen3-Embedding's query instruction, as its config_sentence_transformers.json states it.
QWEN3_QUERY = (
    "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery:"
)
_HUB = "; ONNX file not opened here: pytest -m hub checks it"


def _cls(name: str, repo: str, onnx_file: str, dim: int, **fields) -> ModelInfo:
    """A CLS-pooled, normalized retrieval model with the BGE-style query instruction."""
    return ModelInfo(
        name=name,
        repo=repo,
        onnx_file=onnx_file,
        dim=dim,
        pooling="cls",
        max_length=512,
        query_prefix=REPRESENT,
        **fields,
    )


RETRIEVAL_MODELS: tuple[ModelInfo, ...] = (
    _cls(
        "bge-base-en-v1.5",
        "BAAI/bge-base-en-v1.5",
        "onnx/model.onnx",
        768,
        license="mit",
        description="English retrieval embeddings (BERT base); query=True adds the instruction.",
        source="card BAAI/bge-base-en-v1.5 (CLS, normalized, query instruction, 512); "
        "fastembed 0.9.1 onnx_embedding.py (768, mit; it runs Qdrant's int8 copy)" + _HUB,
    ),
    _cls(
        "bge-large-en-v1.5",
        "Qdrant/bge-large-en-v1.5-onnx",
        "model.onnx",
        1024,
        license="mit",
        description="English retrieval embeddings (BERT large); query=True adds the instruction.",
        source="card BAAI/bge-large-en-v1.5 (CLS, normalized, query instruction, 512); "
        "fastembed 0.9.1 onnx_embedding.py (1024, mit, Qdrant/bge-large-en-v1.5-onnx model.onnx)",
    ),
    _cls(
        "mxbai-embed-large-v1",
        "mixedbread-ai/mxbai-embed-large-v1",
        "onnx/model.onnx",
        1024,
        matryoshka=True,
        license="apache-2.0",
        description="English retrieval embeddings, Matryoshka (cut with dim=512, 256, ...).",
        source="card mixedbread-ai/mxbai-embed-large-v1 (CLS, query instruction, Matryoshka "
        "and binary quantization, 512); fastembed 0.9.1 onnx_embedding.py (1024, apache-2.0, "
        "onnx/model.onnx, CLS + normalize)",
    ),
    *(
        _cls(
            f"snowflake-arctic-embed-{size}",
            f"Snowflake/snowflake-arctic-embed-{size}",
            "onnx/model.onnx",
            dim,
            license="apache-2.0",
            description=f"Snowflake Arctic Embed {size} (v1): English retrieval embeddings.",
            source=f"card Snowflake/snowflake-arctic-embed-{size} (CLS, normalized, query "
            "instruction, 512; Matryoshka only from v1.5); fastembed 0.9.1 onnx_embedding.py "
            f"({dim}, apache-2.0, onnx/model.onnx, CLS + normalize)",
        )
        for size, dim in (("xs", 384), ("s", 384), ("m", 768), ("l", 1024))
    ),
    _cls(
        "snowflake-arctic-embed-m-v1.5",
        "Snowflake/snowflake-arctic-embed-m-v1.5",
        "onnx/model.onnx",
        768,
        matryoshka=True,
        license="apache-2.0",
        description="Arctic Embed m v1.5: Matryoshka, made to be cut to 256 dimensions.",
        source="card Snowflake/snowflake-arctic-embed-m-v1.5 (CLS, normalized, query "
        "instruction, Matryoshka to 256, 512); not in fastembed" + _HUB,
    ),
    ModelInfo(
        name="multilingual-e5-base",
        repo="intfloat/multilingual-e5-base",
        onnx_file="onnx/model.onnx",
        dim=768,
        max_length=512,
        query_prefix="query: ",
        document_prefix="passage: ",
        license="mit",
        description="Multilingual (~100 languages) retrieval embeddings, base size.",
        source="card intfloat/multilingual-e5-base (mean, normalized, 'query: ' / 'passage: ', "
        "512); not in fastembed" + _HUB,
    ),
    ModelInfo(
        name="multilingual-e5-large",
        repo="Qdrant/multilingual-e5-large-onnx",
        onnx_file="model.onnx",
        dim=1024,
        max_length=512,
        query_prefix="query: ",
        document_prefix="passage: ",
        license="mit",
        description="Multilingual (~100 languages) retrieval embeddings, large size.",
        source="card intfloat/multilingual-e5-large (mean, normalized, 'query: ' / 'passage: ', "
        "512); fastembed 0.9.1 pooled_embedding.py (1024, mit, Qdrant/multilingual-e5-large-onnx "
        "model.onnx + model.onnx_data; fastembed leaves it unnormalized)",
    ),
    ModelInfo(
        name="nomic-embed-text-v1.5",
        repo="nomic-ai/nomic-embed-text-v1.5",
        onnx_file="onnx/model.onnx",
        dim=768,
        max_length=8192,
        query_prefix="search_query: ",
        document_prefix="search_document: ",
        prompts=(("classification", "classification: "), ("clustering", "clustering: ")),
        matryoshka=True,
        license="apache-2.0",
        description="English, 8192 tokens, Matryoshka (768 to 64); task prefixes by prompt=.",
        source="card nomic-ai/nomic-embed-text-v1.5 (mean, normalized, prefixes search_query / "
        "search_document / classification / clustering, Matryoshka 768-64; the card's layer norm "
        "before a cut is not applied, as in sentence-transformers' truncate_dim); fastembed "
        "0.9.1 pooled_embedding.py (768, apache-2.0, 8192, onnx/model.onnx, unnormalized)",
    ),
    ModelInfo(
        name="gte-base",
        repo="thenlper/gte-base",
        onnx_file="onnx/model.onnx",
        dim=768,
        max_length=512,
        license="mit",
        description="General English text embeddings (GTE base); no prompts.",
        source="card thenlper/gte-base (mean, normalized, 512, no prefixes); fastembed 0.9.1 "
        "pooled_normalized_embedding.py (768, mit, onnx/model.onnx)",
    ),
    ModelInfo(
        name="gte-large",
        repo="Qdrant/gte-large-onnx",
        onnx_file="model.onnx",
        dim=1024,
        max_length=512,
        license="mit",
        description="General English text embeddings (GTE large); no prompts.",
        source="card thenlper/gte-large (mean, normalized, 512, no prefixes); fastembed 0.9.1 "
        "pooled_normalized_embedding.py (1024, mit, Qdrant/gte-large-onnx model.onnx)",
    ),
    *(
        ModelInfo(
            name=f"jina-embeddings-v2-{size}-en",
            repo=f"Xenova/jina-embeddings-v2-{size}-en",
            onnx_file="onnx/model.onnx",
            dim=dim,
            max_length=8192,
            license="apache-2.0",
            description=f"Jina v2 {size} English embeddings, 8192-token context (ALiBi).",
            source=f"card jinaai/jina-embeddings-v2-{size}-en (mean, normalized, 8192); fastembed "
            f"0.9.1 pooled_normalized_embedding.py ({dim}, apache-2.0, Xenova/"
            f"jina-embeddings-v2-{size}-en onnx/model.onnx)",
        )
        for size, dim in (("small", 512), ("base", 768))
    ),
    ModelInfo(
        name="paraphrase-multilingual-mpnet-base-v2",
        repo="Xenova/paraphrase-multilingual-mpnet-base-v2",
        onnx_file="onnx/model.onnx",
        dim=768,
        normalize=False,  # its sentence-transformers pipeline has no Normalize module
        max_length=128,
        license="apache-2.0",
        description="Multilingual paraphrase embeddings (50+ languages), mpnet base.",
        source="card sentence-transformers/paraphrase-multilingual-mpnet-base-v2 (mean, no "
        "Normalize, max_seq_length 128); fastembed 0.9.1 pooled_embedding.py (768, apache-2.0, "
        "Xenova/... onnx/model.onnx; it states 512 tokens)",
    ),
    ModelInfo(
        name="Qwen3-Embedding-0.6B",
        repo="Qdrant/Qwen3-Embedding-0.6B-onnx",
        onnx_file="onnx/model.onnx",
        dim=1024,
        pooling="last",
        max_length=32768,
        query_prefix=QWEN3_QUERY,
        matryoshka=True,
        license="apache-2.0",
        description="Multilingual decoder embeddings (last token), 32k context, Matryoshka "
        "(dim=32 to 1024); query=True adds the web-search instruction, prompt= another.",
        source="card Qwen/Qwen3-Embedding-0.6B (last token, left padding, normalized, MRL "
        "32-1024, 32k context) and its config_sentence_transformers.json (query instruction, "
        "empty document prompt); fastembed 0.9.1 last_token_normalized_embedding.py (1024, "
        "apache-2.0, Qdrant/Qwen3-Embedding-0.6B-onnx onnx/model.onnx + onnx/model.onnx_data)",
    ),
    ModelInfo(
        name="clip-ViT-B-32-text",
        repo="Qdrant/clip-ViT-B-32-text",
        onnx_file="model.onnx",
        dim=512,
        pooling="none",  # the graph's first output is the projected text_embeds
        max_length=77,
        license="mit",
        description="CLIP ViT-B/32 text tower: texts in the space of clip-ViT-B-32-vision "
        "(text-to-image search).",
        source="fastembed 0.9.1 clip_embedding.py (512, mit, 77 tokens, model.onnx, first "
        "output read as is: the projection; fastembed does not normalize it, dfembed does, as "
        "for the image tower); card openai/clip-vit-base-patch32",
    ),
)
