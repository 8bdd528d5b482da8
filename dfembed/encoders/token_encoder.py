"""The base of encoders whose inputs are texts, and the options they share.

Dense text, sparse (SPLADE), late interaction and rerank encoders all tokenize with the
model's ``tokenizer.json`` and its prompts, and feed padded token rows to the graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

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


class TokenEncoder(Encoder):
    """Base of encoders whose inputs are texts: owns the tokenizer and the prompts."""

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
