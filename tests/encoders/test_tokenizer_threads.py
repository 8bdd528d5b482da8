"""One tokenizer shared by threads that truncate to different lengths.

Dask's threaded workers and user threads share one loaded encoder per model. Truncation
used to be set on the one ``tokenizers.Tokenizer`` they share, so a thread could encode
with another thread's ``max_length`` and get wrong vectors.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from dfembed.encoders import tokens
from dfembed.encoders.load import build_encoder
from dfembed.encoders.text import TextOptions
from dfembed.encoders.tokens import TextTokenizer
from dfembed.spec import ModelSpec
from tests.tiny_models import build_tiny_text_model, build_tiny_tokenizer

#: Long enough that every text fills the longest window below.
TEXTS = [" ".join(["the cat sat on the mat"] * 12)] * 200
#: Short queries: ``tokenizers`` truncates two long texts of a pair slowly (seconds).
QUERIES = ["a red car"] * len(TEXTS)
LENGTHS = (4, 64)
ROUNDS = 20


def _in_threads(encode) -> dict[int, list[np.ndarray]]:
    """Row lengths of ``encode(max_length)`` run :data:`ROUNDS` times per length, in parallel."""
    seen: dict[int, list[np.ndarray]] = {n: [] for n in LENGTHS}
    errors: list[BaseException] = []
    start = threading.Barrier(len(LENGTHS))

    def loop(max_length: int) -> None:
        start.wait()
        for _ in range(ROUNDS):
            try:
                seen[max_length].append(encode(max_length))
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

    threads = [threading.Thread(target=loop, args=(n,)) for n in LENGTHS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors[:3]
    return seen


def _assert_truncated(seen: dict[int, list[np.ndarray]]) -> None:
    for max_length, runs in seen.items():
        assert len(runs) == ROUNDS
        for lengths in runs:
            assert (lengths == max_length).all(), (max_length, set(lengths.tolist()))


@pytest.fixture
def tokenizer_file(tmp_path):
    path = tmp_path / "tokenizer.json"
    build_tiny_tokenizer().save(str(path))
    return path


@pytest.mark.parametrize("pairs", [None, QUERIES], ids=["texts", "pairs"])
def test_encode_truncates_to_its_own_max_length_in_every_thread(tokenizer_file, pairs):
    """Every encoder passes its length to ``encode``: the only way to set one."""
    tokenizer = TextTokenizer(tokenizer_file, 512)
    assert not hasattr(tokenizer, "with_max_length")

    def encode(max_length: int) -> np.ndarray:
        return tokenizer.encode(TEXTS, pairs=pairs, max_length=max_length).lengths

    _assert_truncated(_in_threads(encode))


def test_many_lengths_keep_few_tokenizer_copies(tokenizer_file):
    tokenizer = TextTokenizer(tokenizer_file, 64)
    for max_length in [*range(3, 3 + 2 * tokens._COPIES), 5, 64]:
        assert (tokenizer.encode(TEXTS[:2], max_length=max_length).lengths == max_length).all()
    assert len(tokenizer._copies) <= tokens._COPIES


def test_encode_with_max_length_leaves_the_default_alone(tokenizer_file):
    tokenizer = TextTokenizer(tokenizer_file, 8)
    assert (tokenizer.encode(TEXTS[:3], max_length=5).lengths == 5).all()
    assert (tokenizer.encode(TEXTS[:3]).lengths == 8).all()
    assert tokenizer.max_length == 8


def test_text_encoder_threads_with_different_max_lengths(tmp_path):
    folder = build_tiny_text_model(tmp_path / "tiny")
    encoder = build_encoder(ModelSpec(model=str(folder), threads=1))

    def encode(max_length: int) -> np.ndarray:
        return encoder.tokenize(TEXTS, TextOptions(max_length=max_length)).lengths

    _assert_truncated(_in_threads(encode))
