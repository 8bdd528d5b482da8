"""A decoded image turned into the upright 8-bit RGB picture a model is given:
:mod:`dfembed.io.image_pixels` (reading cells: tests/io/test_images.py)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from dfembed.io.image_pixels import to_rgb, upright


def test_alpha_is_composited_on_white():
    rgba = Image.new("RGBA", (2, 1))
    rgba.putpixel((0, 0), (255, 0, 0, 0))  # fully transparent red
    rgba.putpixel((1, 0), (255, 0, 0, 128))  # half transparent red
    out = np.asarray(to_rgb(rgba))
    np.testing.assert_array_equal(out[0, 0], [255, 255, 255])
    np.testing.assert_array_equal(out[0, 1], [255, 127, 127])
    palette = Image.new("P", (1, 1), 0)
    palette.info["transparency"] = 0
    np.testing.assert_array_equal(np.asarray(to_rgb(palette))[0, 0], [255, 255, 255])


def test_sixteen_bit_grayscale_is_scaled_not_clipped():
    deep = Image.fromarray(np.array([[0, 32896, 65535]], dtype=np.uint16))
    assert deep.mode.startswith("I;16")
    out = np.asarray(to_rgb(deep))[0, :, 0]
    np.testing.assert_array_equal(out, [0, 128, 255])


def test_an_opaque_rgb_image_is_used_as_it_is():
    image = Image.new("RGB", (3, 2), (1, 2, 3))
    assert to_rgb(image) is image


def test_premultiplied_grey_with_alpha_becomes_rgb_on_white():
    la = Image.new("LA", (1, 1), (0, 0))  # black, fully transparent
    la = la.convert("La")
    np.testing.assert_array_equal(np.asarray(to_rgb(la))[0, 0], [255, 255, 255])


def test_upright_turns_by_the_exif_orientation_only():
    image = Image.fromarray(np.arange(6, dtype=np.uint8).reshape(2, 3), "L")
    assert upright(image) is image  # no tag: unchanged
    exif = image.getexif()
    exif[0x0112] = 3  # upside down: turned 180 degrees
    turned = upright(image)
    np.testing.assert_array_equal(np.asarray(turned), np.asarray(image)[::-1, ::-1])
    exif[0x0112] = 1
    assert upright(image) is image
