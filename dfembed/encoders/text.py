"""Dense text embeddings: tokenize (with the model's prompt), run, pool, cut, L2-normalize."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ModelLoadError
from .base import EncodeOptions, Prepared
from .kind import DENSE, Kind, register
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

    def run(self, prepared: Prepared, positions: np.ndarray, options: TextOptions) -> np.ndarray:
        inputs, mask = self.feed(prepared, positions)
        vectors = pool(self.run_model(inputs), mask, self.info.pooling)
        if vectors.ndim != 2:
            raise ModelLoadError(
                f"{self.model.folder} gives per-token vectors {vectors.shape} from output "
                f'{self.output_name()!r} with pooling "none": name its pooled output in '
                'dfembed.json ("output_name"), or set "pooling" to how the model pools.'
            )
        self.check_width(vectors.shape[-1])
        cut = getattr(options, "dim", None)
        if cut:  # Matryoshka: the first values, then normalized (as truncate_dim does)
            vectors = vectors[:, :cut]
        if self.normalizes(options):
            vectors = l2_normalize(vectors)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def width(self, options: EncodeOptions) -> int:
        return getattr(options, "dim", None) or self.info.dim


KIND = register(
    Kind(
        name="text",
        options=DenseOptions,
        encoders={pooling: TextEncoder for pooling in ("mean", "cls", "last", "none")},
        column=DENSE,
        default_model="all-MiniLM-L6-v2",
        # [CLS] text [SEP]: below it, 0 would read as "the model's limit", 1 as no truncation
        min_max_length=3,
    )
)
