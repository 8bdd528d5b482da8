"""Cross-encoder reranking: one relevance score per ``(query, text)`` pair.

The query and the text are tokenized together as a pair (``[CLS] query [SEP] text [SEP]`` with
``token_type_ids`` 0 then 1 for BERT vocabularies), truncated longest-first to the maximum
length, and run through the model, whose classification head gives the score:

- one logit per pair (``[B, 1]`` or ``[B]``, the MS MARCO and BGE rerankers): that logit;
- two logits per pair (``[B, 2]``, "not relevant" / "relevant" heads): the log-odds of the
  relevant class, ``logit[1] - logit[0]``, so that ``sigmoid=True`` gives exactly the
  softmax probability of class 1.

Scores are the raw logits unless ``sigmoid=True``; either way higher means more relevant, and
the ranking is the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .. import inputs
from ..errors import ModelLoadError
from .base import EncodeOptions, Prepared
from .kind import SCORES, Kind, register
from .token_encoder import TokenEncoder


@dataclass(frozen=True)
class RerankOptions(EncodeOptions):
    """Options of cross-encoder reranking.

    Parameters
    ----------
    max_length
        Most tokens per (query, text) pair; the longer of the two is cut first. ``None``
        uses the model's own limit.
    sigmoid
        Return ``sigmoid(logit)`` in (0, 1) instead of the raw logit.
    """

    max_length: int | None = None
    sigmoid: bool = False


def relevance(logits: np.ndarray) -> np.ndarray:
    """One score per row of a classification head's output (see the module docstring)."""
    if logits.ndim == 1:
        return logits
    if logits.ndim == 2 and logits.shape[1] == 1:
        return logits[:, 0]
    if logits.ndim == 2 and logits.shape[1] == 2:
        return logits[:, 1] - logits[:, 0]
    raise ModelLoadError(
        f"A reranker should output one or two logits per pair, not shape {logits.shape}: "
        "check that the model is a cross-encoder (sequence classification), or set "
        "output_name in its dfembed.json."
    )


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function, computed without overflow for large negative logits."""
    out = np.empty_like(x, dtype=np.float64)
    positive = x >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-x[positive]))
    e = np.exp(x[~positive])
    out[~positive] = e / (1.0 + e)
    return out


class RerankEncoder(TokenEncoder):
    """Scores ``(query, text)`` tuples with a cross-encoder, one float32 per pair."""

    kind = "rerank"

    def prepare(self, items: Sequence[tuple[str, str]], options: RerankOptions) -> Prepared:
        """Token rows of each ``(query, text)`` pair, with the pair's token type ids."""
        queries = [query for query, _ in items]
        texts = [text for _, text in items]
        window = self.window(options.max_length)
        rows = self.tokenizer.encode(texts, pairs=queries, max_length=window)
        return Prepared(lengths=rows.lengths, data=rows)

    def run(self, prepared: Prepared, positions: np.ndarray, options: RerankOptions) -> np.ndarray:
        inputs, _ = self.feed(prepared, positions)
        scores = relevance(np.asarray(self.run_model(inputs), dtype=np.float64))
        if options.sigmoid:
            scores = sigmoid(scores)
        return scores.astype(np.float32)


def read_pairs(values, column: object, task, part):
    """``(query, text)`` pairs: one query for every row (``task.query``), or each row's own
    from the partition's ``task.query_column``."""
    queries = None if task.query_column is None else part[task.query_column]
    return inputs.pairs(values, column, task.query, queries)


KIND = register(
    Kind(
        name="rerank",
        options=RerankOptions,
        encoders={"none": RerankEncoder},
        column=SCORES,
        default_model="Xenova/ms-marco-MiniLM-L-6-v2",
        read=read_pairs,
        min_max_length=4,  # [CLS] query [SEP] text [SEP]
        # classification exports name their head's output so; else the first output
        outputs=("logits",),
    )
)
