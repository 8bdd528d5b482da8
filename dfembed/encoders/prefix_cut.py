"""Cutting long texts before tokenizing them, without changing their tokens.

``tokenizers`` encodes a whole text before truncating it, so a 100k-character text costs
memory and time for tokens that are thrown away. A text is cut where the tokenizer's own
pipeline ends a word (:func:`separators`, :class:`PrefixCut`), so the prefix's tokens are
the first tokens of the whole text (:func:`encode_truncated`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tokenizers import Tokenizer

#: More characters per token than any real text averages (English is ~4).
_CHARS_PER_TOKEN = 16
#: Whitespace a long text may be cut at (see :func:`separators`): tab, newline, carriage
#: return and the Unicode spaces and line separators; not the other control characters,
#: which BERT's normalizer deletes rather than splits at.
_WHITESPACE = (
    " \t\n\r\u00a0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)
#: Texts probed on each side of a candidate cut: letters, digits, punctuation, CJK, accents,
#: an apostrophe, a word long enough for WordPiece's [UNK]; then whitespace runs and nothing.
_PROBE_ENDS = ("a", "Z", "7", ".", "'", "\u65e5", "\u00e9", "e\u0301", "\u00df", "x" * 120)
_PROBE_STARTS = ("b", "7", ".", "\u65e5", "\u0301", "'s", " b", "\tb", "\nb", "\u3000b", "")


def _words(tokenizer: Tokenizer, text: str) -> list[tuple[str, tuple[int, int]]]:
    """``text`` normalized and split into words by ``tokenizer``, with their character spans."""
    from tokenizers import PreTokenizedString

    words = PreTokenizedString(text)
    if tokenizer.normalizer is not None:
        words.normalize(tokenizer.normalizer.normalize)
    if tokenizer.pre_tokenizer is not None:
        tokenizer.pre_tokenizer.pre_tokenize(words)
    return [(word, span) for word, span, _ in words.get_splits("original", "char")]


def _ends_words(tokenizer: Tokenizer, char: str) -> bool:
    """Whether the words of each probe ``end`` alone are those of ``end + char + start``
    that begin before ``char``: no word reaches across ``char``, and nothing after it
    changes the words before it (as ``'.\\n'`` does in GPT-4-style split patterns)."""
    for end in _PROBE_ENDS:
        alone = _words(tokenizer, end)
        for start in _PROBE_STARTS:
            words = _words(tokenizer, end + char + start)
            if [w for w in words if w[1][0] < len(end)] != alone:
                return False
    return True


def separators(tokenizer: Tokenizer) -> str:
    """The whitespace characters a long text can be cut before without changing its tokens.

    The model tokenizes words one by one, and the normalizer and pre-tokenizer make words
    from each character and its neighbours (BERT splits at whitespace and punctuation,
    Metaspace at spaces after normalizing, ByteLevel into regex pieces that never hold
    a non-space followed by a space). So a character qualifies when ``tokenizer``'s own
    pipeline ends words before it on every probe: tab does not for a Metaspace whose
    normalizer keeps tabs, nothing does for a pipeline keeping texts whole (Llama-style
    BPE). Added tokens are matched first, so characters in them are left out.
    """
    added = "".join(token.content for token in tokenizer.get_added_tokens_decoder().values())
    return "".join(c for c in _WHITESPACE if c not in added and _ends_words(tokenizer, c))


class PrefixCut:
    """Cuts long texts before a run of whitespace that the tokenizer ends words at.

    The prefix then ends with a whole word: its words, so its tokens, are the first ones of
    the whole text.
    """

    def __init__(self, separators: str):
        self._patterns: tuple[re.Pattern, re.Pattern] | None = None
        if separators:
            one_of = f"[{re.escape(separators)}]"
            # the last cut point is searched for in the reversed text
            self._patterns = (re.compile(one_of + r"\S"), re.compile(r"\S" + one_of))

    def prefix(self, text: str, cap: int) -> str:
        """``text`` cut at its last cut point within ``cap`` characters, else at its next.

        ``text`` itself (the same object) when it is short or has no cut point.
        """
        if len(text) <= cap or self._patterns is None:
            return text
        last, after = self._patterns
        found = last.search(text[cap::-1])  # reversed[j] is text[cap - j]
        if found is not None:
            return text[: cap - found.start()]
        found = after.search(text, cap)
        return text if found is None else text[: found.start() + 1]


def encode_truncated(
    tokenizer: Tokenizer, texts: Sequence[str], max_length: int, cut: PrefixCut
) -> list:
    """Encode only a prefix of long texts: the rest would be truncated away anyway.

    ``tokenizers`` encodes a whole text before truncating it, so a 100k-character text
    costs memory and time for tokens that are thrown away. ``cut`` keeps whole words, so a
    prefix's tokens are the text's first tokens: when they fill the window they are the
    window. A prefix of ``_CHARS_PER_TOKEN`` characters per window token fills it for any
    real prose; one that does not is encoded again in full, so results never change.
    ``tokenizer`` must truncate to ``max_length``.
    """
    cap = max_length * _CHARS_PER_TOKEN
    cut_texts = [cut.prefix(text, cap) for text in texts]
    encodings = tokenizer.encode_batch(cut_texts, add_special_tokens=True)
    redo = [
        i
        for i, enc in enumerate(encodings)
        if cut_texts[i] is not texts[i] and len(enc.ids) < max_length
    ]
    if redo:
        whole = tokenizer.encode_batch([texts[i] for i in redo], add_special_tokens=True)
        for i, enc in zip(redo, whole, strict=True):
            encodings[i] = enc
    return encodings
