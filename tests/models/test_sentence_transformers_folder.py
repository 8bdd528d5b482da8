"""A sentence-transformers folder without dfembed.json: its own files say how to run it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dfembed
from tests.tiny_models import bare_folder


def _folder(minilm_fp32: str, dst: Path, modules: list | None) -> str:
    """The real MiniLM graph and tokenizer, with sentence-transformers' modules.json."""
    folder = bare_folder(minilm_fp32, dst)
    if modules is not None:
        (dst / "modules.json").write_text(json.dumps(modules))
    return folder


_STEPS = [
    {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
    {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
]
_NORMALIZE = {
    "idx": 2,
    "name": "2",
    "path": "2_Normalize",
    "type": "sentence_transformers.models.Normalize",
}


@pytest.mark.parametrize(
    ("modules", "unit"), [(_STEPS, False), ([*_STEPS, _NORMALIZE], True), (None, True)]
)
def test_modules_json_says_whether_vectors_are_normalized(minilm_fp32, tmp_path, modules, unit):
    folder = _folder(minilm_fp32, tmp_path / "m", modules)
    vectors = dfembed.to_numpy(pd.Series(["a cat on a mat", "taxes rose"]).embed.text(model=folder))
    norms = np.linalg.norm(vectors, axis=1)
    assert np.allclose(norms, 1.0, atol=1e-5) == unit, norms
