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
    ),
    ModelInfo(
        name="all-mpnet-base-v2",
        repo="sentence-transformers/all-mpnet-base-v2",
        onnx_file="onnx/model.onnx",
        dim=768,
        max_length=384,
        license="apache-2.0",
        description="Larger, higher-quality English sentence embeddings.",
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
    ),
)
