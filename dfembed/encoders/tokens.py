"""Tokenization with the ``tokenizers`` library into compact token rows, and batch padding.

``tokenizers`` returns one ``Encoding`` object per text holding ids, type ids, token strings,
offsets and masks: several KB per text. A partition of 100,000 distinct texts would keep
~600 MB of them alive through the whole batching run, so texts are tokenized in chunks and
only their ids (and type ids, when any is not 0) are kept, in flat arrays (:class:`TokenRows`).
Long texts are encoded from a prefix cut where the tokenizer ends a word (:class:`PrefixCut`),
which gives exactly the tokens of the whole text, truncated; so are both sides of pairs.

A Rust panic in the tokenizer (a hostile ``tokenizer.json``: a regex that backtracks without
end) reaches Python as a ``BaseException`` that ``except Exception`` misses. Inputs are
encoded through :func:`_guarded`, which finds the input that panics and raises a
:class:`~dfembed.errors.TokenizerError` instead.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from ..errors import ModelLoadError, TokenizerError, is_panic
from .prefix_cut import PrefixCut, encode_pairs_truncated, encode_truncated, separators

if TYPE_CHECKING:
    from tokenizers import Tokenizer

T = TypeVar("T")

#: Texts per ``encode_batch`` call: only this many ``Encoding`` objects live at once.
CHUNK_TEXTS = 1024
#: Tokenizer copies kept per :class:`TextTokenizer` for lengths other than its default.
_COPIES = 8


def _flat(rows: Sequence[Sequence[int]], total: int) -> np.ndarray:
    """The rows' integers one after the other, as one int32 array of ``total`` values."""
    return np.fromiter(itertools.chain.from_iterable(rows), np.int32, total)


@dataclass(frozen=True, eq=False)
class TokenRows:
    """Token ids of many rows in flat arrays: row ``i`` is ``ids[starts[i]:starts[i + 1]]``.

    About 4 bytes per token instead of an ``Encoding`` object per row. ``type_ids`` lines up
    with ``ids``, or is ``None`` when every type id is 0 (single texts of most models).
    """

    ids: np.ndarray
    starts: np.ndarray
    type_ids: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.starts) - 1

    @property
    def lengths(self) -> np.ndarray:
        """Tokens per row (int64)."""
        return np.diff(self.starts)

    def row(self, i: int) -> np.ndarray:
        """Row ``i``'s token ids."""
        return self.ids[self.starts[i] : self.starts[i + 1]]

    def row_type_ids(self, i: int) -> np.ndarray:
        """Row ``i``'s token type ids (zeros when the rows have none)."""
        if self.type_ids is None:
            return np.zeros(self.starts[i + 1] - self.starts[i], dtype=np.int32)
        return self.type_ids[self.starts[i] : self.starts[i + 1]]

    @classmethod
    def from_rows(
        cls,
        ids: Sequence[Sequence[int]],
        type_ids: Sequence[Sequence[int]] | None = None,
    ) -> TokenRows:
        """Rows from per-row id lists (and type id lists of the same lengths, if any)."""
        lengths = np.fromiter((len(r) for r in ids), np.int64, len(ids))
        starts = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(lengths, out=starts[1:])
        total = int(starts[-1])
        flat_types = None if type_ids is None else _flat(type_ids, total)
        if flat_types is not None and not flat_types.any():
            flat_types = None
        return cls(_flat(ids, total), starts, flat_types)

    @classmethod
    def from_encodings(cls, encodings: Sequence) -> TokenRows:
        """Rows holding the ids and type ids of ``tokenizers`` encodings."""
        return cls.from_rows([e.ids for e in encodings], [e.type_ids for e in encodings])

    @classmethod
    def concat(cls, parts: Sequence[TokenRows]) -> TokenRows:
        """The rows of ``parts``, one part after the other."""
        if len(parts) == 1:
            return parts[0]
        if not parts:
            return cls(np.zeros(0, np.int32), np.zeros(1, np.int64))
        shifts = np.cumsum([0] + [len(p.ids) for p in parts[:-1]])
        starts = np.concatenate(
            [np.zeros(1, np.int64)] + [p.starts[1:] + s for p, s in zip(parts, shifts, strict=True)]
        )
        ids = np.concatenate([p.ids for p in parts])
        types = None
        if any(p.type_ids is not None for p in parts):
            types = np.concatenate(
                [p.type_ids if p.type_ids is not None else np.zeros_like(p.ids) for p in parts]
            )
        return cls(ids, starts, types)

    def pad(self, positions: np.ndarray, pad_id: int) -> tuple[np.ndarray, ...]:
        """The rows at ``positions`` padded to the longest of them: ids, mask, type ids.

        All three are int64 ``[rows, longest]``. Every real token of the batch is gathered
        with one fancy index: row-major order of the mask's 1s is the order of the rows'
        tokens one after the other.
        """
        positions = np.asarray(positions, dtype=np.intp)
        begin = self.starts[positions]
        lengths = self.starts[positions + 1] - begin
        width = int(lengths.max()) if len(lengths) else 0
        real = np.arange(width) < lengths[:, None]
        # source of each real token: its rank in the batch plus its row's offset
        before = np.cumsum(lengths) - lengths
        source = np.arange(int(lengths.sum())) + np.repeat(begin - before, lengths)
        ids = np.full(real.shape, pad_id, dtype=np.int64)
        ids[real] = self.ids[source]
        types = np.zeros(real.shape, dtype=np.int64)
        if self.type_ids is not None:
            types[real] = self.type_ids[source]
        return ids, real.astype(np.int64), types


