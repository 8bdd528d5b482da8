"""Cutting long texts before tokenizing them, without changing their tokens.

``tokenizers`` encodes a whole text before truncating it, so a 100k-character text costs
memory and time for tokens that are thrown away. A text is cut where the tokenizer's own
pipeline ends a word (:func:`separators`, :class:`PrefixCut`), so the prefix's tokens are
the first tokens of the whole text (:func:`encode_truncated`); both sides of a pair are cut
the same way (:func:`encode_pairs_truncated`).
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


def encode_pairs_truncated(
    tokenizer: Tokenizer, pairs: Sequence[tuple[str, str]], max_length: int, cut: PrefixCut
) -> list:
    """Encode ``(first, second)`` pairs from prefixes of their long sides, as in
    :func:`encode_truncated`: the tokens of a full encode truncated longest-first.

    Longest-first truncation keeps a prefix of each side. When one side alone fills the
    window (``max_length`` tokens or more) and the other does not, the first keeps the
    room the other leaves, however long it is: so a cut side that fills the window, with
    an uncut side that does not, gives the whole pair's tokens. When both fill it, each
    keeps half (:func:`_halves`). A pair cut otherwise (a cut side with fewer tokens than
    the window) is encoded whole. Whole pairs are costly: ``tokenizers`` keeps the
    truncated rest as overflowing pieces, every piece of one side with every piece of the
    other (two 100 KB texts took 7.6 s and 2.5 GB). ``tokenizer`` must truncate to
    ``max_length``.
    """
    cap = max_length * _CHARS_PER_TOKEN
    cut_pairs = [(cut.prefix(first, cap), cut.prefix(second, cap)) for first, second in pairs]
    was_cut = [(c[0] is not p[0], c[1] is not p[1]) for c, p in zip(cut_pairs, pairs, strict=True)]
    cut_at = [i for i, sides in enumerate(was_cut) if any(sides)]
    if not cut_at:
        return tokenizer.encode_batch(cut_pairs, add_special_tokens=True)
    sides = [side for i in cut_at for side in cut_pairs[i]]
    alone = tokenizer.encode_batch(sides, add_special_tokens=False)  # truncated to the window
    both_fill = {}
    for k, i in enumerate(cut_at):
        first, second = alone[2 * k], alone[2 * k + 1]
        fills = (len(first.ids) >= max_length, len(second.ids) >= max_length)
        if all(fills):
            both_fill[i] = (first, second)
        elif fills != was_cut[i]:  # only a cut side that fills the window keeps the tokens
            cut_pairs[i] = pairs[i]
    encodings = tokenizer.encode_batch(cut_pairs, add_special_tokens=True)
    if both_fill:
        room = max_length - len(tokenizer.encode("", "").ids)  # after the special tokens
        for i, encoded in both_fill.items():
            encodings[i] = _halves(tokenizer, pairs[i], was_cut[i], encoded, room)
    return encodings


def _halves(
    tokenizer: Tokenizer,
    pair: tuple[str, str],
    was_cut: tuple[bool, bool],
    encoded: tuple,
    room: int,
):
    """The pair's encoding when both sides fill the window: ``room // 2`` tokens each.

    ``encoded`` holds each side, as cut, encoded alone. An odd ``room`` gives its odd token
    to the side with more tokens in all (the second on a tie), so a cut side's tokens are
    then counted on the whole text, once, without pairing its pieces with the other's.
    """
    first, second = encoded
    first_longer = False
    if room % 2:
        counts = [
            _token_count(tokenizer.encode(text, add_special_tokens=False) if cut else enc)
            for text, cut, enc in zip(pair, was_cut, encoded, strict=True)
        ]
        first_longer = counts[0] > counts[1]
    kept = room // 2 + (room % 2 if first_longer else 0)
    first.truncate(kept)
    second.truncate(room - kept)
    return tokenizer.post_process(first, second, add_special_tokens=True)


def _token_count(encoding) -> int:
    """Tokens of a truncated encoding, its overflowing rest included (no stride)."""
    return len(encoding.ids) + sum(len(piece.ids) for piece in encoding.overflowing)
