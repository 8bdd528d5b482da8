"""The registry of kinds: every record complete and consistent with the rest of the package,
and no module outside the records switching on kind names."""

from __future__ import annotations

import ast
import dataclasses
import inspect
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dfembed
from dfembed.accessors import PandasEmbedAccessor
from dfembed.encoders.base import EncodeOptions, Encoder
from dfembed.encoders.kind import RECORDS, Kind, record_of
from dfembed.encoders.kinds import KINDS, kind_of
from dfembed.io.cache_checks import Layout
from dfembed.models import info as model_info
from dfembed.models.registry import lookup

PACKAGE = Path(dfembed.__file__).parent

#: Modules that may compare with kind names or key dicts by them, and why.
ALLOWED = {
    # the records themselves
    "encoders/text.py": "its record",
    "encoders/sparse.py": "its record",
    "encoders/late_interaction.py": "its record",
    "encoders/image.py": "its record",
    "encoders/rerank.py": "its record",
    # the model layer sits below the encoders and cannot import their records; what it
    # knows of kinds (KINDS, POOLINGS, SIZED_KINDS) is checked against them below
    "models/info.py": "model layer: kinds and poolings",
    "models/file_names.py": "model layer: files per kind (an image model's preprocessor)",
    "models/descriptor.py": "model layer: sentence-transformers cards of text models",
    "models/folder_files.py": "model layer: files of text models",
    # the cache's entry checks sit below the encoders too; checked below
    "io/cache_checks.py": "cache layout per kind",
    # column kinds ("dense", "sparse", "multivector") are not model kinds
    "columns.py": "column kinds",
    "analytics/duplicates.py": "column kinds",
    "analytics/queries.py": "column kinds",
    "analytics/kinds.py": "column kinds",
}


@pytest.mark.parametrize("name", list(KINDS))
def test_each_record_is_complete(name):
    kind = KINDS[name]
    assert isinstance(kind, Kind) and kind.name == name and kind_of(name) is kind
    assert dataclasses.is_dataclass(kind.options) and issubclass(kind.options, EncodeOptions)
    kind.options()  # every option has a default
    assert kind.encoders, "a kind runs at least one encoder"
    for pooling, cls in kind.encoders.items():
        assert issubclass(cls, Encoder) and not inspect.isabstract(cls), pooling
        assert cls.kind == name, f"{cls.__name__} says kind {cls.kind!r}"
    assert kind.unit in ("tokens", "rows")
    # the smallest max_length exists exactly where the options have a max_length
    fields = {f.name for f in dataclasses.fields(kind.options)}
    assert ("max_length" in fields) == (kind.min_max_length is not None)
    if kind.min_max_length is not None:
        assert kind.min_max_length >= 2  # a special token and one token of text at least


@pytest.mark.parametrize("name", list(KINDS))
def test_the_default_model_is_a_registry_row_of_the_kind(name):
    row = lookup(KINDS[name].default_model)
    assert row is not None and row.kind == name


@pytest.mark.parametrize("name", list(KINDS))
def test_the_accessor_has_a_method_per_kind_with_its_default_model(name):
    method = getattr(PandasEmbedAccessor, name)
    assert inspect.signature(method).parameters["model"].default == KINDS[name].default_model


def test_the_model_layer_knows_the_same_kinds_poolings_and_sized_kinds():
    assert tuple(KINDS) == model_info.KINDS and set(RECORDS) == set(KINDS)
    assert {k: v.poolings for k, v in KINDS.items()} == model_info.POOLINGS
    assert {k for k, v in KINDS.items() if v.sized} == set(model_info.SIZED_KINDS)


@pytest.mark.parametrize("name", list(KINDS))
def test_every_kind_has_a_cache_layout(name):
    Layout(name)  # raises ValueError for a kind it has no entry check for


