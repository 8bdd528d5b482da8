"""The extra inputs of decoder exports (Qwen3-Embedding, gte-Qwen): position ids, empty cache.

Decoder graphs exported for generation (optimum, transformers.js) ask for ``position_ids``
and one ``past_key_values.<layer>.key`` / ``.value`` per layer besides the token ids and
mask. Embedding reads one pass over the whole text, so the cache is empty (no past tokens)
and positions count from 0 along each row: rows are padded on the right, so that is each
real token's position in its row whatever the padding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ModelLoadError

_FLOAT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}


@dataclass(frozen=True)
class DecoderInputs:
    """What a graph's decoder inputs need: whether it takes ``position_ids``, and each
    cache input's fixed shape (batch and past length left to fill) and dtype."""

    positions: bool = False
    caches: tuple[tuple[str, tuple[Any, ...], Any], ...] = ()

    @classmethod
    def of(cls, session: Any) -> DecoderInputs:
        """The decoder inputs of an ONNX Runtime session (none for encoder models)."""
        if session is None:
            return cls()
        graph_inputs = session.get_inputs()
        caches = []
        for item in graph_inputs:
            if not item.name.startswith("past_key_values"):
                continue
            shape = tuple(item.shape)
            dtype = _FLOAT_TYPES.get(item.type)
            if len(shape) != 4 or dtype is None or not all(isinstance(d, int) for d in shape[1::2]):
                raise ModelLoadError(
                    f"The graph input {item.name} has shape {list(shape)} and type {item.type}: "
                    "dfembed feeds decoder caches of shape [batch, heads, past, head size] "
                    "with fixed heads and head size, float or float16. Export the model "
                    "without a cache (optimum's feature-extraction task)."
                )
            caches.append((item.name, shape, dtype))
        positions = any(item.name == "position_ids" for item in graph_inputs)
        return cls(positions, tuple(caches))

    def others(self, names: Sequence[str]) -> list[str]:
        """The input names of ``names`` that are not decoder inputs."""
        mine = {"position_ids", *(name for name, _, _ in self.caches)}
        return [name for name in names if name not in mine]

    def feed(self, mask: np.ndarray) -> dict[str, np.ndarray]:
        """The decoder inputs for a right-padded batch whose attention mask is ``mask``."""
        rows, length = mask.shape
        out: dict[str, np.ndarray] = {}
        if self.positions:
            out["position_ids"] = np.tile(np.arange(length, dtype=np.int64), (rows, 1))
        for name, shape, dtype in self.caches:
            out[name] = np.zeros((rows, shape[1], 0, shape[3]), dtype=dtype)
        return out
