"""Dense image embeddings: Pillow preprocessing as ``preprocessor_config.json`` says, ONNX, pool.

Preprocessing follows the Hugging Face image processors' semantics (their Pillow backend),
written with Pillow and numpy so no torch is needed: resize (shortest edge kept in ratio,
the long edge truncated, or an exact size) with the config's resample filter, center crop
(zero padding when the image is smaller than the crop), rescale, normalize with the
config's mean and std, channels first, float32. CLIP, BiT/DINOv2, ViT, DeiT, SigLIP and
ConvNeXT (``crop_pct``) configs are understood (a key a config leaves out means what it
means to that family's transformers processor: a DeiT config without ``do_center_crop``
crops to 224); others raise
:class:`~dfembed.errors.ModelLoadError` rather than embed with a silently different
preprocessing.

Images are decoded and checked by :mod:`dfembed.io.images` before they get here; this
encoder preprocesses them batch by batch inside :meth:`ImageEncoder.run`, so at most one
batch of pixel tensors is in memory, and goes through :meth:`Encoder.encode` like every kind
(each image costs one "token", so ``batch_size`` is the number of images per model run).
"""

from __future__ import annotations

import json
import re
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
)
from .base import EncodeOptions, Encoder, Prepared
from .text import l2_normalize, pool

#: Images per model run when ``batch_size=None``.
DEFAULT_IMAGE_BATCH = 32

_FLOAT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}
#: Start of a PIL image's cache key. Keys of earlier versions (``pil\0``, mode, size, stored
#: pixels) differ from it at the 4th byte, so what was stored under them is never served.
_PIL_KEY = b"pil-rgb\0"


@dataclass(frozen=True)
class _Family:
    """What one family of transformers image processors assumes for keys a config leaves out.

    Read from the class attributes in transformers' ``models/*/image_processing_*.py``
    (5.x): a missing key read any other way preprocesses differently from the model's own
    processor, with no error to say so.
    """

    resample: int  # Pillow filter number
    square: bool  # an integer ``size`` is height = width (else the shortest edge)
    crop: bool = False  # do_center_crop
    crop_size: int | None = None  # None: do_center_crop needs an explicit crop_size


_FAMILIES = {
    "CLIP": _Family(resample=3, square=False, crop=True, crop_size=224),
    "Bit": _Family(resample=3, square=False, crop=True, crop_size=224),
    "DeiT": _Family(resample=3, square=True, crop=True, crop_size=224),
    "ViT": _Family(resample=2, square=True),
    "Siglip": _Family(resample=3, square=False),
    # bicubic since transformers 5 (4.x resized ConvNeXT bilinearly when no filter was named)
    "ConvNext": _Family(resample=3, square=False),
}


@dataclass(frozen=True)
class ImageOptions(EncodeOptions):
    """Options of image encoders.

    Parameters
    ----------
    normalize
        L2-normalize each vector (cosine similarity becomes a dot product).

    ``batch_size`` is the number of images per model run; ``None`` means
    :data:`DEFAULT_IMAGE_BATCH` (images are large: the token budget alone would allow
    thousands).
    """

    normalize: bool = True

    def __post_init__(self) -> None:
        if self.batch_size is None:
            object.__setattr__(self, "batch_size", DEFAULT_IMAGE_BATCH)


