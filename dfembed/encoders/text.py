"""Dense text embeddings: tokenize (with the model's prompt), run, pool, cut, L2-normalize."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ModelLoadError
from ..models.prompts import prompt_text
from .base import EncodeOptions, Encoder, Prepared
from .decoder_inputs import DecoderInputs
from .tokens import TextTokenizer, feed


@dataclass(frozen=True)
class TextOptions(EncodeOptions):
    """Options of token-based text encoders (dense, late interaction; sparse extends them).

    Parameters
    ----------
    normalize
        L2-normalize each vector (cosine similarity becomes a dot product); ``None``: as the
        model does (its ``normalize``, e.g. False for the paraphrase models, whose
        sentence-transformers pipeline has no Normalize step).
    max_length
        Truncate inputs to this many tokens; ``None`` uses the model's own limit.
    query
        Embed as queries (use the model's query prompt) rather than documents.
    """

    normalize: bool | None = None
    max_length: int | None = None
    query: bool = False


@dataclass(frozen=True)
class DenseOptions(TextOptions):
    """Options of dense text embeddings (``df.embed.text``).

    Parameters
    ----------
    prompt
        Text put before every input instead of the query/document prompt: a name of one of
        the model's prompts (``"query"``, ``"clustering"``, ...) or the text itself.
    dim
        Keep only the first ``dim`` values of each vector (then L2-normalize, if the vectors
        are normalized): sentence-transformers' ``truncate_dim``, for Matryoshka models.
    """

    prompt: str | None = None
    dim: int | None = None


class TokenEncoder(Encoder):
    """Base of encoders whose inputs are texts: owns the tokenizer and the prompts."""

    options_type = TextOptions

    def __init__(self, model, session):
        super().__init__(model, session)
        self.tokenizer = TextTokenizer(model.file("tokenizer.json"), self.info.max_length)
        self.decoder_inputs = DecoderInputs.of(session)

    def window(self, max_length: int | None, default: int | None = None) -> int:
        """Tokens per input: ``max_length``, else ``default``, else the model's limit; never
        more than that limit (the model has no position embeddings past it)."""
        return min(max_length or default or self.info.max_length, self.info.max_length)

    def tokenize(self, texts: Sequence[str], options: TextOptions) -> Prepared:
        """Token rows (:class:`~dfembed.encoders.tokens.TokenRows`) of the prompted texts."""
        prefix = prompt_text(self.info, options.query, getattr(options, "prompt", None))
        rows = self.tokenizer.encode(
            texts, prefix=prefix, max_length=self.window(options.max_length)
        )
        return Prepared(lengths=rows.lengths, data=rows)

    def prepare(self, items: Sequence[str], options: TextOptions) -> Prepared:
        return self.tokenize(items, options)

    def feed(
        self, prepared: Prepared, positions: np.ndarray
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Model inputs for a batch (rows padded on the right), and its attention mask.

        Decoder exports also get their position ids and an empty key/value cache
        (:class:`~dfembed.encoders.decoder_inputs.DecoderInputs`).
        """
        names = self.decoder_inputs.others(self.input_names)
        inputs, mask = feed(prepared.data, positions, names, self.tokenizer.pad_id)
        return {**inputs, **self.decoder_inputs.feed(mask)}, mask


def pool(hidden: np.ndarray, mask: np.ndarray, how: str) -> np.ndarray:
    """Sentence vectors from token vectors ``[B, T, D]`` with attention ``mask`` ``[B, T]``.

    ``last`` reads each row's last real token. Rows are padded on the right, so that is
    at ``mask.sum() - 1``: for a causal model exactly the vector the row has alone, and
    what sentence-transformers' ``lasttoken`` pooling reads from left-padded rows (their
    rotary positions shift, relative distances do not).
    """
    if hidden.ndim == 2 or how == "none":
        return hidden
    if how == "cls":
        return hidden[:, 0]
    if how == "mean":
        weights = mask[..., None].astype(hidden.dtype)
        return (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    if how == "last":
        last = np.maximum(mask.sum(axis=1) - 1, 0)
        return hidden[np.arange(len(hidden)), last]
    raise ValueError(f"Unknown pooling {how!r}: use 'mean', 'cls', 'last' or 'none'.")


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class TextEncoder(TokenEncoder):
    """Dense sentence embeddings, one fixed-width float32 vector per text."""

    kind = "text"
    options_type = DenseOptions

    def run(self, prepared: Prepared, positions: np.ndarray, options: TextOptions) -> np.ndarray:
        inputs, mask = self.feed(prepared, positions)
        vectors = pool(self.run_model(inputs), mask, self.info.pooling)
        if vectors.ndim != 2:
            raise ModelLoadError(
                f"{self.model.folder} gives per-token vectors {vectors.shape} from output "
                f'{self.output_name()!r} with pooling "none": name its pooled output in '
                'dfembed.json ("output_name"), or set "pooling" to how the model pools.'
            )
        if self.info.dim and vectors.shape[-1] != self.info.dim:  # else Dask's meta is wrong
            raise ModelLoadError(
                f"{self.model.folder} gives {vectors.shape[-1]}-wide vectors, not the "
                f'{self.info.dim} its description says: fix "dim" in its dfembed.json.'
            )
        cut = getattr(options, "dim", None)
        if cut:  # Matryoshka: the first values, then normalized (as truncate_dim does)
            vectors = vectors[:, :cut]
        if self.normalizes(options):
            vectors = l2_normalize(vectors)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    @property
    def dim(self) -> int:
        return self.info.dim

    def width(self, options: EncodeOptions) -> int:
        return getattr(options, "dim", None) or self.info.dim
