"""Sparse text vectors: SPLADE (learned vocabulary weights) and BM25 (hashed term weights).

Each text becomes one ``(indices, values)`` pair: ``int32`` indices in ascending order and
their ``float32`` weights, stored as a ``struct<indices, values>`` column by
:func:`dfembed.columns.sparse` (``dfembed.to_scipy`` turns it into a CSR matrix).

Both encoders go through :meth:`Encoder.encode` like every other kind (dedup, length sort,
token-budget batching, order restore); they differ only in how a batch is computed.
"""

from __future__ import annotations

import numbers
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ModelLoadError
from ..models.file_names import PACKAGED_DATA
from ..models.resolved import ResolvedModel
from .base import EncodeOptions, Encoder, Prepared
from .kind import SPARSE, Kind, register
from .token_encoder import TokenEncoder


@dataclass(frozen=True)
class SparseOptions(EncodeOptions):
    """Options of sparse text encoders (sparse weights are never normalized).

    Parameters
    ----------
    token_budget
        Most padded tokens per SPLADE run. A run's output alone is ``rows x tokens x
        vocabulary`` float32 values (30,522 for BERT): the default 1,024 tokens make about
        125 MB, and ONNX Runtime holds one or two more arrays of that size inside the
        model's output layer.
    max_length
        SPLADE only: truncate texts to this many tokens. BM25 reads whole texts.
    query
        BM25: weigh each distinct query term 1 (no length normalization). SPLADE encodes
        queries and documents alike.
    k1, b, avg_len
        BM25 term-frequency saturation, length normalization (0 = none, 1 = full), and the
        average document length in (stemmed, non-stopword) words that lengths compare with.
    """

    max_length: int | None = None
    query: bool = False
    k1: float = 1.2
    b: float = 0.75
    avg_len: float = 256.0

    def __post_init__(self) -> None:
        for name in ("k1", "b", "avg_len"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"{name} must be a number, not {value!r}.")
        if self.k1 < 0:
            raise ValueError(f"k1 must be >= 0 (BM25 uses 1.2 by default), got {self.k1}.")
        if not 0 <= self.b <= 1:
            raise ValueError(f"b must be between 0 and 1 (0.75 by default), got {self.b}.")
        if self.avg_len <= 0:
            raise ValueError(
                f"avg_len must be > 0 (average words per document), got {self.avg_len}"
            )


