"""Reading image cells: paths, bytes and PIL images to upright RGB, and every way that fails."""

from __future__ import annotations

import io
import pathlib
import struct
import warnings
import zlib

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from dfembed import InputError
from dfembed.io.images import ImageInput, read_images, to_rgb


@pytest.fixture(scope="module")
def chelsea() -> Image.Image:
    from tools.datasets import photos

    return photos()["chelsea"]


def _encoded(image: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` RGB pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def _pixels(item: ImageInput) -> np.ndarray:
    return np.asarray(item.rgb())


def test_paths_pathlib_bytes_and_pil_give_the_same_rgb_pixels(tmp_path, chelsea):
    path = tmp_path / "chelsea.png"
    chelsea.save(path)
    values = pd.Series([str(path), path, path.read_bytes(), chelsea], index=list("abcd"))
    valid, items = read_images(values, "img")
    assert valid.tolist() == [True] * 4
    expected = np.asarray(chelsea)
    for item in items:
        assert item.rgb().mode == "RGB"
        np.testing.assert_array_equal(_pixels(item), expected)
    # one absolute path key for str and pathlib, a content hash for bytes, identity for PIL
    assert items[0] is items[1] and items[0].source == str(path.resolve())
    assert items[2].key[0] == "bytes" and items[3].key == ("pil", id(chelsea))


def test_relative_paths_resolve_against_the_working_directory(tmp_path, chelsea, monkeypatch):
    chelsea.save(tmp_path / "cat.png")
    monkeypatch.chdir(tmp_path)
    _, items = read_images(pd.Series(["cat.png"]), "img")
    assert items[0].source == str(tmp_path / "cat.png")


@pytest.mark.parametrize("mode", ["L", "LA", "P", "PA", "RGBA", "RGBa", "CMYK", "1", "I", "I;16"])
def test_every_mode_becomes_rgb(chelsea, mode):
    source = chelsea.convert("L") if mode in ("I", "I;16", "1") else chelsea
    image = source.convert(mode)
    cells = [image] if mode in ("RGBa", "PA") else [image, _encoded(image, "TIFF")]  # unsavable
    _, items = read_images(pd.Series(cells), "img")
    for item in items:
        rgb = item.rgb()
        assert rgb.mode == "RGB" and rgb.size == chelsea.size


def test_an_rgb_transparency_colour_key_is_composited_on_white():
    """An RGB PNG's tRNS colour is transparent, as in transformers' ``convert_to_rgb``."""
    pixels = np.array([[[10, 20, 30], [200, 100, 50]]], dtype=np.uint8)
    keyed = Image.fromarray(pixels, "RGB")
    keyed.info["transparency"] = (10, 20, 30)
    expected = [[[255, 255, 255], [200, 100, 50]]]
    np.testing.assert_array_equal(np.asarray(to_rgb(keyed)), expected)
    assert keyed.info["transparency"] == (10, 20, 30)  # the cell itself is left as it was
    data = _encoded(Image.fromarray(pixels, "RGB"), transparency=(10, 20, 30))
    _, items = read_images(pd.Series([data, keyed]), "img")
    for item in items:
        np.testing.assert_array_equal(_pixels(item), expected)
    assert items[1].image is not keyed  # a converted copy, not the cell


def _rounded(values: np.ndarray) -> np.ndarray:
    """The 8-bit grey a 16-bit value becomes: ``round(value / 257)``, clipped, in floats."""
    return np.clip(np.rint(values.astype(np.float64) / 257.0), 0, 255).astype(np.uint8)


def test_every_16_bit_value_maps_to_its_rounded_8_bit_value(monkeypatch):
    """All 65,536 values, as 16-bit PNG, big-endian and 32-bit images, a band at a time."""
    import dfembed.io.image_pixels as image_pixels

    monkeypatch.setattr(image_pixels, "_BAND_PIXELS", 1000)  # 256-pixel rows: 3 per band
    ramp = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    expected = _rounded(ramp)
    big_endian = Image.fromarray(ramp.astype(">u2"))
    assert big_endian.mode == "I;16B"
    png = _encoded(Image.fromarray(ramp), "PNG")
    stretched = ramp.astype(np.int32) * 2 - 40_000  # mode I, past both ends of 0..65535
    wide = Image.fromarray(stretched)
    _, items = read_images(pd.Series([png, big_endian, wide]), "img")
    for item in items[:2]:
        np.testing.assert_array_equal(_pixels(item)[..., 0], expected)
        np.testing.assert_array_equal(_pixels(item)[..., 2], expected)
    np.testing.assert_array_equal(_pixels(items[2])[..., 1], _rounded(np.clip(stretched, 0, 65535)))
    # a 32-bit image whose values fit 0..255 is 8-bit data: clipped below 0, not scaled
    small = Image.fromarray(np.array([[-5, 0, 7, 255]], dtype=np.int32))
    np.testing.assert_array_equal(np.asarray(to_rgb(small))[0, :, 0], [0, 0, 7, 255])


def test_exif_orientation_is_applied(chelsea):
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: a viewer turns it 90 degrees clockwise
    data = _encoded(chelsea, "JPEG", exif=exif.tobytes(), quality=95)
    _, items = read_images(pd.Series([data]), "img")
    width, height = chelsea.size
    assert items[0].rgb().size == (height, width)


def test_animated_images_use_their_first_frame():
    frames = [Image.new("RGB", (8, 8), color) for color in ("red", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    _, items = read_images(pd.Series([buffer.getvalue()]), "img")
    np.testing.assert_array_equal(np.asarray(items[0].rgb())[0, 0], [255, 0, 0])


def test_missing_cells_are_null_rows(chelsea):
    values = pd.Series([None, chelsea, np.nan, pd.NA], index=[10, 11, 12, 13], dtype=object)
    valid, items = read_images(values, "img")
    assert valid.tolist() == [False, True, False, False]
    assert len(items) == 1


def _bad_cells(tmp_path: pathlib.Path, chelsea: Image.Image) -> dict[str, tuple[object, str]]:
    jpeg, png = _encoded(chelsea, "JPEG"), _encoded(chelsea, "PNG")
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(jpeg[: len(jpeg) // 2])
    return {
        "missing file": (str(tmp_path / "nope.jpg"), "no such file"),
        "truncated jpeg file": (truncated, "truncated"),
        "truncated png bytes": (png[: len(png) // 2], "truncated"),
        "not an image": (b"hello, I am text", "not an image"),
        "directory": (str(tmp_path), "not a regular file"),
        "url": ("https://example.org/cat.jpg", "URLs are not downloaded"),
        "empty path": ("", "empty string"),
        "decompression bomb": (_png_claiming(100_000, 100_000), "decompression bomb"),
        # over MAX_IMAGE_PIXELS but under twice it, where Pillow itself only warns
        "bomb in the warning band": (_png_claiming(10_000, 10_000), "MAX_IMAGE_PIXELS"),
    }


def test_unreadable_images_raise_naming_column_label_and_reason(tmp_path, chelsea):
    for name, (cell, reason) in _bad_cells(tmp_path, chelsea).items():
        values = pd.Series([chelsea, cell, None], index=["ok", f"bad {name}", "gone"])
        with pytest.raises(InputError) as info:
            read_images(values, "photo")
        message = str(info.value)
        assert "'photo'" in message and f"'bad {name}'" in message, message
        assert reason in message, (name, message)
        assert "on_error='null'" in message


def test_on_error_null_makes_null_rows_and_warns_once(tmp_path, chelsea):
    bad = _bad_cells(tmp_path, chelsea)
    cells = [chelsea, *(cell for cell, _ in bad.values()), None, chelsea]
    values = pd.Series(cells, index=[f"r{i}" for i in range(len(cells))])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        valid, items = read_images(values, "photo", on_error="null")
    assert valid.tolist() == [True] + [False] * (len(bad) + 1) + [True]
    assert len(items) == 2
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    messages = [m for m in messages if "could not be read" in m]
    assert len(messages) == 1
    assert f"{len(bad)} image(s)" in messages[0] and "'r1'" in messages[0]


@pytest.mark.parametrize("cell", [3, {"path": "a.jpg"}, np.zeros((4, 4, 3), np.uint8), 2.5])
@pytest.mark.parametrize("on_error", ["raise", "null"])
def test_cells_of_the_wrong_type_always_raise(chelsea, cell, on_error):
    values = pd.Series([chelsea, cell], index=["fine", "wrong"], dtype=object)
    with pytest.raises(
        InputError, match=f"holds a cell of type {type(cell).__name__} at index label 'wrong'"
    ):
        read_images(values, "photo", on_error=on_error)


def test_on_error_must_be_raise_or_null(chelsea):
    with pytest.raises(ValueError, match="on_error"):
        read_images(pd.Series([chelsea]), "img", on_error="skip")


def test_pixel_limit_follows_max_image_pixels(chelsea, monkeypatch):
    data = _encoded(chelsea)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(InputError, match="MAX_IMAGE_PIXELS"):
        read_images(pd.Series([data]), "img")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # the user's choice: no limit
    valid, _ = read_images(pd.Series([data]), "img")
    assert valid.all()


def test_repeated_sources_are_decoded_once(tmp_path, chelsea):
    path = tmp_path / "c.png"
    chelsea.save(path)
    data = path.read_bytes()
    twin = chelsea.copy()
    values = pd.Series([str(path), data, str(path), bytes(data), chelsea, twin])
    _, items = read_images(values, "img")
    assert items[0] is items[2] and items[1] is items[3]
    assert items[4].key != items[5].key  # PIL images are not compared by content


def test_pixels_over_the_budget_are_decoded_again_on_use(tmp_path, chelsea):
    path = tmp_path / "c.jpg"
    chelsea.save(path, quality=90)
    values = pd.Series([str(path), chelsea.convert("L"), chelsea])
    _, kept = read_images(values, "img")
    _, light = read_images(values, "img", keep_bytes=0)
    assert all(item.image is not None for item in kept)
    assert [item.image is None for item in light] == [True, True, False]
    assert light[2].image is chelsea  # an RGB PIL cell is used as is: keeping it is free
    for a, b in zip(kept, light, strict=True):
        np.testing.assert_array_equal(_pixels(a), _pixels(b))
    kept[0].release()
    assert kept[0].image is None and _pixels(kept[0]).shape == _pixels(light[0]).shape


@pytest.mark.parametrize("size", [(1, 100), (100, 1), (3, 300), (640, 480)])
def test_aspect_ratios_up_to_1_to_100_are_read(size):
    image = Image.new("RGB", size, (9, 99, 199))
    valid, items = read_images(pd.Series([image, _encoded(image)]), "img")
    assert valid.all() and all(item.rgb().size == size for item in items)


@pytest.mark.parametrize("on_error", ["raise", "null"])
def test_narrower_than_1_to_100_or_empty_images_are_refused_per_row(on_error):
    cells = {
        "ok": Image.new("RGB", (10, 10)),
        "1x101": Image.new("RGB", (1, 101)),
        "301x2 png": _encoded(Image.new("L", (301, 2))),
        # only the header is read: a truncated file is refused for its shape, not its data
        "header only": _png_claiming(10, 1_000_000),
        "empty": Image.new("RGB", (0, 5)),
    }
    reasons = {
        "1x101": "1x101 pixels, one side more than 100 times the other (1:101)",
        "301x2 png": "(1:150)",
        "header only": "10x1000000 pixels",
        "empty": "no pixels (0x5)",
    }
    values = pd.Series(list(cells.values()), index=list(cells))
    if on_error == "raise":
        for label, reason in reasons.items():
            one = values[["ok", label]]
            with pytest.raises(InputError, match=f"index label '{label}'") as info:
                read_images(one, "img")
            assert reason in str(info.value) and "on_error='null'" in str(info.value)
        return
    with pytest.warns(UserWarning, match="4 image.*'1x101'.*1:101"):
        valid, items = read_images(values, "img", on_error="null")
    assert valid.tolist() == [True, False, False, False, False] and len(items) == 1


def test_only_allowed_formats_are_opened_from_paths_and_bytes(tmp_path, chelsea):
    small = chelsea.resize((32, 24))
    for fmt in ("PPM", "TGA"):
        path = tmp_path / f"c.{fmt.lower()}"
        small.save(path, fmt)
        for cell in (path, path.read_bytes()):
            with pytest.raises(InputError, match=r"not an image file dfembed opens \(JPEG, PNG"):
                read_images(pd.Series([cell]), "img")
    valid, _ = read_images(pd.Series([Image.open(path)]), "img")  # a PIL cell: as opened
    assert valid.all()


def test_a_file_that_vanishes_before_use_raises_input_error(tmp_path, chelsea):
    path = tmp_path / "c.png"
    chelsea.save(path)
    _, items = read_images(pd.Series([str(path)]), "img", keep_bytes=0)
    path.unlink()
    with pytest.raises(InputError, match="could be read earlier but not now"):
        items[0].rgb()
