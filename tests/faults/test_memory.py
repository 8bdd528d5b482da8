"""Memory: the token budget bounds every model run, whatever the text lengths.

Each case embeds 200 texts through the pandas accessor in a fresh child process, which
reports its peak resident memory (``ru_maxrss``) and the shape of every model run. Cases:

* ``short``: 200 texts of 1-12 words (about 6 tokens each);
* ``full``: 200 texts of about 300 words, each truncated to the window (``max_length``);
* ``long``: 200 texts of 100,000 characters (about 18,000 tokens each) truncated the same.

``full`` and ``long`` run identical batches, so any difference between them is what the
length of the texts costs outside the model. A window of 32 tokens keeps the model's share
small and the test quick; the tokenizer still reads all 20 million characters.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CHILD = r"""
import json, re, sys
import numpy as np, pandas as pd
import dfembed
from dfembed.encoders.base import Encoder

model, case, max_length, budget = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
runs = []
original = Encoder.run_model
def recording(self, feed, output=None):
    runs.append(feed["input_ids"].shape)
    return original(self, feed, output)
Encoder.run_model = recording

words = np.array("the markets rallied while a lazy dog slept near river banks today".split())
rng = np.random.default_rng(0)
size = {"short": (1, 13), "full": (300, 301), "long": (20_000, 20_001)}[case]
texts = [" ".join(rng.choice(words, size=rng.integers(*size)))[:100_000] for _ in range(200)]
out = pd.Series(texts).embed.text(model=model, max_length=max_length, token_budget=budget)
print(json.dumps({
    # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across fork+exec, so a child of a big
    # pytest process would report its parent's peak; VmHWM starts afresh with the new image
    "peak_mb": int(re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status").read())[1]) / 1024,
    "characters": sum(map(len, texts)),
    "vectors": int(out.notna().sum()),
    "largest_run": max(rows * width for rows, width in runs),
    "widest_row": max(width for _, width in runs),
}))
"""
WINDOW, BUDGET = 32, 8192


@pytest.fixture(scope="module")
def peaks(minilm_int8) -> dict[str, dict]:
    """Run the three cases side by side (each in its own process) and collect their reports."""
    children = {
        case: subprocess.Popen(
            [sys.executable, "-c", CHILD, minilm_int8, case, str(WINDOW), str(BUDGET)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for case in ("long", "full", "short")
    }
    reports = {}
    for case, child in children.items():
        out, err = child.communicate(timeout=300)
        assert child.returncode == 0, err[-3000:]
        reports[case] = json.loads(out.strip().splitlines()[-1])
    return reports


@pytest.mark.slow
def test_every_model_run_stays_within_the_token_budget(peaks):
    for case, report in peaks.items():
        assert report["vectors"] == 200, case
        assert report["largest_run"] <= BUDGET, (case, report)
        assert report["widest_row"] <= WINDOW, (case, report)
    assert peaks["long"]["characters"] == 200 * 100_000


@pytest.mark.slow
def test_long_texts_stay_under_one_and_a_half_gigabytes(peaks):
    """Measured here: short 390 MB, full 560 MB, long 1,260 MB. The bound allows the
    process and model (~400 MB), a batch of at most 8,192 tokens, and the tokenizer's
    whole-text encodings of 20 million characters (~35 bytes a character today)."""
    assert peaks["long"]["peak_mb"] < 1536, peaks


@pytest.mark.slow
def test_a_full_window_batch_costs_under_300_megabytes_more_than_short_texts(peaks):
    """What the budget bounds: 200 x 32 tokens against 200 x ~6 (measured: +170 MB)."""
    assert peaks["full"]["peak_mb"] < peaks["short"]["peak_mb"] + 300, peaks


@pytest.mark.slow
def test_text_length_past_the_window_costs_no_more_than_the_texts(peaks):
    """The goal: past the window, a text's length costs only its own characters (20 MB)."""
    assert peaks["long"]["peak_mb"] < peaks["full"]["peak_mb"] + 150, peaks
