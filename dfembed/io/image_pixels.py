"""A decoded PIL image turned into the upright 8-bit RGB picture a model is given.

Used by :mod:`dfembed.io.images` on every cell once it is decoded. Conversions work on the
image in place of whole-image numpy copies where they can: a 16-bit image is scaled to 8 bits
a band of rows at a time, so an 80-megapixel 16-bit scan costs its 8-bit copy and a few
megabytes more, not several float64 copies of itself.
"""

from __future__ import annotations

import numpy as np

_ORIENTATION_TAG = 0x0112
#: Integer modes deeper than 8 bits, scaled to 8-bit grey by their 16-bit range.
DEEP_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
#: Pixels converted per step from a deep image (bounds the temporary arrays: ~4 bytes each).
_BAND_PIXELS = 1 << 18


def _pil():
    from PIL import Image

    return Image


def to_rgb(image):
    """An RGB copy of ``image`` (``image`` itself when RGB and opaque); alpha goes on white."""
    Image = _pil()
    if image.mode == "RGB" and not _transparent(image):
        return image
    if image.mode in DEEP_MODES:
        image = deep_to_grey(image)
    if image.mode == "La":  # premultiplied: Pillow converts it only to LA
        image = image.convert("LA")
    if _transparent(image):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def deep_to_grey(image):
    """An 8-bit grey (``L``) copy of a 16- or 32-bit integer image, scaled by 65535 / 255.

    Each value ``x`` becomes ``round(x / 257)``, computed exactly in integers as
    ``(x + 128) // 257`` (``x / 257`` is never halfway between two integers), after
    clipping to 0..65535. A 32-bit ``I`` image whose values all fit in 0..255 is taken as
    8-bit data and only clipped. The work goes a band of rows at a time into one ``uint8``
    array: no float copies, and no whole-image copy at the source's depth.
    """
    scale = image.mode != "I" or image.getextrema()[1] > 255
    width, height = image.size
    out = np.empty((height, width), dtype=np.uint8)
    step = max(1, _BAND_PIXELS // max(width, 1))
    for top in range(0, height, step):
        bottom = min(top + step, height)
        band = np.asarray(image.crop((0, top, width, bottom)))
        if scale:
            if image.mode == "I":
                band = np.clip(band, 0, 65535)
            band = (band.astype(np.uint32) + 128) // 257
        else:
            band = np.clip(band, 0, 255)
        out[top:bottom] = band
    return _pil().fromarray(out, "L")


def _transparent(image) -> bool:
    """An alpha band or a transparency key, where transformers' ``convert_to_rgb`` sees one."""
    return bool({"A", "a"} & set(image.getbands())) or image.info.get("transparency") is not None


def upright(image):
    """Apply an EXIF orientation tag (2..8); images without one are returned unchanged."""
    from PIL import ImageOps

    try:
        orientation = image.getexif().get(_ORIENTATION_TAG, 1)
    except Exception:  # unreadable EXIF: keep the pixels as stored
        return image
    if orientation in (2, 3, 4, 5, 6, 7, 8):
        return ImageOps.exif_transpose(image)
    return image
