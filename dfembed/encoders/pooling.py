"""Token vectors to one vector per input, and L2 normalization: shared by text and image."""

from __future__ import annotations

import numpy as np


def pool(hidden: np.ndarray, mask: np.ndarray, how: str) -> np.ndarray:
    """Sentence vectors from token vectors ``[B, T, D]`` with attention ``mask`` ``[B, T]``.

    ``last`` reads each row's last real token. Rows are padded on the right, so that is
    at ``mask.sum() - 1``: for a causal model exactly the vector the row has alone, and
    what sentence-transformers' ``lasttoken`` pooling reads from left-padded rows (their
    rotary positions shift, relative distances do not).
    """
    if hidden.ndim == 2 or how == "none":
        return hidden
    if how == "cls":
        return hidden[:, 0]
    if how == "mean":
        weights = mask[..., None].astype(hidden.dtype)
        return (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    if how == "last":
        last = np.maximum(mask.sum(axis=1) - 1, 0)
        return hidden[np.arange(len(hidden)), last]
    raise ValueError(f"Unknown pooling {how!r}: use 'mean', 'cls', 'last' or 'none'.")


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Each vector (along the last axis) divided by its length; zero vectors stay zero."""
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)
