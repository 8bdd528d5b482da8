"""Fixtures of the model-layer tests."""

from __future__ import annotations

import pytest

from dfembed import ModelInfo
from dfembed.models import registry

#: The hub repository the tests' hub server serves the tiny model under.
REPO = "owner/tiny"


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> ModelInfo:
    """A registry row for :data:`REPO` (registry restored afterwards)."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    info = ModelInfo(
        name="tiny-registered", repo=REPO, onnx_file="onnx/model.onnx", dim=8,
        pooling="cls", max_length=64,
    )  # fmt: skip
    registry.register(info)
    return info
