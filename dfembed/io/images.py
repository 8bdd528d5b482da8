"""Reading a column of images: file paths, bytes or PIL images, decoded to upright RGB.

Every cell is decoded here, once, in full: only a full decode finds truncated or corrupt
files, and doing it per row lets ``on_error="null"`` turn exactly the bad rows into null
rows. What the encoder then gets is one :class:`ImageInput` per valid row.

Choices, each a documented behaviour:

- **Missing cells** (``None``, ``NaN``, ``pd.NA``) are null rows. A cell of another type
  (a number, a dict, an array) is a mistake in the column and always raises
  :class:`~dfembed.errors.InputError`, whatever ``on_error`` says; ``on_error`` covers images
  that cannot be *loaded* (missing file, not an image, a format not opened, truncated, too
  large, too narrow). Every check that can fail for one image runs here, per row, so the
  encoder's batches never meet an image they cannot preprocess.
- **Strings and ``os.PathLike``** are file paths (relative ones resolve against the current
  directory of the process that reads them: give Dask workers absolute paths). URLs are not
  fetched. **bytes** (``bytearray``, ``memoryview``) are encoded image files. **PIL images**
  are used as they are, whatever format they were opened from. (Dask turns object columns
  into strings by default, which breaks bytes and PIL cells: a cell holding a PIL image's
  text gets a message saying so.)
- **Formats**: paths and bytes are opened only as :data:`FORMATS` (JPEG, PNG, WebP, GIF,
  BMP, TIFF), so no other Pillow plugin parses untrusted bytes (EPS would run Ghostscript);
  a PIL image cell was opened by its owner and is taken whatever its format.
- **Colour** (:mod:`.image_pixels`): any mode becomes RGB. Alpha (RGBA, LA, PA) and
  transparency keys (a ``transparency`` entry in the image's ``info``: transparent
  palettes, and the tRNS colour of RGB and grayscale PNGs, RGB ones included) are composited
  on a white background, as Hugging Face image processors' ``convert_to_rgb`` does; 16-bit
  grayscale is scaled to 8 bits by its full range (in integers, a band of rows at a time);
  CMYK uses Pillow's conversion (no ICC profile is applied).
- **Orientation**: an EXIF orientation tag is applied, so images are embedded upright, as a
  viewer shows them. Animated images use their first frame.
- **Decompression bombs**: an image with more pixels than ``PIL.Image.MAX_IMAGE_PIXELS``
  (about 89 million by default) is refused before its pixels are decoded. Raise that limit
  for trusted data; ``None`` disables the check.
- **Aspect ratio**: an image whose long side is more than :data:`MAX_ASPECT_RATIO` (100)
  times its short side is refused before it is decoded: a model resizes the short side to
  its input size, and the long side would follow (gigabytes for a thin strip).
- **Memory**: decoded images are kept for the encoder until their total reaches
  ``keep_bytes`` (256 MiB by default, per call); beyond that only the source (path, bytes or
  PIL image) is kept and the encoder decodes it again batch by batch, so a partition of many
  large photos does not hold all of them decoded at once.
- **Deduplication key**: the absolute path for files, a hash of the content for bytes, and
  the object's identity for PIL images (equal-looking PIL images are not compared).
"""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..inputs import describe_column, missing_mask, show
from .image_pixels import to_rgb, upright

#: Decoded pixels (bytes) kept per call before the encoder re-decodes from the source.
KEEP_DECODED_BYTES = 256 * 2**20

#: Formats opened from paths and bytes. Others (EPS, PDF, PSD, the many rare Pillow
#: plugins) are refused before their parser runs: EPS would be handed to Ghostscript.
FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
#: Longest side over shortest side beyond which an image is refused. A model resizes the
#: shortest side to its input size (224 pixels, say), so the long side grows by this
#: factor: at 1:100, 224 x 22,400 pixels (15 MB), where a 50 x 1,780,000 strip would
#: become 224 x 7,974,400 (5.4 GB). Panoramas, banners and scanned receipts stay well
#: within it; what lies beyond it (a strip, a line of pixels) says little once cropped
#: to the model's square.
MAX_ASPECT_RATIO = 100
_PIL_REPR = "<PIL."


class ImageLoadError(Exception):
    """One image could not be loaded; the message is the reason, shown to the user."""


