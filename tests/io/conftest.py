"""Fixtures shared by the IO tests."""

from __future__ import annotations

import pytest

from dfembed.encoders.base import Encoder


@pytest.fixture
def embedded(monkeypatch) -> list[int]:
    """Counts of inputs each call of the batching path embedded, in call order."""
    calls: list[int] = []
    original = Encoder.encode_distinct

    def counting(self, items, options, on_batch=None):
        calls.append(len(items))
        return original(self, items, options, on_batch)

    monkeypatch.setattr(Encoder, "encode_distinct", counting)
    return calls
