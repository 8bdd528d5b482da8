"""Which files make up a model: the one list of the names dfembed fetches, fingerprints and
checks.

Only these are ever downloaded (the ONNX graph, the weight files it names, tokenizer and
JSON configurations): never pickles or remote code. The graph's external weight files have
names only the graph knows; :meth:`~dfembed.models.resolved.ResolvedModel.files` adds them.
This module imports nothing of dfembed, so the model description (:mod:`.info`) and the
loader can both build on it.
"""

from __future__ import annotations

from pathlib import Path

#: Files other than the ONNX graph that a text model may need; only these are downloaded.
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "config.json",
)
#: A folder's own description of its model (see :mod:`dfembed.models.descriptor`).
DESCRIPTOR = "dfembed.json"
#: sentence-transformers' file naming a model's prompts (and its default prompt).
PROMPTS_FILE = "config_sentence_transformers.json"
#: An image model's preprocessing (size, crop, mean and standard deviation).
PREPROCESSOR_FILE = "preprocessor_config.json"
#: sentence-transformers' files saying a model's pipeline, pooling, width and maximum length
#: (read by :mod:`dfembed.models.folder_files` where no ``dfembed.json`` says them).
SENTENCE_TRANSFORMERS_FILES = (
    "modules.json",
    "1_Pooling/config.json",
    "sentence_bert_config.json",
)
#: Where a hub repository the registry does not know may keep its ONNX graph, in order of
#: preference.
ONNX_CANDIDATES = ("onnx/model.onnx", "model.onnx")
#: The files a hub repository's width (and prompts) may come from: those
#: :func:`~dfembed.models.descriptor.info_from_folder` reads, fetched without the graph by
#: :func:`~dfembed.models.describe.describe`.
WIDTH_FILES = (DESCRIPTOR, *SENTENCE_TRANSFORMERS_FILES, "config.json", PROMPTS_FILE)
#: Files shipped inside dfembed (BM25 stopword lists, laid out like the Qdrant/bm25 repo):
#: the folder of registry models that have no ONNX graph and no hub repository.
PACKAGED_DATA = Path(__file__).parent / "data"


def graph_files(onnx_file: str) -> list[str]:
    """The graph ``onnx_file`` and the weight file exporters most often put beside it (the
    graph may name others: those are read from it). None for a model without a graph."""
    return [onnx_file, onnx_file + "_data"] if onnx_file else []


def described_files(onnx_file: str, kind: str) -> list[str]:
    """The files a model of ``kind`` whose graph is ``onnx_file`` needs, as known before its
    graph is read: the graph, the tokenizer and configuration files, its description and,
    for an image model, its preprocessing."""
    needed = [*graph_files(onnx_file), *TOKENIZER_FILES, DESCRIPTOR]
    if kind == "image":
        needed.append(PREPROCESSOR_FILE)
    return needed


def unknown_repo_files() -> list[str]:
    """The files fetched from a hub repository the registry does not know: any of the graph
    candidates, and every file that may describe the model (its kind is not known yet)."""
    graphs = [name for candidate in ONNX_CANDIDATES for name in graph_files(candidate)]
    configs = [*TOKENIZER_FILES, DESCRIPTOR, PREPROCESSOR_FILE, PROMPTS_FILE]
    return sorted({*graphs, *configs, *SENTENCE_TRANSFORMERS_FILES})
