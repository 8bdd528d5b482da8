"""Encoding a prefix of long texts gives exactly the tokens of the whole text, truncated.

Random texts mix words of every length (WordPiece makes a word of over 100 characters one
[UNK], and its cut pieces many subwords), tabs, newlines, NBSP, U+3000, CJK and
punctuation, with and without ASCII spaces, and are checked against a plain full encode with
truncation. Tokenizers: all-MiniLM-L6-v2's real WordPiece one, and small Unigram and BPE ones
trained here on the pipelines of XLM-R (sentencepiece: Metaspace), GPT-2 (ByteLevel), a
GPT-4-style split pattern and Llama (no pre-tokenizer): none of those ships offline.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from dfembed.encoders import prefix_cut
from dfembed.encoders.prefix_cut import PrefixCut, separators
from dfembed.encoders.tokens import TextTokenizer

#: Alphabets of the random words: Latin, Thai, Japanese, digits, a ligature.
ALPHABETS = ("abcdefghij", "xyzqw", "\u0e01\u0e02\u0e04", "\u65e5\u672c", "0123456789", "\ufb01")
GLUES = ("", "", "-", ".", " ", " ", "\u3000", "\t", "\n", ".\n", "\u00a0", "\n\n", "\t ")
WORD_LENGTHS = (1, 3, 5, 20, 60, 99, 101, 150)
#: Between training words: tokens that hold tabs or newlines, as real vocabularies do.
CORPUS_GLUES = (" ", " ", ". ", ".\n", "\t", "\t\t", "\n", "-")
#: A GPT-4-style split pattern: punctuation keeps the newlines that follow it.
GPT4_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
    r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def _text(rnd: random.Random, spaces: bool) -> str:
    """A random text of 1 to 80 words; without ASCII spaces unless ``spaces``."""
    glues = GLUES if spaces else tuple(g for g in GLUES if " " not in g)
    parts = []
    for _ in range(rnd.randint(1, 80)):
        alphabet = rnd.choice(ALPHABETS)
        parts.append("".join(rnd.choice(alphabet) for _ in range(rnd.choice(WORD_LENGTHS))))
        parts.append(rnd.choice(glues))
    return "".join(parts)


def _texts(n: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    return [_text(rnd, spaces=i % 2 == 0) for i in range(n)]


def _corpus() -> list[str]:
    """Texts of short words to train on: long ones make Unigram training take seconds."""
    rnd = random.Random(99)

    def word() -> str:
        alphabet = rnd.choice(ALPHABETS)
        return "".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 8)))

    def text() -> str:
        return "".join(word() + rnd.choice(CORPUS_GLUES) for _ in range(50))

    return [text() for _ in range(100)]


def _trained(kind: str):
    """A small tokenizer of ``kind`` trained on random texts (well under a second)."""
    from tokenizers import (
        Regex,
        Tokenizer,
        models,
        normalizers,
        pre_tokenizers,
        processors,
        trainers,
    )

    if kind in ("xlmr", "metaspace-only"):
        tokenizer = Tokenizer(models.Unigram())
        tokenizer.normalizer = normalizers.Sequence(
            [normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
        )
        metaspace = pre_tokenizers.Metaspace()
        tokenizer.pre_tokenizer = (
            pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), metaspace])
            if kind == "xlmr"
            else metaspace
        )
        trainer = trainers.UnigramTrainer(
            vocab_size=400,
            special_tokens=["<s>", "</s>", "<unk>"],
            unk_token="<unk>",
            show_progress=False,
        )
    else:
        tokenizer = Tokenizer(models.BPE())
        if kind == "gpt2":
            tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        elif kind == "gpt4":
            tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
                [
                    pre_tokenizers.Split(Regex(GPT4_SPLIT), "isolated"),
                    pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
                ]
            )
        else:  # llama: spaces become "▁" and the whole text is one word
            tokenizer.normalizer = normalizers.Sequence(
                [normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")]
            )
        alphabet = pre_tokenizers.ByteLevel.alphabet() if kind != "llama" else []
        trainer = trainers.BpeTrainer(
            vocab_size=400,
            special_tokens=["<s>", "</s>"],
            initial_alphabet=alphabet,
            show_progress=False,
        )
    tokenizer.train_from_iterator(_corpus(), trainer)
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 1)]
    )
    return tokenizer


#: Whitespace each pipeline ends words at, of tab, newline, space, NBSP and U+3000.
ENDS_WORDS = {
    "minilm": " \t\n\u00a0\u3000",
    "xlmr": " \t\n\u00a0\u3000",
    "metaspace-only": " \u00a0\u3000",  # NFKC makes these spaces; tabs and newlines stay
    "gpt2": " \t\n\u00a0\u3000",
    "gpt4": " \t\u00a0\u3000",  # not newlines: punctuation keeps them (".\n")
    "llama": "",  # one word per text: no cut is safe
}


@pytest.fixture(scope="module", params=list(ENDS_WORDS))
def pipeline(request, tmp_path_factory) -> tuple[str, Path]:
    """A pipeline's name and its tokenizer.json."""
    if request.param == "minilm":
        return "minilm", Path(request.getfixturevalue("minilm_fp32")) / "tokenizer.json"
    path = tmp_path_factory.mktemp(request.param) / "tokenizer.json"
    _trained(request.param).save(str(path))
    return request.param, path


