"""What a folder's sentence-transformers and transformers files say about how to run it.

Before, only ``pooling_mode_cls_token`` was read (any other mode became mean pooling), and a
CLIP text tower or a decoder without a pooling file was mean-pooled over its
``last_hidden_state``: vectors of a plausible width and the wrong meaning.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from dfembed import ModelLoadError, ModelSpec
from dfembed.models.folder_files import POOLING_FILE, from_model_files
from dfembed.models.registry import ModelInfo, output_to_read
from dfembed.models.resolve import resolve
from tests.tiny_models import build_tiny_text_model

BASE = ModelInfo(name="folder")


def _write(folder: Path, name: str, data) -> None:
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(data))


@pytest.mark.parametrize(
    "config, pooling",
    [
        ({"pooling_mode_lasttoken": True, "pooling_mode_mean_tokens": False}, "last"),
        ({"pooling_mode_cls_token": True}, "cls"),
        ({"pooling_mode_mean_tokens": True}, "mean"),
        ({"word_embedding_dimension": 8}, "mean"),  # no mode named: mean
        ({"pooling_mode": "lasttoken", "embedding_dimension": 8}, "last"),  # newer files
        ({"pooling_mode": ["cls"]}, "cls"),
    ],
)
def test_pooling_file_modes(tmp_path, config, pooling):
    _write(tmp_path, POOLING_FILE, config)
    assert from_model_files(tmp_path, BASE).pooling == pooling


@pytest.mark.parametrize(
    "config",
    [
        {"pooling_mode_max_tokens": True},
        {"pooling_mode_weightedmean_tokens": True},
        {"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": True},  # concatenated
        {"pooling_mode": "mean_sqrt_len_tokens"},
    ],
)
def test_pooling_modes_dfembed_does_not_run_are_refused(tmp_path, config):
    _write(tmp_path, POOLING_FILE, config)
    with pytest.raises(ModelLoadError, match="dfembed does not run"):
        from_model_files(tmp_path, BASE)


def test_newer_pooling_files_state_the_width(tmp_path):
    _write(tmp_path, POOLING_FILE, {"pooling_mode": "mean", "embedding_dimension": 24})
    assert from_model_files(tmp_path, BASE).dim == 24


@pytest.mark.parametrize(
    "config",
    [
        {"model_type": "clip_text_model", "max_position_embeddings": 77, "projection_dim": 12},
        {"architectures": ["CLIPTextModelWithProjection"], "projection_dim": 12},
        {
            "model_type": "clip",
            "projection_dim": 12,
            "text_config": {"max_position_embeddings": 77},
        },  # noqa: E501
    ],
)
def test_clip_text_towers_read_their_projection(tmp_path, config):
    _write(tmp_path, "config.json", {**config, "hidden_size": 16})
    info = from_model_files(tmp_path, BASE)
    assert (info.output_name, info.pooling, info.max_length, info.dim) == (
        "text_embeds", "none", 77, 12,
    )  # fmt: skip


@pytest.mark.parametrize("model_type", ["qwen3", "qwen2", "mistral", "llama"])
def test_decoders_without_a_pooling_file_read_their_last_token(tmp_path, model_type):
    _write(tmp_path, "config.json", {"model_type": model_type, "hidden_size": 32})
    info = from_model_files(tmp_path, BASE)
    assert (info.pooling, info.dim) == ("last", 32)


def test_a_pooling_file_wins_over_the_architecture(tmp_path):
    _write(tmp_path, "config.json", {"model_type": "qwen2", "hidden_size": 32})
    _write(tmp_path, POOLING_FILE, {"pooling_mode_mean_tokens": True})
    assert from_model_files(tmp_path, BASE).pooling == "mean"


def test_pooled_text_models_read_their_first_output():
    pooled = ModelInfo(name="m", pooling="none")
    assert output_to_read(pooled, ["text_embeds", "last_hidden_state"]) == "text_embeds"
    assert output_to_read(ModelInfo(name="m"), ["text_embeds", "last_hidden_state"]) == (
        "last_hidden_state"
    )


def test_per_token_output_with_pooling_none_is_a_load_error(tmp_path):
    folder = build_tiny_text_model(tmp_path / "m")
    (folder / "dfembed.json").write_text(json.dumps({"pooling": "none"}))
    with pytest.raises(ModelLoadError, match="per-token vectors"):
        pd.Series(["a cat"]).embed.text(model=str(folder))


def test_registry_pooling_last_runs_on_a_folder(tmp_path):
    """pooling "last" reads each row's last real token, whatever the batch's padding."""
    folder = build_tiny_text_model(tmp_path / "m")
    (folder / "dfembed.json").write_text(json.dumps({"pooling": "last", "normalize": False}))
    assert resolve(ModelSpec(str(folder))).info.pooling == "last"
    import numpy as np

    import dfembed

    texts = ["a cat sat on the mat", "dog"]
    together = dfembed.to_numpy(pd.Series(texts).embed.text(model=str(folder)))
    alone = [dfembed.to_numpy(pd.Series([t]).embed.text(model=str(folder), batch_size=1))[0]
             for t in texts]  # fmt: skip
    np.testing.assert_allclose(together, np.stack(alone), atol=1e-6)