@pytest.mark.parametrize("name", list(KINDS))
def test_the_column_writer_and_dtype_agree(name):
    column = KINDS[name].column
    empty = column.write(None, np.zeros(0, bool), pd.RangeIndex(0), "out", 4)
    assert empty.dtype == column.dtype(4) and empty.name == "out"
    nulls = column.write(None, np.zeros(2, bool), pd.Index(["a", "b"]), "out", 4)
    assert nulls.isna().all() and list(nulls.index) == ["a", "b"]


@pytest.mark.parametrize("name", list(KINDS))
def test_the_cost_function_gives_one_positive_cost_per_row(name):
    kind = KINDS[name]
    values = pd.Series(["short", "a much longer text " * 50, None])
    costs = kind.cost(values, 16)
    assert costs.shape == (3,) and (costs > 0).all()
    if kind.unit == "rows":
        assert (costs == 1).all()
    else:  # longer texts cost more, up to the max_length cap
        assert costs[1] > costs[0]


def test_a_pooling_picks_its_encoder_and_others_the_main_one():
    sparse = KINDS["sparse"]
    assert sparse.encoder("bm25").__name__ == "Bm25Encoder"
    assert sparse.encoder("splade").__name__ == "SpladeEncoder"
    # as before the records: a pooling the kind does not list runs its main encoder
    assert sparse.encoder("mean").__name__ == "SpladeEncoder"
    assert KINDS["text"].encoder("last").__name__ == "TextEncoder"


def test_rerank_prefers_logits_and_the_others_token_vectors():
    outputs = ["first", "logits", "last_hidden_state"]
    info = model_info.ModelInfo(name="m", kind="rerank", pooling="none")
    assert KINDS["rerank"].output_to_read(info, outputs) == "logits"
    assert KINDS["rerank"].output_to_read(info, ["first", "second"]) == "first"
    dense = model_info.ModelInfo(name="m", kind="late_interaction", pooling="none")
    assert KINDS["late_interaction"].output_to_read(dense, outputs) == "last_hidden_state"
    named = dataclasses.replace(info, output_name="first")
    assert KINDS["rerank"].output_to_read(named, outputs) == "first"


def test_an_unknown_kind_is_refused_with_the_kinds_named():
    with pytest.raises(ValueError, match="Unknown model kind 'audio'.*'image'"):
        record_of("audio")


def _switches(tree: ast.AST, names: frozenset[str]) -> list[int]:
    """Lines comparing with a kind name (``== "image"``, ``in ("text", ...)``) or keying a
    dict by one."""

    def named(node: ast.AST) -> bool:
        if isinstance(node, ast.Constant):
            return node.value in names
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            return any(named(e) for e in node.elts)
        return False

    def switch(node: ast.AST) -> bool:
        if isinstance(node, ast.Compare):
            return any(named(n) for n in (node.left, *node.comparators))
        if isinstance(node, ast.Dict):
            return any(k is not None and named(k) for k in node.keys)
        return False

    return sorted(node.lineno for node in ast.walk(tree) if switch(node))


def kind_switches(package: Path) -> dict[str, list[int]]:
    """Modules of ``package`` outside :data:`ALLOWED` that switch on kind names."""
    names = frozenset(KINDS)
    found = {}
    for path in sorted(package.rglob("*.py")):
        module = path.relative_to(package).as_posix()
        if module in ALLOWED:
            continue
        lines = _switches(ast.parse(path.read_text(encoding="utf-8")), names)
        if lines:
            found[module] = lines
    return found


def test_no_module_outside_the_records_switches_on_kind_names():
    assert kind_switches(PACKAGE) == {}


def test_the_switch_finder_finds_switches(tmp_path):
    (tmp_path / "engine").mkdir()
    (tmp_path / "engine" / "x.py").write_text(
        'def f(kind):\n    if kind == "image":\n        return {"text": 1}\n'
        '    return kind in ("sparse", "rerank")\n'
    )
    (tmp_path / "engine" / "ok.py").write_text('label = "image"\nf(kind="text")\n')
    assert kind_switches(tmp_path) == {"engine/x.py": [2, 3, 4]}


def test_every_allowed_module_exists():
    assert all((PACKAGE / module).is_file() for module in ALLOWED)
