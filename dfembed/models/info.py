"""How one model is run: :class:`ModelInfo`, and the kinds and poolings dfembed knows.

A registry row (:mod:`dfembed.models.known_text`, :mod:`dfembed.models.known_other`), a
folder's ``dfembed.json`` or its sentence-transformers files all end up as one of these.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .file_names import (  # noqa: F401 - the file names, imported from here elsewhere
    DESCRIPTOR,
    PROMPTS_FILE,
    TOKENIZER_FILES,
    described_files,
)

#: The kinds of model dfembed runs: one ``df.embed.<kind>`` method (and encoder) each.
KINDS = ("text", "sparse", "late_interaction", "image", "rerank")
#: The ``pooling`` values each kind runs. Late interaction and rerank read per-token
#: vectors or logits as they are. For sparse models only ``bm25`` changes the encoder: any
#: other value runs the graph as SPLADE, and ``""`` says just that (no pooling of its own).
POOLINGS: dict[str, tuple[str, ...]] = {
    "text": ("mean", "cls", "last", "none"),
    "sparse": ("splade", "bm25", ""),
    "late_interaction": ("none",),
    "image": ("cls", "mean", "none"),
    "rerank": ("none",),
}
#: Kinds whose outputs are vectors of one fixed width: their column's dtype needs ``dim``.
SIZED_KINDS = ("text", "late_interaction", "image")
#: Fields that document a registry row and never change an output (not read from a
#: ``dfembed.json``, not part of an embedding cache's namespace).
ABOUT_FIELDS = ("source", "run_here")


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
        ``mean`` (masked mean over tokens), ``cls`` (first token), ``last`` (last real
        token: decoder embedders such as Qwen3-Embedding), ``none`` (already pooled or
        per-token output), ``splade`` (max over tokens of log1p(relu(logits))), ``bm25``;
        :data:`POOLINGS` says which each kind runs.
    normalize
        L2-normalize each output vector.
    max_length
        Tokens kept per input (longer inputs are truncated).
    output_name
        Graph output to read; ``None`` picks ``last_hidden_state`` or the first output.
    query_prefix, document_prefix
        Text the model's card says to put before queries / documents (sentence-transformers'
        ``query`` and ``document``/``passage``/``corpus`` prompts).
    prompts
        Other named prompts of the model (``("clustering", "clustering: ")``, ...), which
        ``prompt="clustering"`` picks.
    matryoshka
        The model was trained to be cut to its first dimensions (``dim=``) and stay useful.
    query_marker, document_marker, attend_expansion
        Late interaction only: the marker tokens put after ``[CLS]`` (empty: ColBERT's
        ``[unused0]`` / ``[unused1]``), and whether queries attend to their mask padding.
    language
        BM25 only: the Snowball stemmer and the ``<language>.txt`` stopword list to use.
    source
        Registry rows: where each fact of the row comes from (model card, fastembed's
        description, the repository's files).
    run_here
        Registry rows: the row's model was run here on its real weights (tests or tools);
        ``False`` rows are checked only against published facts (``pytest -m hub``).
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
    prompts: tuple[tuple[str, str], ...] = ()
    matryoshka: bool = False
    source: str = ""
    run_here: bool = False

    def files(self) -> list[str]:
        """The repository files this model needs, as known before its graph is read
        (:func:`~dfembed.models.file_names.described_files`).

        The graph may name other external weight files (``model.onnx.data``, ...):
        :meth:`dfembed.models.resolved.ResolvedModel.files` adds them. Nothing else is ever
        downloaded.
        """
        return described_files(self.onnx_file, self.kind)


def output_to_read(
    info: ModelInfo,
    outputs: Sequence[str],
    preferred: Sequence[str] = ("last_hidden_state", "token_embeddings"),
) -> str:
    """The graph output a model's encoder reads, of ``outputs``.

    ``output_name`` if set; else an image or dense text model with pooling ``none`` reads
    its first output (pooled vectors come first in those exports, as fastembed reads
    them: CLIP's ``text_embeds`` before ``last_hidden_state``), any other the first of the
    ``preferred`` names it has (the token vectors; a kind's record may prefer others, as
    rerank prefers ``logits``) or else the first output.
    """
    if info.output_name:
        return info.output_name
    if info.kind in ("image", "text") and info.pooling == "none":
        return outputs[0]
    found = [name for name in preferred if name in outputs]
    return (found or list(outputs))[0]
