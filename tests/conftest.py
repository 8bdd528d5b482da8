"""Shared fixtures: real model folders built once per session, and Dask settings."""

from __future__ import annotations

import os
import tempfile

import dask
import pytest
from hypothesis import settings

import dfembed  # noqa: F401 - registers the accessor

# Property tests check results, not speed: a per-example deadline only measures how busy
# the 2 cores are (a 0.6 ms example took 497 ms once while another test ran beside it).
settings.register_profile("dfembed", deadline=None)
settings.load_profile("dfembed")

# Dask writes dask-scratch-space into the working directory unless told otherwise.
dask.config.set({"temporary-directory": os.path.join(tempfile.gettempdir(), "dfembed-tests")})


def pytest_collection_modifyitems(config, items) -> None:
    """Leave out ``hub`` tests (real downloads) unless the run asks for them with ``-m hub``.

    They are deselected rather than skipped: CI has no network, and a skip per registry row
    would read as tests that failed to run.
    """
    if "hub" in (config.getoption("markexpr") or ""):
        return
    hub = [item for item in items if item.get_closest_marker("hub") is not None]
    if hub:
        config.hook.pytest_deselected(items=hub)
        items[:] = [item for item in items if item.get_closest_marker("hub") is None]


def _model(name: str):
    from tools.offline_models import build

    return str(build(name))


@pytest.fixture(scope="session")
def minilm_int8() -> str:
    """all-MiniLM-L6-v2 with int8 weights (real weights, no torch needed)."""
    return _model("minilm-int8")


@pytest.fixture(scope="session")
def minilm_fp32() -> str:
    """all-MiniLM-L6-v2 exported to fp32 ONNX from its safetensors (needs torch)."""
    return _model("minilm-fp32")


@pytest.fixture(scope="session")
def paraphrase_l3() -> str:
    """paraphrase-MiniLM-L3-v2 fp32 ONNX."""
    return _model("paraphrase-l3")


@pytest.fixture(scope="session")
def dinov2_small() -> str:
    """DINOv2-small vision backbone (real weights, 384 dims, CLS pooling, no torch needed)."""
    return _model("dinov2-small")


@pytest.fixture(scope="session")
def splade_tiny() -> str:
    """SPLADE-tiny (BERT MLM, 2 layers) exported to ONNX, output ``logits`` [B, T, 30522]."""
    return _model("splade-tiny")
