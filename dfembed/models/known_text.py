"""Registry rows of dense text models (``df.embed.text``).

Each row's ``source`` says where its facts come from; ``run_here`` says whether the row's
model was run here on its real weights (see ``dfembed.list_models()``).
"""

from __future__ import annotations

from .info import ModelInfo

TEXT_MODELS: tuple[ModelInfo, ...] = (
    ModelInfo(
        name="all-MiniLM-L6-v2",
        repo="sentence-transformers/all-MiniLM-L6-v2",
        onnx_file="onnx/model.onnx",
        dim=384,
        max_length=256,
        license="apache-2.0",
        description="Small general-purpose English sentence embeddings.",
        source="card sentence-transformers/all-MiniLM-L6-v2 (modules.json: mean + Normalize; "
        "max_seq_length 256); fastembed 0.9.1 pooled_normalized_embedding.py (384, apache-2.0); "
        "weights run here by the tests (a package copy exported to ONNX, not the hub file)",
        run_here=True,
    ),
    ModelInfo(
        name="all-MiniLM-L6-v2-int8",
        repo="sentence-transformers/all-MiniLM-L6-v2",
        onnx_file="onnx/model_qint8_avx512_vnni.onnx",
        dim=384,
        max_length=256,
        license="apache-2.0",
        description="all-MiniLM-L6-v2 dynamically quantized to int8 (fastest on x86 CPUs with "
        "AVX-512 VNNI; ~2x fp32 in benchmarks/).",
        source="file onnx/model_qint8_avx512_vnni.onnx of sentence-transformers/all-MiniLM-L6-v2 "
        "(the repository's ONNX exports); settings as all-MiniLM-L6-v2",
    ),
    ModelInfo(
        name="paraphrase-MiniLM-L3-v2",
        repo="sentence-transformers/paraphrase-MiniLM-L3-v2",
        onnx_file="onnx/model.onnx",
        dim=384,
        normalize=False,  # its sentence-transformers pipeline has no Normalize module
        max_length=128,
        license="apache-2.0",
        description="Three-layer paraphrase model: the fastest English dense model here.",
        source="card sentence-transformers/paraphrase-MiniLM-L3-v2 (mean, no Normalize, "
        "max_seq_length 128); weights run here by the tests (a package's ONNX copy)",
        run_here=True,
    ),
    ModelInfo(
        name="all-mpnet-base-v2",
        repo="sentence-transformers/all-mpnet-base-v2",
        onnx_file="onnx/model.onnx",
        dim=768,
        max_length=384,
        license="apache-2.0",
        description="Larger, higher-quality English sentence embeddings.",
        source="card sentence-transformers/all-mpnet-base-v2 (mean + Normalize, "
        "max_seq_length 384, 768)",
    ),
    ModelInfo(
        name="bge-small-en-v1.5",
        repo="BAAI/bge-small-en-v1.5",
        onnx_file="onnx/model.onnx",
        dim=384,
        pooling="cls",
        max_length=512,
        query_prefix="Represent this sentence for searching relevant passages: ",
        license="mit",
        description="English retrieval embeddings; prefix queries with query=True.",
        source="card BAAI/bge-small-en-v1.5 (CLS, normalized, query instruction); fastembed "
        "0.9.1 onnx_embedding.py (384, mit, 512 tokens, CLS + normalize)",
    ),
    ModelInfo(
        name="multilingual-e5-small",
        repo="intfloat/multilingual-e5-small",
        onnx_file="onnx/model.onnx",
        dim=384,
        max_length=512,
        query_prefix="query: ",
        document_prefix="passage: ",
        license="mit",
        description="Multilingual (~100 languages) retrieval embeddings.",
        source="card intfloat/multilingual-e5-small (mean, normalized, 'query: ' / "
        "'passage: ', 512)",
    ),
    ModelInfo(
        name="paraphrase-multilingual-MiniLM-L12-v2",
        repo="sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2",
        onnx_file="onnx/model.onnx",
        dim=384,
        normalize=False,  # its sentence-transformers pipeline has no Normalize module
        max_length=128,
        license="apache-2.0",
        description="Multilingual paraphrase embeddings (50+ languages).",
        source="card sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2 (mean, no "
        "Normalize, max_seq_length 128); fastembed 0.9.1 pooled_embedding.py (384, apache-2.0)",
    ),
)
