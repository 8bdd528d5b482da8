"""The public API's shape: the version, the accessor's registration, rerank's spelling."""

from __future__ import annotations

import importlib.metadata

import dfembed


def test_version_is_the_installed_metadata():
    # one place: pyproject.toml's version, as installed, which the embedding cache keys on
    assert dfembed.__version__ == importlib.metadata.version("dfembed")
