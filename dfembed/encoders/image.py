"""Dense image embeddings: Pillow preprocessing as ``preprocessor_config.json`` says, ONNX, pool.

Preprocessing follows the Hugging Face image processors' semantics (their Pillow backend),
written with Pillow and numpy so no torch is needed: resize (shortest edge kept in ratio,
the long edge truncated, or an exact size) with the config's resample filter, center crop
(zero padding when the image is smaller than the crop), rescale, normalize with the
config's mean and std, channels first, float32. CLIP, BiT/DINOv2, ViT, DeiT, SigLIP and
ConvNeXT (``crop_pct``) configs are understood; others raise
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

from ..errors import ModelLoadError
from ..io.images import ImageInput, as_input, image_key, normalize_cell
from .base import EncodeOptions, Encoder, Prepared
from .text import l2_normalize, pool

#: Images per model run when ``batch_size=None``.
DEFAULT_IMAGE_BATCH = 32

_FLOAT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}
# Processor families and how an integer ``size`` and a missing ``resample`` read in each.
_SQUARE_BY_DEFAULT = {"ViT": True, "DeiT": True, "Siglip": True, "CLIP": False, "Bit": False}
_DEFAULT_RESAMPLE = {"ViT": 2, "DeiT": 3, "Siglip": 3, "CLIP": 3, "Bit": 3, "ConvNext": 2}


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
        kind = str(config.get("image_processor_type") or config.get("feature_extractor_type") or "")
        family = re.sub(r"(ImageProcessor(Fast|Pil)?|FeatureExtractor)$", "", kind) or "CLIP"
        if family not in _DEFAULT_RESAMPLE:
            raise ModelLoadError(
                f"Image processor {kind!r} is not supported (dfembed implements CLIP, BiT, ViT, "
                "DeiT, SigLIP and ConvNeXT preprocessing); write the model's "
                "preprocessor_config.json as one of those if its steps are the same."
            )
        resample = int(config.get("resample", _DEFAULT_RESAMPLE[family]))
        shortest, size, crop = None, None, None
        if config.get("do_resize", True):
            raw = config.get("size")
            if raw is None:
                raise ModelLoadError("preprocessor_config.json has do_resize but no size.")
            if family == "ConvNext":
                edge = raw["shortest_edge"] if isinstance(raw, dict) else int(raw)
                if edge < 384:  # ConvNeXT resizes to edge / crop_pct, then crops to edge
                    shortest = int(edge / float(config.get("crop_pct", 224 / 256)))
                    crop = (edge, edge)
                else:
                    size = (edge, edge)
            elif isinstance(raw, int):
                size, shortest = ((raw, raw), None) if _SQUARE_BY_DEFAULT[family] else (None, raw)
            elif "shortest_edge" in raw:
                shortest = int(raw["shortest_edge"])
            elif "height" in raw and "width" in raw:
                size = (int(raw["height"]), int(raw["width"]))
            else:
                raise ModelLoadError(f"Unsupported size {raw!r} in preprocessor_config.json.")
        if family != "ConvNext" and config.get("do_center_crop", family in ("CLIP", "Bit")):
            raw = config.get("crop_size", 224)
            crop = (raw, raw) if isinstance(raw, int) else (int(raw["height"]), int(raw["width"]))
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
            resample=resample,
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

        A file and the same bytes in a cell are the same input; a PIL image is keyed by its
        mode, size and pixels. ``None`` (never cached) for anything unreadable: the encoder
        reports it.
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
        header = f"pil\0{source.mode}\0{source.size}\0".encode()
        return header + source.tobytes()

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
