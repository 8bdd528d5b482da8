"""Dense text embeddings: tokenize (with the model's prompt), run, pool, cut, L2-normalize."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ModelLoadError
from .base import EncodeOptions, Prepared
from .pooling import l2_normalize, pool
from .token_encoder import TextOptions, TokenEncoder


@dataclass(frozen=True)
class DenseOptions(TextOptions):
    """Options of dense text embeddings (``df.embed.text``).

    Parameters
    ----------
    prompt
        Text put before every input instead of the query/document prompt: a name of one of
        the model's prompts (``"query"``, ``"clustering"``, ...) or the text itself.
    dim
        Keep only the first ``dim`` values of each vector (then L2-normalize, if the vectors
        are normalized): sentence-transformers' ``truncate_dim``, for Matryoshka models.
    """

    prompt: str | None = None
    dim: int | None = None


class TextEncoder(TokenEncoder):
    """Dense sentence embeddings, one fixed-width float32 vector per text."""

    kind = "text"
    options_type = DenseOptions

    def run(self, prepared: Prepared, positions: np.ndarray, options: TextOptions) -> np.ndarray:
        inputs, mask = self.feed(prepared, positions)
        vectors = pool(self.run_model(inputs), mask, self.info.pooling)
        if vectors.ndim != 2:
            raise ModelLoadError(
                f"{self.model.folder} gives per-token vectors {vectors.shape} from output "
                f'{self.output_name()!r} with pooling "none": name its pooled output in '
                'dfembed.json ("output_name"), or set "pooling" to how the model pools.'
            )
        if self.info.dim and vectors.shape[-1] != self.info.dim:  # else Dask's meta is wrong
            raise ModelLoadError(
                f"{self.model.folder} gives {vectors.shape[-1]}-wide vectors, not the "
                f'{self.info.dim} its description says: fix "dim" in its dfembed.json.'
            )
        cut = getattr(options, "dim", None)
        if cut:  # Matryoshka: the first values, then normalized (as truncate_dim does)
            vectors = vectors[:, :cut]
        if self.normalizes(options):
            vectors = l2_normalize(vectors)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    @property
    def dim(self) -> int:
        return self.info.dim

    def width(self, options: EncodeOptions) -> int:
        return getattr(options, "dim", None) or self.info.dim
