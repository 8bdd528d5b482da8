"""The accessor's argument checks of :mod:`dfembed.arguments`, called directly.

``tests/test_options.py`` checks the same rules through the accessor (pandas and lazy Dask
frames); here each function's own contract: what it returns for good values (plain,
picklable ones) and which error names a bad one.
"""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

from dfembed import arguments
from dfembed.encoders.base import EncodeOptions
from dfembed.encoders.image import ImageOptions
from dfembed.encoders.text import DenseOptions, TextOptions
from dfembed.models.info import DESCRIPTOR, ModelInfo
from dfembed.spec import ModelSpec


def _spec(**changes) -> ModelSpec:
    given = {
        "kind": "text",
        "model": "some/model",
        "revision": None,
        "cuda": False,
        "device_ids": None,
        "device_id": None,
        "threads": None,
        "cache_dir": None,
        "local_files_only": False,
        "session_options": None,
    }
    return arguments.model_spec(**{**given, **changes})


def test_cache_argument_keeps_true_and_makes_paths_strings(tmp_path):
    assert arguments.cache_argument(None) is None
    assert arguments.cache_argument(False) is None
    assert arguments.cache_argument(True) is True  # the folder of whichever process runs
    assert arguments.cache_argument(tmp_path / "c") == str(tmp_path / "c")
    with pytest.raises(TypeError, match="cache= takes a folder path, True or None, not 3"):
        arguments.cache_argument(3)


def test_checked_options_makes_numpy_values_plain():
    options = DenseOptions(
        batch_size=np.int64(8),
        token_budget=np.int32(512),
        max_length=np.int16(64),
        normalize=np.bool_(False),
        query=np.bool_(True),
        dim=np.int64(32),
    )
    checked = arguments.checked_options("text", options)
    assert type(checked) is DenseOptions
    values = (checked.batch_size, checked.token_budget, checked.max_length, checked.dim)
    assert values == (8, 512, 64, 32)
    assert all(type(v) is int for v in values)
    assert checked.normalize is False and checked.query is True
    assert pickle.loads(pickle.dumps(checked)) == checked


def test_checked_options_leaves_what_a_kind_lacks_alone():
    plain = arguments.checked_options("image", ImageOptions(batch_size=None))
    assert plain == ImageOptions()  # no max_length, query or dim to check
    text = arguments.checked_options("text", TextOptions())
    assert text.normalize is None and text.max_length is None  # the model's own


@pytest.mark.parametrize(
    ("kind", "options", "error", "message"),
    [
        ("text", EncodeOptions(batch_size=0), ValueError, r"batch_size must be an int >= 1"),
        ("text", EncodeOptions(token_budget=True), TypeError, "token_budget must be"),
        ("text", TextOptions(max_length=2), ValueError, "needs 2 special tokens"),
        ("late_interaction", TextOptions(max_length=3), ValueError, "needs 3 special tokens"),
        ("text", TextOptions(normalize="yes"), TypeError, "normalize must be True, False or"),
        ("text", TextOptions(query="a question"), TypeError, r"rerank\(column, query_text="),
        ("text", DenseOptions(prompt=1), TypeError, "prompt must be a string"),
        ("text", DenseOptions(dim=0), ValueError, "dim must be an int >= 1"),
    ],
)
def test_checked_options_names_the_bad_argument(kind, options, error, message):
    with pytest.raises(error, match=message):
        arguments.checked_options(kind, options)


def test_text_width_is_the_models_unless_dim_cuts_it():
    info = ModelInfo(name="m-width", dim=384, matryoshka=True)
    assert arguments.text_width(info, DenseOptions()) == 384
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a Matryoshka model is cut without a warning
        assert arguments.text_width(info, DenseOptions(dim=64)) == 64
    with pytest.raises(ValueError, match=r"dim=512 is wider than m-width's 384-wide vectors"):
        arguments.text_width(info, DenseOptions(dim=512))
    # a width nobody knows yet (0) is left for the model's graph to say
    assert arguments.text_width(ModelInfo(name="m-unknown", dim=0), DenseOptions(dim=8)) == 0


def test_cutting_a_model_not_trained_for_it_warns_once_per_model():
    info = ModelInfo(name="m-not-matryoshka", dim=384)
    with pytest.warns(UserWarning, match="not known to be a Matryoshka model"):
        assert arguments.text_width(info, DenseOptions(dim=128)) == 128
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert arguments.text_width(info, DenseOptions(dim=64)) == 64


def test_model_spec_checks_and_normalises_every_field():
    spec = _spec(
        model=Path("/models/m"),
        cuda="auto",
        device_ids=[np.int64(1), 0],
        device_id=None,
        threads=np.int32(2),
        session_options={"cpu_mem_arena": False},
    )
    assert spec.model == "/models/m" and spec.cuda == "auto"
    assert spec.device_ids == (1, 0) and spec.device_id == 0  # None: GPU 0
    assert spec.threads == 2 and type(spec.threads) is int
    assert dict(spec.session_options) == {"cpu_mem_arena": False}
    assert pickle.loads(pickle.dumps(spec)).key() == spec.key()


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"cuda": "yes"}, ValueError, 'cuda must be False, True or "auto"'),
        ({"device_ids": 0}, TypeError, "device_ids must be a list of GPU numbers"),
        ({"device_ids": []}, ValueError, "device_ids must list at least one GPU"),
        ({"device_id": -1}, ValueError, "device_id must be an int >= 0"),
        ({"threads": 0}, ValueError, "threads must be an int >= 1"),
        ({"session_options": {"no_such_setting": 1}}, TypeError, "no_such_setting"),
    ],
)
def test_model_spec_refuses_bad_values_naming_them(changes, error, message):
    with pytest.raises(error, match=message):
        _spec(**changes)


def test_described_folder_is_a_local_folder_with_its_own_descriptor(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    described = tmp_path / "described"
    described.mkdir()
    (described / DESCRIPTOR).write_text("{}")
    assert arguments.described_folder(ModelSpec(str(described)))
    assert not arguments.described_folder(ModelSpec(str(plain)))
    assert not arguments.described_folder(ModelSpec("owner/name"))  # a hub id
    # a path only the workers have: they read it, the caller cannot tell
    assert not arguments.described_folder(ModelSpec(str(tmp_path / "elsewhere")))
