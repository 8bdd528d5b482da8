"""Which graph a session loads: :func:`dfembed.runtime.rewrites.graph_source`.

The rewrites themselves are stubbed (they are tested in test_fusion, test_fusion_choice,
test_quantize and test_precision): here only the choice among them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dfembed.errors import ModelLoadError
from dfembed.runtime import rewrites

MODEL = Path("/m/model.onnx")
CONFIG = Path("/m/config.json")
FUSED = Path("/store/fused.onnx")


@pytest.fixture
def stubs(monkeypatch):
    """Stub rewrites; ``stubs.calls`` lists what ran, ``stubs.prefer`` is the measurement."""

    class Stubs:
        calls: list[str] = []
        prefer = True
        fusable = True

    def fused_graph(path, config):
        Stubs.calls.append("fuse")
        return FUSED if Stubs.fusable else None

    def prefer_fused(path, fused, config, threads):
        Stubs.calls.append(f"measure/{threads}")
        return Stubs.prefer

    monkeypatch.setattr(rewrites, "fused_graph", fused_graph)
    monkeypatch.setattr(rewrites, "prefer_fused", prefer_fused)
    monkeypatch.setattr(rewrites, "fp16_model_bytes", lambda path: b"fp16 bytes")
    monkeypatch.setattr(rewrites, "int8_graph", lambda path: Path("/store/int8.onnx"))
    return Stubs


def _source(precision="fp32", fusion=None, config=CONFIG, cuda=False, threads=2):
    return rewrites.graph_source(MODEL, precision, fusion, config, cuda, threads)


def test_fp16_is_converted_in_memory(stubs):
    assert _source("fp16") == (b"fp16 bytes", None)
    assert stubs.calls == []


def test_int8_is_the_kept_file_or_bytes_and_never_on_cuda(stubs, monkeypatch):
    assert _source("int8") == ("/store/int8.onnx", Path("/store/int8.onnx"))
    monkeypatch.setattr(rewrites, "int8_graph", lambda path: b"int8 bytes")
    assert _source("int8") == (b"int8 bytes", None)  # an unwritable store
    with pytest.raises(ModelLoadError, match="precision='int8' runs ONNX Runtime's CPU"):
        _source("int8", cuda=True)


def test_fusion_false_runs_the_models_own_file_without_fusing(stubs):
    assert _source(fusion=False) == (str(MODEL), None)
    assert stubs.calls == []


def test_fusion_true_and_cuda_take_the_fused_graph_without_measuring(stubs):
    assert _source(fusion=True) == (str(FUSED), FUSED)
    assert _source(cuda=True) == (str(FUSED), FUSED)
    assert stubs.calls == ["fuse", "fuse"]


def test_fusion_none_on_the_cpu_follows_the_measurement(stubs):
    assert _source(threads=3) == (str(FUSED), FUSED)
    stubs.prefer = False
    assert _source(threads=3) == (str(MODEL), None)
    assert stubs.calls == ["fuse", "measure/3", "fuse", "measure/3"]


def test_a_graph_that_cannot_be_fused_or_has_no_config_runs_as_it_is(stubs):
    stubs.fusable = False
    assert _source(fusion=True) == (str(MODEL), None)
    stubs.fusable = True
    assert _source(fusion=True, config=None) == (str(MODEL), None)
