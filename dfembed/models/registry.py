"""Known models and how to run them.

This is the one place that knows a model's files and post-processing: which ONNX file,
which tokenizer files, the output to read, pooling, normalization, maximum length and
query/document prefixes. Local folders describe themselves the same way through a
``dfembed.json`` file (read and checked by :mod:`dfembed.models.descriptor`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields

import pandas as pd

#: Files other than the ONNX graph that a text model may need; only these are downloaded.
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "config.json",
)
DESCRIPTOR = "dfembed.json"
#: The kinds of model dfembed runs: one ``df.embed.<kind>`` method (and encoder) each.
KINDS = ("text", "sparse", "late_interaction", "image", "rerank")
#: The ``pooling`` values each kind runs. Late interaction and rerank read per-token
#: vectors or logits as they are. For sparse models only ``bm25`` changes the encoder: any
#: other value runs the graph as SPLADE, and ``""`` says just that (no pooling of its own).
POOLINGS: dict[str, tuple[str, ...]] = {
    "text": ("mean", "cls", "none"),
    "sparse": ("splade", "bm25", ""),
    "late_interaction": ("none",),
    "image": ("cls", "mean", "none"),
    "rerank": ("none",),
}
#: Kinds whose outputs are vectors of one fixed width: their column's dtype needs ``dim``.
SIZED_KINDS = ("text", "late_interaction", "image")


@dataclass(frozen=True)
class ModelInfo:
    """How to load and post-process one model.

    Parameters
    ----------
    name
        Registry name, or the folder / repository it was read from.
    kind
        ``text``, ``sparse``, ``late_interaction``, ``image`` or ``rerank``.
    repo
        Hugging Face hub repository id, if the model lives on the hub.
    onnx_file
        Path of the ONNX graph inside the repository or folder.
    dim
        Width of the output vectors (0 where it does not apply, e.g. sparse). A folder
        that does not say it gets it from its graph's declared output shape.
    pooling
        ``mean`` (masked mean over tokens), ``cls`` (first token), ``none`` (already pooled
        or per-token output), ``splade`` (max over tokens of log1p(relu(logits))), ``bm25``;
        :data:`POOLINGS` says which each kind runs.
    normalize
        L2-normalize each output vector.
    max_length
        Tokens kept per input (longer inputs are truncated).
    output_name
        Graph output to read; ``None`` picks ``last_hidden_state`` or the first output.
    query_prefix, document_prefix
        Text the model's card says to put before queries / documents.
    query_marker, document_marker, attend_expansion
        Late interaction only: the marker tokens put after ``[CLS]`` (empty: ColBERT's
        ``[unused0]`` / ``[unused1]``), and whether queries attend to their mask padding.
    language
        BM25 only: the Snowball stemmer and the ``<language>.txt`` stopword list to use.
    """

    name: str
    kind: str = "text"
    repo: str | None = None
    onnx_file: str = "model.onnx"
    dim: int = 0
    pooling: str = "mean"
    normalize: bool = True
    max_length: int = 512
    output_name: str | None = None
    query_prefix: str = ""
    document_prefix: str = ""
    query_marker: str = ""
    document_marker: str = ""
    attend_expansion: bool = False
    license: str = ""
    description: str = ""
    language: str = ""

    def files(self) -> list[str]:
        """The repository files this model needs, as known before its graph is read.

        The graph may name other external weight files (``model.onnx.data``, ...):
        :meth:`dfembed.models.hub.ResolvedModel.files` adds them. Nothing else is ever
        downloaded.
        """
        graph = [self.onnx_file, self.onnx_file + "_data"] if self.onnx_file else []
        needed = [*graph, *TOKENIZER_FILES, DESCRIPTOR]
        if self.kind == "image":
            needed.append("preprocessor_config.json")
        return needed


_KNOWN: tuple[ModelInfo, ...] = (
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
    ),
)

_REGISTRY: dict[str, ModelInfo] = {}


def register(info: ModelInfo) -> None:
    """Add a model to the registry under its name and its hub repository id."""
    _REGISTRY[info.name.lower()] = info
    if info.repo:
        # a repository id names its first (main) entry; variants are reached by their names
        _REGISTRY.setdefault(info.repo.lower(), info)


for _info in _KNOWN:
    register(_info)


def lookup(name: str) -> ModelInfo | None:
    """The registry entry for a name or hub repository id (case-insensitive), if any."""
    return _REGISTRY.get(name.lower())


def list_models(kind: str | None = None) -> pd.DataFrame:
    """The registry as a DataFrame, one row per model, optionally of one kind.

    Raises
    ------
    ValueError
        ``kind`` is not one of :data:`KINDS` (a misspelt kind would list nothing).
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(
            f"Unknown model kind {kind!r}: use one of {', '.join(map(repr, KINDS))}, or "
            "kind=None for every model."
        )
    seen = {id(v): v for v in _REGISTRY.values()}.values()
    rows = [asdict(info) for info in seen if kind is None or info.kind == kind]
    first = ["name", "kind", "repo", "dim", "pooling", "normalize", "max_length", "license"]
    columns = first + [f.name for f in fields(ModelInfo) if f.name not in first]
    frame = pd.DataFrame(rows, columns=columns)  # the columns stay when no row matches
    return frame.sort_values(["kind", "name"], ignore_index=True)


def output_to_read(info: ModelInfo, outputs: Sequence[str]) -> str:
    """The graph output a dense, per-token or image model's encoder reads, of ``outputs``.

    ``output_name`` if set; else an image model with pooling ``none`` reads its first
    output (pooled vectors come first in those exports), any other the token vectors
    (``last_hidden_state`` or ``token_embeddings``) or else the first output.
    """
    if info.output_name:
        return info.output_name
    if info.kind == "image" and info.pooling == "none":
        return outputs[0]
    preferred = [name for name in ("last_hidden_state", "token_embeddings") if name in outputs]
    return (preferred or list(outputs))[0]
