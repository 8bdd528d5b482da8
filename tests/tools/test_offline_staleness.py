"""A derived offline model (``minilm-dynq8``) is stale once its source file changes."""

from __future__ import annotations

import json
from pathlib import Path

from tools import offline_models


def _folder(path: Path, meta: dict, files: dict[str, bytes]) -> Path:
    path.mkdir()
    for name, data in files.items():
        (path / name).write_bytes(data)
    meta = {**meta, "files": {name: len(data) for name, data in files.items()}}
    (path / offline_models.META_FILE).write_text(json.dumps(meta))
    return path


def test_derived_folder_is_current_only_for_its_source_file(tmp_path, monkeypatch):
    source = _folder(tmp_path / "fp32", {}, {"model.onnx": b"weights v1"})
    monkeypatch.setattr(offline_models, "build", lambda name, force=False: source)
    recorded = offline_models.file_sha256(source / "model.onnx")
    derived = _folder(
        tmp_path / "q8",
        {"derived_from": "minilm-fp32", "quantization": {"source_sha256": recorded}},
        {"model.onnx": b"int8"},
    )
    assert offline_models.is_current(derived)
    (source / "model.onnx").write_bytes(b"weights v2")  # minilm-fp32 was rebuilt
    assert offline_models.is_complete(derived) and not offline_models.is_current(derived)


def test_plain_folders_are_current_when_complete(tmp_path):
    folder = _folder(tmp_path / "m", {"source": "a wheel"}, {"model.onnx": b"x"})
    assert offline_models.is_current(folder)
    (folder / "model.onnx").write_bytes(b"truncated? no: longer")
    assert not offline_models.is_current(folder)


def test_a_stale_folder_is_replaced_by_its_rebuild(tmp_path, monkeypatch):
    """A complete but stale folder (its source or settings changed) must not win over the
    fresh build that replaces it, as a complete folder another process just built does."""
    monkeypatch.setenv(offline_models.ASSETS_ENV, str(tmp_path))
    wanted = {"bytes": b"v1"}

    def recipe(dest: Path) -> dict:
        (dest / "model.onnx").write_bytes(wanted["bytes"])
        return {"kind": "text"}

    def current(folder: Path) -> bool:
        model = folder / "model.onnx"
        return model.is_file() and model.read_bytes() == wanted["bytes"]

    monkeypatch.setitem(offline_models.RECIPES, "fake", recipe)
    monkeypatch.setattr(offline_models, "smoke_test", lambda folder: {})
    monkeypatch.setattr(offline_models, "is_current", current)
    folder = offline_models.build("fake")
    assert (folder / "model.onnx").read_bytes() == b"v1"
    wanted["bytes"] = b"v2"  # e.g. the quantization settings changed
    assert offline_models.build("fake") == folder
    assert (folder / "model.onnx").read_bytes() == b"v2"