@dataclass(frozen=True)
class ImageProcessor:
    """One model's preprocessing, read from its ``preprocessor_config.json``.

    Parameters
    ----------
    shortest_edge
        Resize so the shorter side has this length (ratio kept); exclusive with ``size``.
    size
        Resize to exactly ``(height, width)``.
    resample
        Pillow filter number (2 bilinear, 3 bicubic, ...).
    crop
        Center crop ``(height, width)``, or ``None``.
    rescale
        Factor applied to the 0..255 pixels, or ``None``.
    mean, std
        Per-channel normalization, or ``None``.
    """

    shortest_edge: int | None = None
    size: tuple[int, int] | None = None
    resample: int = 3
    crop: tuple[int, int] | None = None
    rescale: float | None = 1 / 255
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ImageProcessor:
        """Read a Hugging Face image-processor config (``preprocessor_config.json``)."""
        name = _family_name(config)
        family = _FAMILIES[name]
        if name == "ConvNext":
            shortest, size, crop = _convnext_geometry(config)
        else:
            shortest, size = _resize_geometry(config, family)
            crop = _crop_geometry(config, family)
        mean = std = None
        if config.get("do_normalize", True):
            if "image_mean" not in config or "image_std" not in config:
                raise ModelLoadError(
                    "preprocessor_config.json has do_normalize but no image_mean/image_std."
                )
            mean, std = _channels(config["image_mean"]), _channels(config["image_std"])
        rescale = float(config.get("rescale_factor", 1 / 255))
        return cls(
            shortest_edge=shortest,
            size=size,
            resample=int(config.get("resample", family.resample)),
            crop=crop,
            rescale=rescale if config.get("do_rescale", True) else None,
            mean=mean,
            std=std,
        )

    @property
    def output_size(self) -> tuple[int, int] | None:
        """``(height, width)`` of every output, when fixed (a crop or an exact resize)."""
        return self.crop or self.size

    def __call__(self, image) -> np.ndarray:
        """The ``[3, H, W]`` float32 model input of one RGB PIL image."""
        if self.shortest_edge is not None:
            width, height = image.size
            short, long = (width, height) if width <= height else (height, width)
            new_long = int(self.shortest_edge * long / short)  # truncated, as transformers does
            target = (
                (self.shortest_edge, new_long)
                if width <= height
                else (new_long, self.shortest_edge)
            )
            image = image.resize(target, resample=self.resample)
        elif self.size is not None:
            image = image.resize((self.size[1], self.size[0]), resample=self.resample)
        pixels = np.asarray(image)
        if self.crop is not None:
            pixels = center_crop(pixels, self.crop)
        pixels = pixels.transpose(2, 0, 1)
        if self.rescale is not None:
            pixels = (pixels.astype(np.float64) * self.rescale).astype(np.float32)
        else:
            pixels = pixels.astype(np.float32)
        if self.mean is not None:
            mean = np.asarray(self.mean, dtype=np.float32)[:, None, None]
            std = np.asarray(self.std, dtype=np.float32)[:, None, None]
            pixels = (pixels - mean) / std
        return np.ascontiguousarray(pixels, dtype=np.float32)


def _family_name(config: dict[str, Any]) -> str:
    """The processor family a config names (CLIP when it names none, as old CLIP exports)."""
    kind = str(config.get("image_processor_type") or config.get("feature_extractor_type") or "")
    name = re.sub(r"(ImageProcessor(Fast|Pil)?|FeatureExtractor)$", "", kind) or "CLIP"
    if name not in _FAMILIES:
        raise ModelLoadError(
            f"Image processor {kind!r} is not supported (dfembed implements CLIP, BiT, ViT, "
            "DeiT, SigLIP and ConvNeXT preprocessing); write the model's "
            "preprocessor_config.json as one of those if its steps are the same."
        )
    return name


def _size(config: dict[str, Any]) -> int | dict[str, Any]:
    """The config's ``size``, which a resize cannot do without."""
    raw = config.get("size")
    if raw is None:
        raise ModelLoadError("preprocessor_config.json has do_resize but no size.")
    return raw


def _resize_geometry(
    config: dict[str, Any], family: _Family
) -> tuple[int | None, tuple[int, int] | None]:
    """``(shortest_edge, size)`` of the resize step; both ``None`` without ``do_resize``."""
    if not config.get("do_resize", True):
        return None, None
    raw = _size(config)
    if isinstance(raw, int):
        return (None, (raw, raw)) if family.square else (raw, None)
    if "shortest_edge" in raw:
        return int(raw["shortest_edge"]), None
    if "height" in raw and "width" in raw:
        return None, (int(raw["height"]), int(raw["width"]))
    raise ModelLoadError(f"Unsupported size {raw!r} in preprocessor_config.json.")


def _crop_geometry(config: dict[str, Any], family: _Family) -> tuple[int, int] | None:
    """``(height, width)`` of the center crop, or ``None`` when the config does not crop."""
    if not config.get("do_center_crop", family.crop):
        return None
    raw = config.get("crop_size", family.crop_size)
    if raw is None:  # transformers raises too: there is no size to guess
        raise ModelLoadError("preprocessor_config.json has do_center_crop but no crop_size.")
    return (raw, raw) if isinstance(raw, int) else (int(raw["height"]), int(raw["width"]))


