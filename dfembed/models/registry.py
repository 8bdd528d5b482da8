"""Known models and how to run them.

This is the one place that knows a model's files and post-processing: which ONNX file,
which tokenizer files, the output to read, pooling, normalization, maximum length and
query/document prefixes. Local folders describe themselves the same way through a
``dfembed.json`` file (see :func:`info_from_folder`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import pandas as pd

from ..errors import ModelLoadError

#: Files other than the ONNX graph that a text model may need; only these are downloaded.
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "config.json",
)
DESCRIPTOR = "dfembed.json"


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
        Width of the output vectors (0 where it does not apply, e.g. sparse).
    pooling
        ``mean`` (masked mean over tokens), ``cls`` (first token), ``none`` (already pooled
        or per-token output), ``splade`` (max over tokens of log1p(relu(logits))).
    normalize
        L2-normalize each output vector.
    max_length
        Tokens kept per input (longer inputs are truncated).
    output_name
        Graph output to read; ``None`` picks ``last_hidden_state`` or the first output.
    query_prefix, document_prefix
        Text the model's card says to put before queries / documents.
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
    license: str = ""
    description: str = ""

    def files(self) -> list[str]:
        """The repository files this model needs; nothing else is ever downloaded."""
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
        name="paraphrase-MiniLM-L3-v2",
        repo="sentence-transformers/paraphrase-MiniLM-L3-v2",
        onnx_file="onnx/model.onnx",
        dim=384,
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
        max_length=128,
        license="apache-2.0",
        description="Multilingual paraphrase embeddings (50+ languages).",
    ),
)

_REGISTRY: dict[str, ModelInfo] = {}


def register(info: ModelInfo) -> None:
    """Add a model to the registry under its name and its hub repository id."""
    _REGISTRY[info.name.lower()] = info
    if info.repo:
        _REGISTRY[info.repo.lower()] = info


for _info in _KNOWN:
    register(_info)


def lookup(name: str) -> ModelInfo | None:
    """The registry entry for a name or hub repository id (case-insensitive), if any."""
    return _REGISTRY.get(name.lower())


def list_models(kind: str | None = None) -> pd.DataFrame:
    """The registry as a DataFrame, one row per model, optionally of one kind."""
    seen = {id(v): v for v in _REGISTRY.values()}.values()
    rows = [asdict(info) for info in seen if kind is None or info.kind == kind]
    frame = pd.DataFrame(rows)
    cols = ["name", "kind", "repo", "dim", "pooling", "normalize", "max_length", "license"]
    rest = [c for c in frame.columns if c not in cols]
    return frame[cols + rest].sort_values(["kind", "name"], ignore_index=True)


def info_from_folder(folder: Path, base: ModelInfo) -> ModelInfo:
    """Describe a model folder, starting from ``base`` (a registry entry or defaults).

    A ``dfembed.json`` in the folder overrides any field. Otherwise, for folders that are not
    in the registry, sentence-transformers' files say the pooling, width and maximum length.
    """
    descriptor = folder / DESCRIPTOR
    if descriptor.exists():
        known = {f.name for f in fields(ModelInfo)}
        try:
            data = json.loads(descriptor.read_text())
        except ValueError as exc:
            raise ModelLoadError(
                f"{descriptor} is not valid JSON ({exc}); fix or delete it."
            ) from exc
        return replace(base, **{k: v for k, v in data.items() if k in known})
    if base.repo is not None:
        return base
    info = base
    pooling = _read_json(folder / "1_Pooling" / "config.json")
    if pooling.get("pooling_mode_cls_token"):
        info = replace(info, pooling="cls")
    if pooling.get("word_embedding_dimension"):
        info = replace(info, dim=int(pooling["word_embedding_dimension"]))
    length = _read_json(folder / "sentence_bert_config.json").get("max_seq_length")
    if length:
        info = replace(info, max_length=int(length))
    hidden = _read_json(folder / "config.json").get("hidden_size")
    if hidden and not info.dim:
        info = replace(info, dim=int(hidden))
    return info


def _read_json(path: Path) -> dict:
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except ValueError as exc:
        raise ModelLoadError(f"{path} is not valid JSON ({exc}); re-download the model.") from exc
