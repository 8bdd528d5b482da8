"""Tokenization with the ``tokenizers`` library, and padding of one batch into model inputs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import ModelLoadError

#: More characters per token than any real text averages (English is ~4).
_CHARS_PER_TOKEN = 16


def _prefix(text: str, cap: int) -> str:
    """``text`` itself when short, else its start cut at the last space before ``cap``."""
    if len(text) <= cap:
        return text
    cut = text.rfind(" ", 0, cap)
    return text[: cut if cut > 0 else cap]


class TextTokenizer:
    """A model's ``tokenizer.json``, truncating to a maximum length and never padding.

    Padding happens per batch in :meth:`feed`, to the longest row of that batch only.
    """

    def __init__(self, path: Path | None, max_length: int, vocab_size: int | None = None):
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
        self.max_length = max_length
        self.tokenizer.enable_truncation(max_length)
        self.pad_id = self._pad_id()
        vocab = self.tokenizer.get_vocab_size()
        if vocab_size is not None and vocab > vocab_size:
            raise ModelLoadError(
                f"The tokenizer has {vocab} tokens but the model's vocabulary has {vocab_size}: "
                "the tokenizer.json does not belong to this model."
            )

    def _pad_id(self) -> int:
        for token in ("[PAD]", "<pad>", "<|endoftext|>"):
            token_id = self.tokenizer.token_to_id(token)
            if token_id is not None:
                return token_id
        return 0

    def with_max_length(self, max_length: int) -> None:
        """Change truncation (capped by the model's own limit by the caller)."""
        if max_length != self.max_length:
            self.tokenizer.enable_truncation(max_length)
            self.max_length = max_length

    def encode(self, texts: Sequence[str], pairs: Sequence[str] | None = None) -> list:
        """Token encodings of ``texts`` (or of ``(pair, text)`` when ``pairs`` is given)."""
        if pairs is None:
            return self._encode_truncated(list(texts))
        return self.tokenizer.encode_batch(
            list(zip(pairs, texts, strict=False)), add_special_tokens=True
        )

    def _encode_truncated(self, texts: list[str]) -> list:
        """Encode only a prefix of long texts: the rest would be truncated away anyway.

        ``tokenizers`` encodes a whole text before truncating it, so a 100k-character text
        costs memory and time for tokens that are thrown away. A whitespace-cut prefix of
        ``_CHARS_PER_TOKEN`` characters per window token fills the window for any real text;
        a prefix that does not is encoded again in full, so results never change.
        """
        cap = self.max_length * _CHARS_PER_TOKEN
        cut = [_prefix(text, cap) for text in texts]
        encodings = self.tokenizer.encode_batch(cut, add_special_tokens=True)
        redo = [
            i
            for i, enc in enumerate(encodings)
            if cut[i] is not texts[i] and len(enc.ids) < self.max_length
        ]
        if redo:
            whole = self.tokenizer.encode_batch([texts[i] for i in redo], add_special_tokens=True)
            for i, enc in zip(redo, whole, strict=True):
                encodings[i] = enc
        return encodings

    def token_id(self, token: str) -> int | None:
        return self.tokenizer.token_to_id(token)


def feed(
    encodings: Sequence, positions: np.ndarray, input_names: Sequence[str], pad_id: int
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Pad the chosen encodings to the batch's longest: the model's inputs, and the mask."""
    rows = [encodings[i] for i in positions]
    width = max(len(e.ids) for e in rows)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    types = np.zeros((len(rows), width), dtype=np.int64)
    for r, enc in enumerate(rows):
        n = len(enc.ids)
        ids[r, :n] = enc.ids
        mask[r, :n] = 1
        types[r, :n] = enc.type_ids
    available = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    missing = [name for name in input_names if name not in available]
    if missing:
        raise ModelLoadError(
            f"The ONNX model asks for inputs {missing} that a text encoder cannot provide "
            "(it expects input_ids, attention_mask and optionally token_type_ids)."
        )
    return {name: available[name] for name in input_names}, mask