@dataclass(eq=False)
class ImageInput:
    """One valid image cell: where it comes from, its dedup key, and maybe its decoded pixels.

    Parameters
    ----------
    source
        The absolute path (``str``), the encoded ``bytes``, or the PIL image of the cell.
    key
        What makes two cells the same image (see the module notes).
    image
        The decoded upright RGB image, when it was kept; ``None`` means decode ``source``.
    """

    source: Any
    key: Hashable
    image: Any = field(default=None, repr=False)

    def rgb(self):
        """The upright RGB PIL image (decoded again from the source when it was not kept)."""
        if self.image is not None:
            return self.image
        try:
            return decode(self.source)
        except ImageLoadError as exc:
            raise InputError(
                f"The image {describe(self.source)} could be read earlier but not now: {exc}. "
                "Did the file change while embedding?"
            ) from exc

    def release(self) -> None:
        """Drop the kept pixels (the encoder calls this once the image is preprocessed)."""
        self.image = None


def describe(source: Any) -> str:
    """A short label of an image source for messages."""
    if isinstance(source, str):
        return repr(source)
    if isinstance(source, bytes):
        return f"of {len(source)} bytes"
    return f"<PIL {getattr(source, 'mode', '?')} {getattr(source, 'size', '')}>"


def _pil():
    from PIL import Image

    return Image


def normalize_cell(cell: Any) -> Any:
    """The cell as ``str`` path, ``bytes`` or PIL image; ``TypeError`` for anything else."""
    Image = _pil()
    if isinstance(cell, Image.Image):
        return cell
    if isinstance(cell, (bytes, bytearray, memoryview)):
        return bytes(cell)
    if isinstance(cell, (str, os.PathLike)):
        path = os.fspath(cell)
        if isinstance(path, bytes):  # a bytes path-like: rare, but a path all the same
            path = os.fsdecode(path)
        if not path or _is_url(path) or path.startswith(_PIL_REPR):
            return path  # kept as written, for the message decode() gives
        return os.path.abspath(path)
    raise TypeError(type(cell).__name__)


def _is_url(path: str) -> bool:
    return "://" in path[:12]


def image_key(source: Any) -> Hashable:
    """Dedup key of a normalized source: path, content hash or object identity."""
    if isinstance(source, str):
        return ("path", source)
    if isinstance(source, bytes):
        return ("bytes", hashlib.blake2b(source, digest_size=16).digest())
    return ("pil", id(source))


def check_size(width: int, height: int) -> None:
    """Refuse, from its header's size alone, an image too large or too narrow to embed.

    Runs before any pixel is decoded. Past ``MAX_IMAGE_PIXELS`` the decode itself is the
    danger; past :data:`MAX_ASPECT_RATIO` the model's resize is (see that constant).
    """
    limit = _pil().MAX_IMAGE_PIXELS
    if limit is not None and width * height > limit:
        raise ImageLoadError(
            f"it has {width}x{height} pixels, more than PIL.Image.MAX_IMAGE_PIXELS "
            f"({limit}), a guard against decompression bombs; raise that limit if the image is "
            "trusted"
        )
    short, long = sorted((width, height))
    if short < 1:
        raise ImageLoadError(f"it has no pixels ({width}x{height})")
    if long > MAX_ASPECT_RATIO * short:
        raise ImageLoadError(
            f"it is {width}x{height} pixels, one side more than {MAX_ASPECT_RATIO} times the "
            f"other (1:{long // short}): resizing it for a model would make it about "
            f"{long // short} times the model's input; crop or split it first"
        )


def _load(image):
    """Decode ``image`` fully and return it upright and RGB."""
    check_size(*image.size)
    image.load()
    return to_rgb(upright(image))


