"""Dense text embeddings: tokenize, run, pool (mean or CLS), L2-normalize."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ModelLoadError
from .base import EncodeOptions, Encoder, Prepared
from .tokens import TextTokenizer, feed


@dataclass(frozen=True)
class TextOptions(EncodeOptions):
    """Options of dense (and other token-based) text encoders.

    Parameters
    ----------
    normalize
        L2-normalize each vector (cosine similarity becomes a dot product); ``None``: as the
        model does (its ``normalize``, e.g. False for the paraphrase models, whose
        sentence-transformers pipeline has no Normalize step).
    max_length
        Truncate inputs to this many tokens; ``None`` uses the model's own limit.
    query
        Embed as queries (use the model's query prefix) rather than documents.
    """

    normalize: bool | None = None
    max_length: int | None = None
    query: bool = False


class TokenEncoder(Encoder):
    """Base of encoders whose inputs are texts: owns the tokenizer and the prefixes."""

    options_type = TextOptions

    def __init__(self, model, session):
        super().__init__(model, session)
        self.tokenizer = TextTokenizer(model.file("tokenizer.json"), self.info.max_length)

    def window(self, max_length: int | None, default: int | None = None) -> int:
        """Tokens per input: ``max_length``, else ``default``, else the model's limit; never
        more than that limit (the model has no position embeddings past it)."""
        return min(max_length or default or self.info.max_length, self.info.max_length)

    def tokenize(self, texts: Sequence[str], options: TextOptions) -> Prepared:
        """Token rows (:class:`~dfembed.encoders.tokens.TokenRows`) of the prefixed texts."""
        prefix = self.info.query_prefix if options.query else self.info.document_prefix
        rows = self.tokenizer.encode(
            texts, prefix=prefix or "", max_length=self.window(options.max_length)
        )
        return Prepared(lengths=rows.lengths, data=rows)

    def prepare(self, items: Sequence[str], options: TextOptions) -> Prepared:
        return self.tokenize(items, options)

    def feed(
        self, prepared: Prepared, positions: np.ndarray
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Model inputs for a batch, and its attention mask."""
        return feed(prepared.data, positions, self.input_names, self.tokenizer.pad_id)


def pool(hidden: np.ndarray, mask: np.ndarray, how: str) -> np.ndarray:
    """Sentence vectors from token vectors ``[B, T, D]`` with attention ``mask`` ``[B, T]``."""
    if hidden.ndim == 2 or how == "none":
        return hidden
    if how == "cls":
        return hidden[:, 0]
    if how == "mean":
        weights = mask[..., None].astype(hidden.dtype)
        return (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    raise ValueError(f"Unknown pooling {how!r}: use 'mean', 'cls' or 'none'.")


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class TextEncoder(TokenEncoder):
    """Dense sentence embeddings, one fixed-width float32 vector per text."""

    kind = "text"

    def run(self, prepared: Prepared, positions: np.ndarray, options: TextOptions) -> np.ndarray:
        inputs, mask = self.feed(prepared, positions)
        vectors = pool(self.run_model(inputs), mask, self.info.pooling)
        if self.info.dim and vectors.shape[-1] != self.info.dim:  # else Dask's meta is wrong
            raise ModelLoadError(
                f"{self.model.folder} gives {vectors.shape[-1]}-wide vectors, not the "
                f'{self.info.dim} its description says: fix "dim" in its dfembed.json.'
            )
        if self.normalizes(options):
            vectors = l2_normalize(vectors)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    @property
    def dim(self) -> int:
        return self.info.dim