def _convnext_geometry(
    config: dict[str, Any],
) -> tuple[int | None, tuple[int, int] | None, tuple[int, int] | None]:
    """``(shortest_edge, size, crop)`` of ConvNeXT's own resize step.

    Below 384 it resizes to ``edge / crop_pct`` and crops to ``edge``; from 384 on it
    resizes to ``edge`` squared.
    """
    if not config.get("do_resize", True):
        return None, None, None
    raw = _size(config)
    edge = raw.get("shortest_edge") if isinstance(raw, dict) else int(raw)
    if edge is None:
        raise ModelLoadError(
            f"ConvNeXT preprocessing needs size as an int or a shortest_edge, not {raw!r}."
        )
    if edge < 384:
        return int(edge / float(config.get("crop_pct", 224 / 256))), None, (edge, edge)
    return None, (edge, edge), None


def _channels(value) -> tuple[float, ...]:
    values = tuple(float(v) for v in (value if isinstance(value, (list, tuple)) else [value]))
    return values * 3 if len(values) == 1 else values


def center_crop(pixels: np.ndarray, crop: tuple[int, int]) -> np.ndarray:
    """Crop ``[H, W, C]`` pixels to ``crop`` around the center; pad with zeros if smaller.

    Offsets round down and padding rounds up, so odd differences land where transformers'
    ``center_crop`` puts them.
    """
    height, width = pixels.shape[:2]
    ch, cw = crop
    if height < ch or width < cw:
        padded = np.zeros((max(height, ch), max(width, cw), *pixels.shape[2:]), pixels.dtype)
        top, left = -(-(padded.shape[0] - height) // 2), -(-(padded.shape[1] - width) // 2)
        padded[top : top + height, left : left + width] = pixels
        pixels, height, width = padded, padded.shape[0], padded.shape[1]
    top, left = (height - ch) // 2, (width - cw) // 2
    return pixels[top : top + ch, left : left + cw]


class ImageEncoder(Encoder):
    """One fixed-width float32 vector per image, from an ONNX vision model.

    The graph takes one pixel input ``[B, 3, H, W]``. Its output is read as the model's
    description says: ``pooling`` ``cls`` or ``mean`` over a ``[B, T, D]`` token output, or
    ``none`` for an already pooled output (``[B, D]``, or ``[B, D, 1, 1]`` from a CNN). With
    ``pooling="none"`` and no ``output_name``, the graph's first output is used (the pooled
    image embedding in CLIP vision exports).
    """

    kind = "image"
    options_type = ImageOptions

    def __init__(self, model, session):
        super().__init__(model, session)
        path = model.file("preprocessor_config.json")
        if path is None:
            raise ModelLoadError(
                f"The image model in {model.folder} has no preprocessor_config.json: copy the "
                "model's preprocessor_config.json (from its hub repository) next to its ONNX file."
            )
        try:
            config = json.loads(path.read_text())
        except ValueError as exc:
            raise ModelLoadError(f"{path} is not valid JSON ({exc}).") from exc
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

    @property
    def dim(self) -> int:
        return self.info.dim

    def output_name(self) -> str:
        if not self.info.output_name and self.info.pooling == "none":
            return self.output_names[0]
        return super().output_name()

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
        if self.info.dim and vectors.shape[1] != self.info.dim:
            raise ModelLoadError(
                f"The model gives {vectors.shape[1]}-wide vectors but its description says "
                f"dim={self.info.dim}: fix 'dim' (or 'output_name'/'pooling') in dfembed.json."
            )
        if options.normalize:
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
    (an RGB cell is used as it is, others are kept up to ``keep_bytes``). Measured on
    640x480 images: an RGB key costs what it did (about 4 ms, mostly hashing); a palette
    image's costs about 3 ms more (3 bytes a pixel to hash, not 1), next to about 300 ms
    of DINOv2-small per image on 2 cores. Only images beyond ``keep_bytes`` and raw cells
    given straight to the encoder are converted twice.
    """
    try:
        rgb = image.rgb() if isinstance(image, ImageInput) else decode(image)
    except (ImageLoadError, InputError):  # the encoder reports it
        return None
    return _PIL_KEY + f"{rgb.size}\0".encode() + rgb.tobytes()
