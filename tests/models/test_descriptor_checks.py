"""A dfembed.json's pooling is checked against its kind, and unknown keys are warned about.

Before, ``"pooling": "max"`` failed at the first batch with a bare ValueError (and a column
of missing values succeeded silently), and a misspelt key such as ``"pooling_mode": "cls"``
was ignored: the model quietly ran with mean pooling.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest

from dfembed import ModelLoadError, ModelSpec
from dfembed.models.descriptor import NOTE_KEYS, info_from_folder
from dfembed.models.registry import DESCRIPTOR, KINDS, POOLINGS, ModelInfo, list_models, lookup
from dfembed.models.resolve import resolve

TEXT = ModelInfo(name="folder")


def _describe(folder: Path, content: dict, base: ModelInfo = TEXT) -> ModelInfo:
    (folder / DESCRIPTOR).write_text(json.dumps(content))
    return info_from_folder(folder, base)


@pytest.mark.parametrize(
    "content, allowed",
    [
        ({"pooling": "max"}, '"mean", "cls", "last", "none"'),
        ({"pooling": "avg"}, '"mean", "cls", "last", "none"'),
        ({"pooling": "Mean"}, '"mean", "cls", "last", "none"'),
        ({"kind": "image", "pooling": "splade"}, '"cls", "mean", "none"'),
        ({"kind": "sparse", "pooling": "mean"}, '"splade", "bm25"'),
        ({"kind": "late_interaction", "pooling": "mean"}, '"none"'),
        ({"kind": "rerank", "pooling": "cls"}, '"none"'),
    ],
)
def test_a_pooling_its_kind_does_not_run_names_file_value_and_choices(tmp_path, content, allowed):
    with pytest.raises(ModelLoadError) as caught:
        _describe(tmp_path, content)
    message = str(caught.value)
    assert str(tmp_path / DESCRIPTOR) in message
    assert json.dumps(content["pooling"]) in message and allowed in message


@pytest.mark.parametrize(
    "kind, pooling",
    [
        ("text", "mean"),
        ("text", "cls"),
        ("text", "none"),  # a graph whose output is already pooled
        ("image", "none"),
        ("sparse", "splade"),
        ("sparse", "bm25"),
        ("sparse", ""),  # runs the graph as SPLADE, as tests/encoders/test_sparse.py does
        ("late_interaction", "none"),
        ("rerank", "none"),
    ],
)
def test_the_poolings_each_kind_runs_are_accepted(tmp_path, kind, pooling):
    assert _describe(tmp_path, {"kind": kind, "pooling": pooling}).pooling == pooling


def test_the_pooling_is_checked_against_the_kind_the_folder_ends_up_with(tmp_path):
    sparse = ModelInfo(name="folder", kind="sparse", pooling="splade")
    assert _describe(tmp_path, {"pooling": "bm25"}, sparse).pooling == "bm25"
    with pytest.raises(ModelLoadError, match='"bm25" is not one text models run'):
        _describe(tmp_path, {"pooling": "bm25"})


def test_every_kind_has_its_poolings_and_the_registry_uses_them():
    assert set(POOLINGS) == set(KINDS)
    for name in list_models()["name"]:
        info = lookup(name)
        assert info.pooling in POOLINGS[info.kind], name


def test_a_bad_pooling_fails_when_the_folder_is_read_even_for_missing_values(tmp_path, minilm_int8):
    folder = tmp_path / "max"
    shutil.copytree(minilm_int8, folder)
    content = json.loads((folder / DESCRIPTOR).read_text())
    (folder / DESCRIPTOR).write_text(json.dumps({**content, "pooling": "max"}))
    with pytest.raises(ModelLoadError, match='"pooling" "max"'):
        resolve(ModelSpec(str(folder)))
    with pytest.raises(ModelLoadError, match='"pooling" "max"'):
        pd.Series([None]).embed.text(model=str(folder))


def test_a_misspelt_key_warns_once_per_file_with_the_field_it_may_mean(tmp_path):
    content = {"pooling_mode": "cls", "source": "a note", "files": {}}
    with pytest.warns(UserWarning) as caught:
        info = _describe(tmp_path, content)
    assert info.pooling == "mean"  # what the typo leaves: hence the warning
    (warning,) = caught
    message = str(warning.message)
    assert str(tmp_path / DESCRIPTOR) in message
    assert '"pooling_mode" (did you mean "pooling"?)' in message
    assert "source" not in message.replace(str(tmp_path), "")  # a known note key
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _describe(tmp_path, content)  # the same file again: no second warning
    with pytest.warns(UserWarning, match="pooling_mod"):
        _describe(tmp_path, {"pooling_mod": "cls"})  # other keys: warned about again


@pytest.mark.parametrize(
    "model", ["minilm_fp32", "minilm_int8", "paraphrase_l3", "splade_tiny", "dinov2_small"]
)
def test_the_projects_own_descriptors_raise_no_warning(model, request):
    folder = Path(request.getfixturevalue(model))
    notes = set(json.loads((folder / DESCRIPTOR).read_text())) - set(ModelInfo.__annotations__)
    assert notes <= NOTE_KEYS
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        info_from_folder(folder, TEXT)