def decode(source: Any):
    """Decode a normalized source to an upright RGB PIL image, or raise :class:`ImageLoadError`.

    Every failure of Pillow (unknown format, truncated data, bombs, bad headers) becomes an
    ``ImageLoadError`` whose message says why, in words.
    """
    Image = _pil()
    try:
        if isinstance(source, Image.Image):
            check_size(*source.size)
            source.load()  # a lazily opened file may still fail here
            return to_rgb(upright(source))
        if isinstance(source, bytes):
            with Image.open(io.BytesIO(source), formats=FORMATS) as image:
                return _load(image)
        if not source:
            raise ImageLoadError("the path is an empty string")
        if source.startswith(_PIL_REPR):
            raise ImageLoadError(
                "the cell holds the text of a PIL image, not the image: Dask turns object "
                "columns into strings unless the frame is made under "
                "dask.config.set({'dataframe.convert-string': False})"
            )
        if _is_url(source):
            raise ImageLoadError(
                "URLs are not downloaded: fetch the images first and pass file paths or bytes"
            )
        if not os.path.exists(source):
            raise ImageLoadError(f"no such file: {source}")
        if not os.path.isfile(source):
            raise ImageLoadError(f"not a regular file: {source}")
        with open(source, "rb") as handle, Image.open(handle, formats=FORMATS) as image:
            return _load(image)
    except ImageLoadError:
        raise
    except MemoryError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageLoadError(
            f"refused as a possible decompression bomb ({exc}); raise "
            "PIL.Image.MAX_IMAGE_PIXELS if the image is trusted"
        ) from exc
    except Image.UnidentifiedImageError as exc:
        raise ImageLoadError(
            f"it is not an image file dfembed opens ({', '.join(FORMATS)}); convert others, "
            "or pass them as PIL images if they are trusted"
        ) from exc
    except OSError as exc:
        if "truncated" in str(exc).lower():
            raise ImageLoadError(f"the image data is truncated ({exc})") from exc
        raise ImageLoadError(f"{type(exc).__name__}: {exc}") from exc
    except Exception as exc:  # Pillow raises many types (SyntaxError, ValueError, ...)
        raise ImageLoadError(f"corrupt or unsupported image ({type(exc).__name__}: {exc})") from exc


def as_input(cell: Any) -> ImageInput:
    """One cell as a decoded :class:`ImageInput` (for encoders called without the reader)."""
    try:
        source = normalize_cell(cell)
    except TypeError as exc:
        raise InputError(
            f"An image must be a file path, bytes or a PIL image (got {exc})."
        ) from exc
    try:
        return ImageInput(source, image_key(source), decode(source))
    except ImageLoadError as exc:
        raise InputError(f"The image {describe(source)} cannot be read: {exc}.") from exc


def read_images(
    values: pd.Series,
    column: object,
    on_error: str = "raise",
    keep_bytes: int = KEEP_DECODED_BYTES,
) -> tuple[np.ndarray, list[ImageInput]]:
    """Valid-row mask and one :class:`ImageInput` per valid row, in order.

    Parameters
    ----------
    values
        The column's cells: paths, bytes, PIL images or missing values.
    column
        The column's name, for messages.
    on_error
        ``"raise"``: an image that cannot be loaded raises :class:`InputError` naming the
        column, the row's index label and the reason. ``"null"``: it becomes a null row, and
        one warning per call says how many rows that was and why the first failed.
    keep_bytes
        Decoded pixels kept for the encoder, at most (see the module notes).
    """
    if on_error not in ("raise", "null"):
        raise ValueError('on_error must be "raise" or "null"')
    valid = ~missing_mask(values)
    cells = values.to_numpy(dtype=object)
    labels = values.index
    seen: dict[Hashable, ImageInput | ImageLoadError] = {}
    items: list[ImageInput] = []
    failed: list[tuple[object, str]] = []
    kept = 0
    for pos in np.flatnonzero(valid):
        try:
            source = normalize_cell(cells[pos])
        except TypeError as exc:
            raise InputError(
                f"{describe_column(column)} holds a cell of type {exc} at index label "
                f"{show(labels[pos])}; an image cell "
                "must be a file path (str or pathlib.Path), bytes of an image file, or a PIL "
                "image, and None/NaN marks a missing image."
            ) from exc
        key = image_key(source)
        known = seen.get(key)
        if known is None:
            try:
                image = decode(source)
            except ImageLoadError as exc:
                known = exc
            else:
                # an RGB PIL cell is used as it is: keeping it costs no memory
                size = 0 if image is source else image.width * image.height * 3
                keep = kept + size <= keep_bytes
                kept += size if keep else 0
                known = ImageInput(source, key, image if keep else None)
            seen[key] = known
        if isinstance(known, ImageInput):
            items.append(known)
            continue
        if on_error == "raise":
            raise InputError(
                f"{describe_column(column)}: the image at index label {show(labels[pos])} "
                f"cannot be read: {known}. Fix or drop that row, or pass on_error='null' to embed "
                "such rows as null rows."
            ) from known
        valid[pos] = False
        failed.append((labels[pos], str(known)))
    if failed:
        label, reason = failed[0]
        warnings.warn(
            f"{len(failed)} image(s) of {describe_column(column).lower()} could not be read and "
            f"are null rows (on_error='null'); the first, at index label {show(label)}: {reason}.",
            UserWarning,
            stacklevel=2,
        )
    return valid, items
