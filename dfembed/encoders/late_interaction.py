"""Late interaction (ColBERT): one L2-normalized vector per token, scored with MaxSim.

The pre- and post-processing follow the published ColBERT models (Khattab & Zaharia 2020;
ColBERTv2, Santhanam et al. 2022), whose ONNX exports hold the encoder and its linear
projection only:

- a marker token goes right after ``[CLS]``: ``[unused0]`` ("[Q]") for queries,
  ``[unused1]`` ("[D]") for documents, so one network embeds both sides differently;
- queries are truncated to the query length (32 tokens, markers included; ``max_length=``
  sets it, as ColBERT's ``query_maxlen`` does) and padded up to it with the mask token. These
  "query augmentation" tokens are not attended to by the other tokens (ColBERTv2's
  ``attend_to_mask_tokens=False``; jina-colbert-v2 attends to them), but their output
  vectors are kept: every query gives exactly query-length vectors;
- documents drop the vectors of punctuation tokens (the first token of each character of
  ``string.punctuation``) and of padding;
- every kept vector is L2-normalized, so MaxSim sums cosine similarities.

Models that use other markers say so in the registry or their ``dfembed.json``
(``query_marker``, ``document_marker``, ``attend_expansion``).
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ModelLoadError
from .base import Prepared
from .kind import MULTIVECTOR, Kind, register
from .pooling import l2_normalize
from .token_encoder import TextOptions, TokenEncoder
from .tokens import TokenRows, feed

#: ColBERT's marker tokens in the BERT vocabulary, used when the model names none.
QUERY_MARKER = "[unused0]"
DOCUMENT_MARKER = "[unused1]"
#: ColBERT's query length (``query_maxlen``): queries are truncated and mask-padded to it.
QUERY_LENGTH = 32
#: The mask token pads queries; BERT vocabularies spell it ``[MASK]``, XLM-R ``<mask>``.
MASK_TOKENS = ("[MASK]", "<mask>")


@dataclass(frozen=True, eq=False)
class MarkedTokens:
    """Inputs' tokens with the marker inserted (and, for queries, mask padding).

    ``tokens`` is what :func:`~dfembed.encoders.tokens.feed` pads into a batch. The model
    attends to the first ``attended[i]`` positions of row ``i``; ``keep`` (lined up with
    ``tokens.ids``) says which positions' vectors are returned (``None``: all of them).
    """

    tokens: TokenRows
    attended: np.ndarray
    keep: np.ndarray | None

    def kept(self, i: int) -> np.ndarray | None:
        """Row ``i``'s ``keep`` flags, or ``None`` when every vector is kept."""
        if self.keep is None:
            return None
        return self.keep[self.tokens.starts[i] : self.tokens.starts[i + 1]]


def insert_marker(
    rows: TokenRows, marker: int, pad_to: int = 0, pad_id: int = 0
) -> tuple[TokenRows, np.ndarray]:
    """``rows`` with ``marker`` after each row's first token, padded to ``pad_to`` with ``pad_id``.

    Returns the new rows and each row's length before padding. Type ids of the marker and
    of the padding are 0. Done on the flat arrays at once: each old token moves to its row's
    new start plus its index in the row, plus one from the second token on.
    """
    lengths = rows.lengths
    marked = lengths + 1
    padded = np.maximum(marked, pad_to)
    starts = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(padded, out=starts[1:])
    within = np.arange(len(rows.ids)) - np.repeat(rows.starts[:-1], lengths)
    dest = np.repeat(starts[:-1], lengths) + within + (within >= 1)
    ids = np.full(int(starts[-1]), pad_id, dtype=np.int32)
    ids[dest] = rows.ids
    ids[starts[:-1] + np.minimum(lengths, 1)] = marker
    types = None
    if rows.type_ids is not None:
        types = np.zeros(len(ids), dtype=rows.type_ids.dtype)
        types[dest] = rows.type_ids
    return TokenRows(ids, starts, types), marked


