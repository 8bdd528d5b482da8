"""Registry rows of sparse, late-interaction, rerank and image models.

Each row's ``source`` says where its facts come from; ``run_here`` says whether the row's
model was run here on its real weights (see ``dfembed.list_models()``).
"""

from __future__ import annotations

from .info import ModelInfo

OTHER_MODELS: tuple[ModelInfo, ...] = (
    ModelInfo(
        name="prithivida/Splade_PP_en_v1",
        kind="sparse",
        repo="Qdrant/Splade_PP_en_v1",
        onnx_file="model.onnx",
        dim=30522,
        pooling="splade",
        normalize=False,
        max_length=512,
        license="apache-2.0",
        description="SPLADE++ English sparse vectors over BERT's 30,522-token vocabulary.",
        source="fastembed 0.9.1 sparse/splade_pp.py (Qdrant/Splade_PP_en_v1 model.onnx, "
        "apache-2.0); card prithivida/Splade_PP_en_v1 (log1p(relu) max over tokens)",
    ),
    ModelInfo(
        name="Qdrant/bm25",
        kind="sparse",
        onnx_file="",
        pooling="bm25",
        normalize=False,
        license="apache-2.0",
        description="BM25 term weights (Snowball stems hashed with murmur3); no model "
        "download. Use with an IDF modifier on the index side (e.g. Qdrant's).",
        source="fastembed 0.9.1 sparse/bm25.py (Snowball stems, murmur3 hashes, stopword "
        "lists as in the Qdrant/bm25 repository); run here by the tests (no weights)",
        run_here=True,
        language="english",
    ),
    # Late interaction: per-token vectors, markers as in ColBERT (see encoders/late_interaction)
    ModelInfo(
        name="colbertv2.0",
        kind="late_interaction",
        repo="colbert-ir/colbertv2.0",
        onnx_file="model.onnx",
        dim=128,
        pooling="none",
        max_length=512,
        license="mit",
        description="ColBERTv2 (BERT-base, 128-dim token vectors); score with dfembed.maxsim.",
        source="fastembed 0.9.1 late_interaction/colbert.py (colbert-ir/colbertv2.0 "
        "model.onnx, 128, mit); ColBERT's markers and query length",
    ),
    ModelInfo(
        name="answerai-colbert-small-v1",
        kind="late_interaction",
        repo="answerdotai/answerai-colbert-small-v1",
        onnx_file="vespa_colbert.onnx",
        output_name="contextual",
        dim=96,
        pooling="none",
        max_length=512,
        license="apache-2.0",
        description="Small English ColBERT (33M parameters, 96-dim token vectors).",
        source="fastembed 0.9.1 late_interaction/colbert.py (vespa_colbert.onnx, output "
        "contextual, 96, apache-2.0)",
    ),
    ModelInfo(
        name="jina-colbert-v2",
        kind="late_interaction",
        repo="jinaai/jina-colbert-v2",
        onnx_file="onnx/model.onnx",
        dim=128,
        pooling="none",
        max_length=8192,
        query_marker="[QueryMarker]",
        document_marker="[DocumentMarker]",
        attend_expansion=True,
        license="cc-by-nc-4.0",
        description="Multilingual ColBERT, 8192-token context (non-commercial licence).",
        source="fastembed 0.9.1 late_interaction/jina_colbert.py (onnx/model.onnx, 128, "
        "markers [QueryMarker]/[DocumentMarker], queries attend to expansion, cc-by-nc-4.0)",
    ),
    # Rerankers (cross-encoders): one relevance logit per (query, text) pair
    ModelInfo(
        name="ms-marco-MiniLM-L-6-v2",
        kind="rerank",
        repo="Xenova/ms-marco-MiniLM-L-6-v2",
        onnx_file="onnx/model.onnx",
        pooling="none",
        max_length=512,
        license="apache-2.0",
        description="Fast English passage reranker trained on MS MARCO.",
        source="fastembed 0.9.1 rerank/cross_encoder/onnx_text_cross_encoder.py "
        "(Xenova/ms-marco-MiniLM-L-6-v2 onnx/model.onnx, apache-2.0)",
    ),
    ModelInfo(
        name="ms-marco-MiniLM-L-12-v2",
        kind="rerank",
        repo="Xenova/ms-marco-MiniLM-L-12-v2",
        onnx_file="onnx/model.onnx",
        pooling="none",
        max_length=512,
        license="apache-2.0",
        description="12-layer MS MARCO reranker: slower, more accurate than L-6.",
        source="fastembed 0.9.1 onnx_text_cross_encoder.py (onnx/model.onnx, apache-2.0)",
    ),
    ModelInfo(
        name="bge-reranker-base",
        kind="rerank",
        repo="BAAI/bge-reranker-base",
        onnx_file="onnx/model.onnx",
        pooling="none",
        max_length=512,
        license="mit",
        description="Chinese and English reranker (XLM-RoBERTa base).",
        source="fastembed 0.9.1 onnx_text_cross_encoder.py (onnx/model.onnx, mit)",
    ),
    ModelInfo(
        name="jina-reranker-v1-tiny-en",
        kind="rerank",
        repo="jinaai/jina-reranker-v1-tiny-en",
        onnx_file="onnx/model.onnx",
        pooling="none",
        max_length=8192,
        license="apache-2.0",
        description="Tiny English reranker with an 8192-token context.",
        source="fastembed 0.9.1 onnx_text_cross_encoder.py (onnx/model.onnx, apache-2.0, "
        "8K context)",
    ),
    ModelInfo(
        name="bge-reranker-v2-m3",
        kind="rerank",
        repo="onnx-community/bge-reranker-v2-m3-ONNX",
        onnx_file="onnx/model.onnx",
        pooling="none",
        max_length=8192,
        license="apache-2.0",
        description="Multilingual reranker (BGE-M3, XLM-RoBERTa large), 8192-token context.",
        source="fastembed 0.9.1 onnx_text_cross_encoder.py (onnx-community/bge-reranker-v2-m3-ONNX "
        "onnx/model.onnx + onnx/model.onnx_data, apache-2.0); card BAAI/bge-reranker-v2-m3 (one "
        "logit per pair, sigmoid for 0-1)",
    ),
    ModelInfo(
        name="jina-reranker-v2-base-multilingual",
        kind="rerank",
        repo="jinaai/jina-reranker-v2-base-multilingual",
        onnx_file="onnx/model.onnx",
        pooling="none",
        max_length=1024,
        license="cc-by-nc-4.0",
        description="Multilingual reranker, 1024-token context (non-commercial licence).",
        source="fastembed 0.9.1 onnx_text_cross_encoder.py (onnx/model.onnx, cc-by-nc-4.0, "
        "1K context)",
    ),
    # Images: preprocessing comes from each repository's preprocessor_config.json; the graphs
    # output pooled vectors first (pooling "none" reads the first output), as fastembed reads them
    ModelInfo(
        name="clip-ViT-B-32-vision",
        kind="image",
        repo="Qdrant/clip-ViT-B-32-vision",
        onnx_file="model.onnx",
        dim=512,
        pooling="none",
        license="mit",
        description="CLIP ViT-B/32 image tower; same space as the CLIP ViT-B/32 text tower.",
        source="fastembed 0.9.1 image/onnx_embedding.py (model.onnx, 512, mit, first "
        "output); its text tower is the registry's clip-ViT-B-32-text",
    ),
    ModelInfo(
        name="resnet50-onnx",
        kind="image",
        repo="Qdrant/resnet50-onnx",
        onnx_file="model.onnx",
        dim=2048,
        pooling="none",
        license="apache-2.0",
        description="ResNet-50 (ImageNet) pooled features: image-only similarity.",
        source="fastembed 0.9.1 image/onnx_embedding.py (model.onnx, 2048, apache-2.0)",
    ),
    ModelInfo(
        name="Unicom-ViT-B-32",
        kind="image",
        repo="Qdrant/Unicom-ViT-B-32",
        onnx_file="model.onnx",
        dim=512,
        pooling="none",
        license="mit",
        description="Unicom ViT-B/32 image embeddings for retrieval.",
        source="fastembed 0.9.1 image/onnx_embedding.py (model.onnx, 512, mit)",
    ),
    ModelInfo(
        name="Unicom-ViT-B-16",
        kind="image",
        repo="Qdrant/Unicom-ViT-B-16",
        onnx_file="model.onnx",
        dim=768,
        pooling="none",
        license="mit",
        description="Unicom ViT-B/16: finer-grained, slower than Unicom-ViT-B-32.",
        source="fastembed 0.9.1 image/onnx_embedding.py (model.onnx, 768, mit)",
    ),
)
