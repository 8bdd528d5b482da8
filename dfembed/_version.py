"""dfembed's version, in one place: the installed package's metadata (``pyproject.toml``).

A module of its own that imports nothing of dfembed, so the embedding cache (whose
namespaces depend on the version) reads it without importing the package root.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dfembed")
except PackageNotFoundError:  # a source tree on sys.path that was never installed
    __version__ = "0+unknown"
