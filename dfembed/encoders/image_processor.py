"""Image preprocessing as a model's ``preprocessor_config.json`` says, with Pillow and numpy.

Follows the Hugging Face image processors' semantics (their Pillow backend) so no torch is
needed: resize (shortest edge kept in ratio, the long edge truncated, or an exact size) with
the config's resample filter, center crop (zero padding when the image is smaller than the
crop), rescale, normalize with the config's mean and std, channels first, float32. CLIP,
BiT/DINOv2, ViT, DeiT, SigLIP and ConvNeXT (``crop_pct``) configs are understood (a key a
config leaves out means what it means to that family's transformers processor: a DeiT config
without ``do_center_crop`` crops to 224); others raise
:class:`~dfembed.errors.ModelLoadError` rather than embed with a silently different
preprocessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InputError, ModelLoadError
from ..io.images import MAX_ASPECT_RATIO


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

    def resized_size(self, width: int, height: int) -> tuple[int, int]:
        """``(width, height)`` of an image of this size after the resize step.

        Computed before resizing, so the caller can refuse what it could not afford.
        """
        if self.shortest_edge is not None:
            short, long = (width, height) if width <= height else (height, width)
            new_long = int(self.shortest_edge * long / short)  # truncated, as transformers does
            return (
                (self.shortest_edge, new_long)
                if width <= height
                else (new_long, self.shortest_edge)
            )
        if self.size is not None:
            return self.size[1], self.size[0]
        return width, height

    def __call__(self, image) -> np.ndarray:
        """The ``[3, H, W]`` float32 model input of one RGB PIL image.

        Raises :class:`~dfembed.errors.InputError` for an image without pixels, and, before
        resizing, when the shortest-edge resize would make more than ``MAX_ASPECT_RATIO``
        times the pixels of the model's square input. :func:`dfembed.io.images.decode`
        refuses such images per row, from their aspect ratio; only images given here
        straight can get this far.
        """
        width, height = image.size
        if min(width, height) < 1:
            raise InputError(f"An image of {width}x{height} pixels has nothing to embed.")
        target = self.resized_size(width, height)
        edge = self.shortest_edge
        if edge is not None and target[0] * target[1] > MAX_ASPECT_RATIO * edge * edge:
            raise InputError(
                f"An image of {width}x{height} pixels would be resized to "
                f"{target[0]}x{target[1]}, more than {MAX_ASPECT_RATIO} times the pixels of "
                f"the model's {edge}x{edge} input: crop or split it first."
            )
        if target != (width, height):
            image = image.resize(target, resample=self.resample)
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