def sparse_rows(weights: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The non-zero entries of each row of a dense ``[B, V]`` weight matrix.

    ``np.nonzero`` walks the matrix row by row, so each row's indices come out ascending.
    """
    rows, cols = np.nonzero(weights)
    values = weights[rows, cols].astype(np.float32, copy=False)
    cuts = np.searchsorted(rows, np.arange(1, len(weights)))
    return list(zip(np.split(cols.astype(np.int32), cuts), np.split(values, cuts), strict=True))


def splade_weights(logits: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``[B, V]`` SPLADE weights: the max over real tokens of ``log1p(relu(logits))``.

    ``log1p`` and ``relu`` are non-decreasing, so taking the max over tokens first gives the
    same values while transforming ``B x V`` numbers instead of ``B x T x V``. Padded tokens
    are zeroed in place (a zero is what ``relu`` would floor them to), so no second array as
    large as ``logits`` is made.
    """
    if not logits.flags.writeable:
        logits = logits.copy()
    logits[mask == 0] = 0.0
    peak = logits.max(axis=1)
    np.maximum(peak, 0.0, out=peak)
    return np.log1p(peak, out=peak)


class SpladeEncoder(TokenEncoder):
    """SPLADE: a masked-language model's logits turned into vocabulary-sized sparse vectors.

    The vector's index ``i`` is the tokenizer's token ``i``, so the weights can be read as
    words (``tokenizer.id_to_token``), the document's own and the related terms it expands to.
    """

    kind = "sparse"

    def run(
        self, prepared: Prepared, positions: np.ndarray, options: SparseOptions
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        inputs, mask = self.feed(prepared, positions)
        logits = self.run_model(inputs)
        vocab = self.tokenizer.tokenizer.get_vocab_size()
        if logits.ndim != 3 or logits.shape[-1] < vocab:
            raise ModelLoadError(
                f"{self.model.folder} is not a SPLADE (masked-language) model: its output "
                f"{self.output_name()!r} has shape {logits.shape}, not [batch, tokens, {vocab}] "
                "vocabulary logits. Export the model with its MLM head, or use "
                "df.embed.text for sentence-embedding models."
            )
        return sparse_rows(splade_weights(logits, mask))


# ---------------------------------------------------------------------------------- BM25

_NOT_WORD_OR_SPACE = re.compile(r"[^\w\s]")
_WORD = re.compile(r"\w+")
#: Words longer than this many characters are dropped (long hashes, URLs run together).
MAX_WORD_CHARS = 40
_INT32_MAX = 2**31 - 1
_DROPPED = -1


def words(text: str) -> list[str]:
    """Lowercased runs of word characters (Unicode letters, digits and ``_``).

    Symbols are blanked before lowercasing and runs are split after it, the order other BM25
    tools (fastembed's ``Qdrant/bm25``) use, so both agree on every text.
    """
    return _WORD.findall(_NOT_WORD_OR_SPACE.sub(" ", text).lower())


def term_id(stem: str) -> int:
    """A stem's index: the absolute value of its signed 32-bit murmur3 hash (seed 0).

    That is the index space of fastembed's ``Qdrant/bm25``, so vectors mix with theirs. The one
    hash whose absolute value (2**31) does not fit int32 is folded onto 2**31 - 1.
    """
    import mmh3

    return min(abs(mmh3.hash(stem)), _INT32_MAX)


def load_stopwords(model: ResolvedModel, language: str) -> frozenset[str]:
    """The ``<language>.txt`` stopword list of the model's folder, else dfembed's own copy.

    Lists are one word per line, like the Qdrant/bm25 hub repository's; a language with no
    list anywhere has no stopwords.
    """
    name = f"{language}.txt"
    path: Path | None = model.file(name)
    if path is None and (PACKAGED_DATA / name).exists():
        path = PACKAGED_DATA / name
    if path is None:
        return frozenset()
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(word.strip().lower() for word in lines if word.strip())


def bm25_weights(ids: np.ndarray, options: SparseOptions) -> tuple[np.ndarray, np.ndarray]:
    """One text's BM25 vector from its term indices (in text order, repeats kept).

    Documents: ``tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avg_len))`` per distinct term,
    where ``len`` counts the text's kept terms. Queries: weight 1 per distinct term. IDF is
    left to the index (e.g. Qdrant's ``modifier="idf"``), which knows the whole corpus. Two
    stems with the same hash count as one term.
    """
    unique, counts = np.unique(ids, return_counts=True)
    if options.query:
        return unique.astype(np.int32), np.ones(len(unique), dtype=np.float32)
    k1, b = options.k1, options.b
    tf = counts.astype(np.float64)
    norm = k1 * (1 - b + b * len(ids) / options.avg_len)
    return unique.astype(np.int32), (tf * (k1 + 1) / (tf + norm)).astype(np.float32)


class Bm25Encoder(Encoder):
    """BM25 term weights computed in Python: words, stopwords out, Snowball stems, hashed.

    There is no ONNX graph (``needs_session = False``); the "model" is a language, its
    stopword list and the weighting options. Stems are cached per encoder, since a corpus
    repeats a few thousand words over and over.
    """

    kind = "sparse"
    needs_session = False
    #: Stems cached per encoder before the cache is cleared (bounds its memory).
    cache_size = 500_000

    def __init__(self, model: ResolvedModel, session: object = None):
        super().__init__(model, None)
        from py_rust_stemmers import SnowballStemmer

        self.language = self.info.language or "english"
        try:
            self.stemmer = SnowballStemmer(self.language)
        except ValueError as exc:
            raise ModelLoadError(
                f"No Snowball stemmer for language {self.language!r} ({exc}); set "
                '"language" in the model\'s dfembed.json to one of those.'
            ) from exc
        self.stopwords = load_stopwords(model, self.language)
        self._ids: dict[str, int] = {}

    def _word_id(self, word: str) -> int:
        """The index of a lowercased word's stem, or ``_DROPPED`` for words BM25 skips."""
        found = self._ids.get(word)
        if found is not None:
            return found
        if (
            word in self.stopwords
            or len(word) > MAX_WORD_CHARS
            or (len(word) == 1 and unicodedata.category(word).startswith("P"))  # "_"
        ):
            found = _DROPPED
        else:
            stem = self.stemmer.stem_word(word)
            found = term_id(stem) if stem else _DROPPED
        if len(self._ids) >= self.cache_size:
            self._ids.clear()
        self._ids[word] = found
        return found

    def term_ids(self, text: str) -> np.ndarray:
        """The indices of a text's kept terms, in text order, repeats kept."""
        ids = (self._word_id(word) for word in words(text))
        return np.fromiter((i for i in ids if i != _DROPPED), dtype=np.int64)

    def prepare(self, items: Sequence[str], options: SparseOptions) -> Prepared:
        terms = [self.term_ids(text) for text in items]
        lengths = np.fromiter((len(t) for t in terms), np.int64, len(terms))
        return Prepared(lengths=lengths, data=terms)

    def run(
        self, prepared: Prepared, positions: np.ndarray, options: SparseOptions
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        return [bm25_weights(prepared.data[i], options) for i in positions]


KIND = register(
    Kind(
        name="sparse",
        options=SparseOptions,
        # any pooling but bm25 runs the graph as SPLADE; "" says just that
        encoders={"splade": SpladeEncoder, "bm25": Bm25Encoder, "": SpladeEncoder},
        column=SPARSE,
        default_model="prithivida/Splade_PP_en_v1",
        min_max_length=3,  # [CLS] text [SEP]
    )
)
