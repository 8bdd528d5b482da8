"""The model spec and the checks of the numbers that go into it: :mod:`dfembed.spec`."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest

from dfembed import spec as spec_module
from dfembed.spec import ModelSpec, check_count, check_device_ids, check_max_length


def test_check_count_is_the_one_integer_check():
    assert check_count(np.int16(3), "n", 1) == 3 and type(check_count(np.int16(3), "n", 1)) is int
    assert check_count(None, "n", 1, none="the default") is None
    with pytest.raises(TypeError, match=r"n must be an int >= 1, not None\."):
        check_count(None, "n", 1)
    with pytest.raises(TypeError, match="not np.True_|not True"):
        check_count(np.bool_(True), "n", 0)


def test_equal_specs_have_equal_keys_in_any_process():
    spec = ModelSpec("owner/name", kind="sparse", device_ids=(0, 1), session_options=(("a", 1),))
    assert spec.key() == ModelSpec(**vars(spec)).key()
    assert pickle.loads(pickle.dumps(spec)) == spec
    # spec.py loaded on its own: a fresh process without importing the whole package
    code = (
        "import importlib.util as u, sys; s = u.spec_from_file_location('spec', sys.argv[1]); "
        "m = u.module_from_spec(s); sys.modules['spec'] = m; s.loader.exec_module(m); "
        "print(m.ModelSpec('owner/name', kind='sparse', device_ids=(0, 1), "
        "session_options=(('a', 1),)).key())"
    )
    args = [sys.executable, "-c", code, spec_module.__file__]
    other = subprocess.run(args, capture_output=True, text=True, check=True)
    assert other.stdout.strip() == spec.key()  # a hash of the fields, not of id()


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "text"},
        {"revision": "main"},
        {"cuda": "auto"},
        {"device_ids": (1, 0)},
        {"device_id": 1},
        {"threads": 2},
        {"session_options": (("a", 2),)},
        {"local_files_only": True},
    ],
)
def test_every_field_is_part_of_the_key(change):
    spec = ModelSpec("owner/name", kind="sparse", device_ids=(0, 1), session_options=(("a", 1),))
    assert ModelSpec(**{**vars(spec), **change}).key() != spec.key()


def test_describe_names_kind_model_and_where_it_runs():
    assert ModelSpec("m").describe() == "text:m (cpu)"
    assert ModelSpec("m", kind="rerank", cuda="auto").describe() == "rerank:m (cuda)"


def test_max_length_leaves_room_for_the_kinds_special_tokens():
    # the minimum comes from the kind's record (tests/encoders/test_kinds.py checks those)
    assert check_max_length(None, "text", 3) is None
    assert check_max_length(np.int32(4), "late_interaction", 4) == 4
    with pytest.raises(ValueError, match="A late-interaction input needs 3 special tokens"):
        check_max_length(3, "late_interaction", 4)
    with pytest.raises(TypeError, match="max_length must be"):  # not reworded: a type error
        check_max_length("3", "text", 3)


def test_device_ids_become_a_tuple_of_plain_ints():
    assert check_device_ids(None) is None
    ids = check_device_ids([np.int64(1), 0])
    assert ids == (1, 0) and all(type(i) is int for i in ids)
    with pytest.raises(TypeError, match="device_ids must be a list"):
        check_device_ids("0,1")
    with pytest.raises(ValueError, match="each of device_ids must be an int >= 0"):
        check_device_ids([0, -1])
