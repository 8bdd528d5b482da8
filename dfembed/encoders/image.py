"""Dense image embeddings: preprocess (:mod:`.image_processor`), run ONNX, pool.

Images are decoded and checked by :mod:`dfembed.io.images` before they get here; this
encoder preprocesses them batch by batch inside :meth:`ImageEncoder.run`, so at most one
batch of pixel tensors is in memory, and goes through :meth:`Encoder.encode` like every kind
(each image costs one "token", so ``batch_size`` is the number of images per model run).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError, ModelLoadError
from ..io.images import (
    ImageInput,
    ImageLoadError,
    as_input,
    decode,
    image_key,
    normalize_cell,
    read_images,
)
from ..models.files import read_json
from .base import EncodeOptions, Encoder, Prepared
from .costs import one_per_row
from .image_processor import ImageProcessor
from .kind import DENSE, Kind, register
from .pooling import l2_normalize, pool

#: Images per model run when ``batch_size=None``.
DEFAULT_IMAGE_BATCH = 32

_FLOAT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}
#: Start of a PIL image's cache key. Keys of earlier versions (``pil\0``, mode, size, stored
#: pixels) differ from it at the 4th byte, so what was stored under them is never served.
_PIL_KEY = b"pil-rgb\0"


@dataclass(frozen=True)
class ImageOptions(EncodeOptions):
    """Options of image encoders.

    Parameters
    ----------
    normalize
        L2-normalize each vector (cosine similarity becomes a dot product); ``None``: as the
        model's description says.

    ``batch_size`` is the number of images per model run; ``None`` means
    :data:`DEFAULT_IMAGE_BATCH` (images are large: the token budget alone would allow
    thousands).
    """

    normalize: bool | None = None

    def __post_init__(self) -> None:
        if self.batch_size is None:
            object.__setattr__(self, "batch_size", DEFAULT_IMAGE_BATCH)


class ImageEncoder(Encoder):
    """One fixed-width float32 vector per image, from an ONNX vision model.

    The graph takes one pixel input ``[B, 3, H, W]``. Its output is read as the model's
    description says: ``pooling`` ``cls`` or ``mean`` over a ``[B, T, D]`` token output, or
    ``none`` for an already pooled output (``[B, D]``, or ``[B, D, 1, 1]`` from a CNN). With
    ``pooling="none"`` and no ``output_name``, the graph's first output is used (the pooled
    image embedding in CLIP vision exports).
    """

    kind = "image"

    def __init__(self, model, session):
        super().__init__(model, session)
        path = model.file("preprocessor_config.json")
        if path is None:
            raise ModelLoadError(
                f"The image model in {model.folder} has no preprocessor_config.json: copy the "
                "model's preprocessor_config.json (from its hub repository) next to its ONNX file."
            )
        config = read_json(path, "Copy the model's own preprocessor_config.json there.")
        self.processor = ImageProcessor.from_config(config)
        inputs = session.get_inputs()
        if len(inputs) != 1:
            raise ModelLoadError(
                f"An image model takes one pixel input; this graph asks for "
                f"{[i.name for i in inputs]} (export the vision tower alone)."
            )
        self.pixel_input = inputs[0].name
        self.pixel_type = _FLOAT_TYPES.get(inputs[0].type, np.float32)
        fixed = tuple(inputs[0].shape[2:4])
        size = self.processor.output_size
        if size and all(isinstance(d, int) for d in fixed) and fixed != size:
            raise ModelLoadError(
                f"The graph takes {fixed[0]}x{fixed[1]} images but preprocessor_config.json "
                f"makes {size[0]}x{size[1]}: the two files do not belong together."
            )

    def dedup_key(self, item: Any):
        if isinstance(item, ImageInput):
            return item.key
        try:
            return image_key(normalize_cell(item))
        except TypeError:
            return ("other", id(item))  # prepare() raises a clear error for it

    def cache_key(self, item: Any) -> bytes | None:
        """An image's encoded bytes, never its name: a file rewritten in place is a new input.

        A file and the same bytes in a cell are the same input; a PIL image is keyed by the
        upright RGB pixels the model is given (see :func:`_pil_key`). ``None`` (never
        cached) for anything unreadable: the encoder reports it.
        """
        source = item.source if isinstance(item, ImageInput) else item
        try:
            source = normalize_cell(source)
        except TypeError:
            return None
        if isinstance(source, bytes):
            return source
        if isinstance(source, str):
            try:
                with open(source, "rb") as handle:
                    return handle.read()
            except OSError:
                return None
        return _pil_key(item if isinstance(item, ImageInput) else source)

    def prepare(self, items: Sequence[Any], options: ImageOptions) -> Prepared:
        """Every image costs one unit of the budget; raw cells are read and checked here."""
        data = [item if isinstance(item, ImageInput) else as_input(item) for item in items]
        return Prepared(lengths=np.ones(len(data), dtype=np.int64), data=data)

    def run(self, prepared: Prepared, positions: np.ndarray, options: ImageOptions) -> np.ndarray:
        batch = []
        for i in positions:
            item = prepared.data[i]
            batch.append(self.processor(item.rgb()))
            item.release()  # the pixels are in the batch now: the decoded image can go
        pixels = np.stack(batch).astype(self.pixel_type, copy=False)
        output = self.run_model({self.pixel_input: pixels}).astype(np.float32, copy=False)
        vectors = self._pool(output)
        self.check_width(vectors.shape[1])
        if self.normalizes(options):
            vectors = l2_normalize(vectors)
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _pool(self, output: np.ndarray) -> np.ndarray:
        if output.ndim == 3 and self.info.pooling in ("cls", "mean"):
            mask = np.ones(output.shape[:2], dtype=np.int64)
            return pool(output, mask, self.info.pooling)
        if output.ndim == 3:
            raise ModelLoadError(
                f"Output {self.output_name()!r} holds one vector per patch [B, T, D]: set "
                "'pooling' to 'cls' or 'mean' (or 'output_name' to a pooled output) in "
                "dfembed.json."
            )
        return output.reshape(len(output), -1)


def _pil_key(image: ImageInput | Any) -> bytes | None:
    """A PIL image's cache key: size and pixels of its decoded upright RGB image.

    The stored pixels are not enough: a palette, a transparency key or an EXIF orientation
    change the picture without changing them, and keying on the decoded image cannot miss
    a step that adding those to the key one by one could. It costs no second conversion in
    the common path, where the reader's :class:`ImageInput` already holds the decoded image
    (an RGB cell is used as it is, others are kept up to ``keep_bytes``). Hashing 3 bytes
    a pixel costs little next to running the model on the image (benchmarks/README.md,
    "Measurements behind defaults in the code"). Only images beyond ``keep_bytes`` and raw
    cells given straight to the encoder are converted twice.
    """
    try:
        rgb = image.rgb() if isinstance(image, ImageInput) else decode(image)
    except (ImageLoadError, InputError):  # the encoder reports it
        return None
    return _PIL_KEY + f"{rgb.size}\0".encode() + rgb.tobytes()


def _read_images(values, column: object, task, part):
    """Paths, bytes or PIL images, read and checked; ``task.on_error`` says what a missing
    or unreadable one gives."""
    return read_images(values, column, task.on_error)


KIND = register(
    Kind(
        name="image",
        options=ImageOptions,
        encoders={pooling: ImageEncoder for pooling in ("cls", "mean", "none")},
        column=DENSE,
        default_model="Qdrant/clip-ViT-B-32-vision",
        read=_read_images,
        cost=one_per_row,
        unit="rows",
    )
)