@pytest.mark.parametrize("chars_per_token", [2, prefix_cut._CHARS_PER_TOKEN])
@pytest.mark.parametrize("max_length", [16, 64])
def test_long_texts_give_the_tokens_of_a_full_encode(
    pipeline, max_length, chars_per_token, monkeypatch
):
    """Prefixes of 2 characters per window token are cut next to the window's end, where a
    cut that changed a token would show (every pipeline fails so with the old cut)."""
    from tokenizers import Tokenizer

    monkeypatch.setattr(prefix_cut, "_CHARS_PER_TOKEN", chars_per_token)
    _, tokenizer_file = pipeline
    texts = _texts(200, seed=max_length)
    got = TextTokenizer(tokenizer_file, max_length).encode(texts)
    reference = Tokenizer.from_file(str(tokenizer_file))
    reference.no_padding()
    reference.enable_truncation(max_length)
    for i, text in enumerate(texts):
        assert got.row(i).tolist() == reference.encode(text).ids, (i, text[:200])


def test_the_shortcut_is_taken_where_words_end_at_whitespace(pipeline):
    from tokenizers import Tokenizer

    name, tokenizer_file = pipeline
    found = separators(Tokenizer.from_file(str(tokenizer_file)))
    assert {c for c in found if c in " \t\n\u00a0\u3000"} == set(ENDS_WORDS[name])
    prose = "The cat sat on the mat.\n" * 4000
    cut = PrefixCut(found).prefix(prose, 16 * prefix_cut._CHARS_PER_TOKEN)
    assert (len(cut) < len(prose)) == bool(found)


def test_a_cut_leaves_the_last_word_whole():
    cut = PrefixCut(" \t")
    text = "ab cd\tef  gh " + "x" * 40
    assert [cut.prefix(text, cap) for cap in (3, 5, 7, 8, 11, 12, 20)] == [
        "ab", "ab cd", "ab cd", "ab cd\tef", "ab cd\tef", "ab cd\tef  gh", "ab cd\tef  gh",
    ]  # fmt: skip
    unbroken = "y" * 50 + " tail"
    assert cut.prefix(unbroken, 10) == "y" * 50  # no cut point within the cap: the next one
    assert cut.prefix("z" * 50, 10) == "z" * 50
    assert PrefixCut("").prefix(text, 5) is text


def test_records_without_spaces_keep_a_word_of_over_100_characters_whole(minilm_fp32):
    """The audit's case: tab- and newline-separated records, no ASCII space, and a run of
    156 characters across the old cut at 4,096: one [UNK] to WordPiece, not ##subwords."""
    from tokenizers import Tokenizer

    path = Path(minilm_fp32) / "tokenizer.json"
    text = ("\t".join(["hello"] * 30) + "\n") * 6
    text += ("f" * 101 + "\n") * 29  # one [UNK] each
    text = text[:3_999] + "\n" + "understanding" * 12
    reference = Tokenizer.from_file(str(path))
    reference.no_padding()
    reference.enable_truncation(256)
    want = reference.encode(text).ids
    assert len(want) < 256 and want[-2] == reference.token_to_id("[UNK]")
    assert TextTokenizer(path, 256).encode([text]).row(0).tolist() == want