class LateInteractionEncoder(TokenEncoder):
    """ColBERT-style token vectors: a ``[tokens, dim]`` float32 matrix per text."""

    kind = "late_interaction"

    def __init__(self, model, session):
        super().__init__(model, session)
        info = self.info
        self.query_marker_id = self._token_id(info.query_marker or QUERY_MARKER, "query_marker")
        self.document_marker_id = self._token_id(
            info.document_marker or DOCUMENT_MARKER, "document_marker"
        )
        mask_ids = [self.tokenizer.token_id(t) for t in MASK_TOKENS]
        found = [i for i in mask_ids if i is not None]
        if not found:
            raise ModelLoadError(
                f"The tokenizer of {info.name} has no mask token ({' or '.join(MASK_TOKENS)}), "
                "which ColBERT queries are padded with: use the model's own tokenizer.json."
            )
        self.mask_id = found[0]
        self.attend_expansion = info.attend_expansion
        self.skip_ids = self._punctuation_ids()

    def _token_id(self, token: str, field: str) -> int:
        token_id = self.tokenizer.token_id(token)
        if token_id is None:
            raise ModelLoadError(
                f"The tokenizer of {self.info.name} has no token {token!r} to mark inputs "
                f"with: set {field} in the model's dfembed.json to the marker token the model "
                "was trained with."
            )
        return token_id

    def _punctuation_ids(self) -> np.ndarray:
        """Token ids whose document vectors ColBERT drops: one per punctuation character."""
        ids = set()
        for symbol in string.punctuation:
            encoded = self.tokenizer.tokenizer.encode(symbol, add_special_tokens=False).ids
            if encoded:
                ids.add(encoded[0])
        return np.array(sorted(ids), dtype=np.int64)

    def prepare(self, items: Sequence[str], options: TextOptions) -> Prepared:
        """Tokenize with one slot left for the marker; lengths count marker and padding.

        A query's length (:data:`QUERY_LENGTH` unless ``max_length`` says) is both where it
        is truncated and what it is mask-padded to, as ColBERT's ``query_maxlen`` is.
        """
        length = self.window(options.max_length, QUERY_LENGTH if options.query else None)
        rows = self.tokenizer.encode(list(items), max_length=max(length - 1, 2))
        marked = self._mark(rows, length if options.query else None)
        return Prepared(lengths=marked.tokens.lengths, data=marked)

    def _mark(self, rows: TokenRows, query_length: int | None) -> MarkedTokens:
        """Insert the marker; queries (``query_length`` given) are mask-padded to it,
        documents skip punctuation vectors."""
        if query_length is None:
            tokens, attended = insert_marker(rows, self.document_marker_id)
            return MarkedTokens(tokens, attended, ~np.isin(tokens.ids, self.skip_ids))
        tokens, marked = insert_marker(rows, self.query_marker_id, query_length, self.mask_id)
        return MarkedTokens(tokens, tokens.lengths if self.attend_expansion else marked, None)

    def run(self, prepared: Prepared, positions: np.ndarray, options: TextOptions) -> list:
        marked: MarkedTokens = prepared.data
        inputs, mask = feed(marked.tokens, positions, self.input_names, self.tokenizer.pad_id)
        if "attention_mask" in inputs:
            # attended <= each row's length, so this is the padding mask cut at ``attended``
            attended = marked.attended[positions]
            inputs["attention_mask"] = (np.arange(mask.shape[1]) < attended[:, None]).astype(
                np.int64
            )
        hidden = self.run_model(inputs)
        if hidden.ndim != 3:
            raise ModelLoadError(
                f"{self.info.name} gave output {self.output_name()!r} of shape {hidden.shape}; "
                "late interaction needs per-token vectors [batch, tokens, dim]. Set "
                "output_name in the model's dfembed.json to its token-vector output."
            )
        self.check_width(hidden.shape[-1])
        if self.normalizes(options):
            hidden = l2_normalize(hidden)
        lengths = marked.tokens.lengths[positions]
        out = []
        for r, (i, n) in enumerate(zip(positions, lengths, strict=True)):
            vectors = hidden[r, :n]
            keep = marked.kept(i)
            if keep is not None:
                vectors = vectors[keep]
            out.append(np.ascontiguousarray(vectors, dtype=np.float32))
        return out


KIND = register(
    Kind(
        name="late_interaction",
        options=TextOptions,
        encoders={"none": LateInteractionEncoder},
        column=MULTIVECTOR,
        default_model="colbert-ir/colbertv2.0",
        # [CLS] marker text [SEP]
        min_max_length=4,
    )
)
