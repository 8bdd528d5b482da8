"""The registry of kinds: every :class:`~dfembed.encoders.kind.Kind` record, by name.

Importing this module imports each encoder module, whose record registers itself; no heavy
library (ONNX Runtime, tokenizers, Pillow) is imported by that. To add a kind: write its
encoder module with its ``KIND`` record, list the module here, add its registry rows
(:mod:`dfembed.models`) and its tests; ``tests/encoders/test_kinds.py`` checks the record.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from . import image, late_interaction, rerank, sparse, text
from .kind import Kind, record_of

#: Every kind, by name, in the order ``df.embed`` documents them.
KINDS: Mapping[str, Kind] = MappingProxyType(
    {
        record.name: record
        for record in (text.KIND, sparse.KIND, late_interaction.KIND, image.KIND, rerank.KIND)
    }
)


def kind_of(name: str) -> Kind:
    """The record of the kind called ``name``; ``ValueError`` naming the kinds for others."""
    return record_of(name)