class TextTokenizer:
    """A model's ``tokenizer.json``, truncating to a maximum length and never padding.

    Padding happens per batch in :func:`feed`, to the longest row of that batch only.

    Truncation is state of a ``tokenizers.Tokenizer``, and one encoder (so one of these) is
    shared by every thread of a process. Setting it on one shared tokenizer let a thread
    encode with another thread's length, so each length gets its own copy, made once and
    never changed: threads encode in parallel (``encode_batch`` releases the GIL) with no
    lock around encoding.
    """

    def __init__(self, path: Path | None, max_length: int):
        from tokenizers import Tokenizer

        if path is None:
            raise ModelLoadError(
                "The model folder has no tokenizer.json: copy the model's tokenizer.json "
                "next to its ONNX file (older repositories ship only vocab.txt; save it with "
                "transformers' tokenizer.save_pretrained to get one)."
            )
        try:
            self.tokenizer = Tokenizer.from_file(str(path))
        except Exception as exc:
            raise ModelLoadError(f"{path} is not a valid tokenizers file: {exc}") from exc
        self.tokenizer.no_padding()
        #: The default window; ``self.tokenizer`` truncates to it and is never changed again.
        self.max_length = max_length
        self.tokenizer.enable_truncation(max_length)
        self._copies: dict[int, Tokenizer] = {}
        self._copies_lock = threading.Lock()
        # separators() runs the tokenizer's normalizer and pre-tokenizer on probe texts
        self._cut, panic = _attempt(lambda: PrefixCut(separators(self.tokenizer)))
        if panic is not None:
            raise ModelLoadError(panic_message(panic, f"probe texts while loading {path}"))
        self.pad_id = self._pad_id()

    def _pad_id(self) -> int:
        for token in ("[PAD]", "<pad>", "<|endoftext|>"):
            token_id = self.tokenizer.token_to_id(token)
            if token_id is not None:
                return token_id
        return 0

    def _truncating(self, max_length: int) -> Tokenizer:
        """The ``tokenizers.Tokenizer`` truncating to ``max_length``: never changed once made.

        Copies (~40 ms and a few MB each for a BERT vocabulary) are kept for the last
        :data:`_COPIES` lengths; a thread still encoding with an evicted one keeps its own
        reference, so evicting is safe.
        """
        if max_length == self.max_length:
            return self.tokenizer
        copy = self._copies.get(max_length)
        if copy is not None:
            return copy
        with self._copies_lock:
            copy = self._copies.get(max_length)
            if copy is None:
                copy = type(self.tokenizer).from_str(self.tokenizer.to_str())
                copy.enable_truncation(max_length)
                if len(self._copies) >= _COPIES:
                    del self._copies[next(iter(self._copies))]
                self._copies[max_length] = copy
        return copy

    def encode(
        self,
        texts: Sequence[str],
        pairs: Sequence[str] | None = None,
        prefix: str = "",
        max_length: int | None = None,
    ) -> TokenRows:
        """Token rows of ``prefix + text`` per text, or of ``(pair, text)`` when ``pairs`` is given.

        Rows are truncated to ``max_length`` tokens (default: the window given when this was
        made). Texts are tokenized :data:`CHUNK_TEXTS` at a time, so ``Encoding`` objects
        (and the prefixed copies of the texts) only exist for one chunk; only their ids are
        kept.
        """
        window = max_length or self.max_length
        tokenizer = self._truncating(window)

        def encode_texts(chunk: list) -> list:
            return encode_truncated(tokenizer, chunk, window, self._cut)

        def encode_pairs(chunk: list) -> list:
            return encode_pairs_truncated(tokenizer, chunk, window, self._cut)

        parts = []
        for start in range(0, len(texts), CHUNK_TEXTS):
            chunk = texts[start : start + CHUNK_TEXTS]
            if pairs is None:
                chunk = [prefix + t for t in chunk] if prefix else list(chunk)
                encodings = _guarded(encode_texts, chunk, start)
            else:
                both = list(zip(pairs[start : start + CHUNK_TEXTS], chunk, strict=False))
                encodings = _guarded(encode_pairs, both, start)
            parts.append(TokenRows.from_encodings(encodings))
        return TokenRows.concat(parts)

    def token_id(self, token: str) -> int | None:
        return self.tokenizer.token_to_id(token)


