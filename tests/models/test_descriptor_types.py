"""A dfembed.json's values are checked against the field types of ModelInfo.

Before, ``"normalize": "false"`` normalized (a non-empty string is true), ``"dim": "384"``
failed later with "384-wide vectors, not the 384", a top-level list raised AttributeError
and ``"kind": "txt"`` told the user to call ``df.embed.txt``.
"""

from __future__ import annotations

import json

import pytest

from dfembed.encoders.kinds import KINDS as KIND_RECORDS
from dfembed.errors import ModelLoadError
from dfembed.models.descriptor import info_from_folder
from dfembed.models.registry import DESCRIPTOR, KINDS, ModelInfo

BASE = ModelInfo(name="folder")


def _info(folder, content) -> ModelInfo:
    (folder / DESCRIPTOR).write_text(content if isinstance(content, str) else json.dumps(content))
    return info_from_folder(folder, BASE)


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("normalize", "false", "true or false"),
        ("normalize", 0, "true or false"),
        ("attend_expansion", "yes", "true or false"),
        ("dim", "384", "whole number"),
        ("dim", 384.0, "whole number"),
        ("dim", -1, "0 or more"),
        ("dim", True, "whole number"),
        ("max_length", 0, "1 or more"),
        ("max_length", "512", "whole number"),
        ("pooling", 1, "string"),
        ("query_prefix", ["query: "], "string"),
        ("output_name", 3, "string or null"),
        ("kind", "txt", "one of"),
        ("kind", "Text", "one of"),
    ],
)
def test_a_value_of_the_wrong_type_names_file_field_value_and_type(
    tmp_path, field, value, expected
):
    with pytest.raises(ModelLoadError) as caught:
        _info(tmp_path, {field: value})
    message = str(caught.value)
    assert str(tmp_path / DESCRIPTOR) in message
    assert f'"{field}"' in message and json.dumps(value) in message and expected in message


@pytest.mark.parametrize("content", ["[1, 2]", '"text"', "3", "null"])
def test_a_descriptor_that_is_not_an_object_is_a_load_error(tmp_path, content):
    with pytest.raises(ModelLoadError, match="JSON object"):
        _info(tmp_path, content)


def test_valid_values_nulls_and_unknown_keys(tmp_path):
    content = {
        "kind": "rerank",
        "dim": 0,
        "normalize": False,
        "max_length": 64,
        "output_name": None,
        "max_length_note": "ignored (with a warning): not a ModelInfo field",
        "input_names": ["input_ids"],
    }
    with pytest.warns(UserWarning, match="max_length_note"):
        info = _info(tmp_path, content)
    assert (info.kind, info.dim, info.normalize, info.max_length) == ("rerank", 0, False, 64)
    # null for a field that cannot be None keeps the default (image models say max_length null)
    assert _info(tmp_path, {"kind": "image", "max_length": None}).max_length == BASE.max_length


def test_known_kinds_are_the_encoders_kinds():
    assert tuple(KINDS) == tuple(KIND_RECORDS)