def panic_message(reason: str, where: str) -> str:
    """What a :class:`~dfembed.errors.TokenizerError` says: where it panicked, and what to do."""
    return (
        f"The model's tokenizer (its tokenizer.json) panicked on {where}: {reason}. The "
        "tokenizer file may be hostile or broken (a normalizer or pre-tokenizer regex that "
        "backtracks without end, for one): use the model's original tokenizer.json, or "
        "leave that input out."
    )


def _attempt(call: Callable[[], T]) -> tuple[T | None, str | None]:
    """``call()``'s result and ``None``, or ``None`` and the message of its panic.

    Errors are raised by the callers after the ``except`` block has ended, so the panic is
    not chained to them: Dask could not pickle it.
    """
    try:
        return call(), None
    except BaseException as exc:
        if not is_panic(exc):
            raise
        return None, f"{type(exc).__name__}: {exc}"


def _guarded(encode: Callable[[list], list], inputs: list, start: int = 0) -> list:
    """``encode(inputs)``, with a panic turned into a :class:`TokenizerError` naming the input.

    When the batch panics, its inputs are encoded one at a time to find the first that
    panics alone; ``start`` is the batch's offset in the caller's list of inputs.
    """
    encodings, reason = _attempt(lambda: encode(inputs))
    if reason is None:
        return encodings
    for position, one in enumerate(inputs):
        _, alone = _attempt(lambda: encode([one]))  # noqa: B023 - called at once
        if alone is not None:
            where = f"input {start + position}"
            raise TokenizerError(panic_message(alone, where), start + position, alone)
    where = f"a batch of {len(inputs)} inputs, though on none of them alone"
    raise TokenizerError(panic_message(reason, where), reason=reason)


def feed(
    tokens: TokenRows, positions: np.ndarray, input_names: Sequence[str], pad_id: int
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Pad the rows at ``positions`` to the batch's longest: the model's inputs, and the mask."""
    ids, mask, types = tokens.pad(positions, pad_id)
    available = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    missing = [name for name in input_names if name not in available]
    if missing:
        raise ModelLoadError(
            f"The ONNX model asks for inputs {missing} that a text encoder cannot provide "
            "(it expects input_ids, attention_mask and optionally token_type_ids)."
        )
    return {name: available[name] for name in input_names}, mask
