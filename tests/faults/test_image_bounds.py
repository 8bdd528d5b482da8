"""Hostile images: small files that ask for gigabytes, and formats that are not opened.

Every case is a real, valid file made here in a fraction of a second: a PNG's rows of zeros
compress about a thousandfold, so a 50 x 1,780,000 strip is a 260 KB cell. Before these
checks existed, that strip passed the reader and was resized at batch time to 224 x 7,974,400
pixels (5.4 GB: ``MemoryError`` after 8 s under a 4 GB limit); a 1 x 80,000,000 line gave
``OverflowError`` from the resize; a 9000 x 9000 16-bit grey PNG (157 KB) peaked at 1.7 GB
while its pixels went through float64; and EPS bytes were handed to Ghostscript. None of
them could be made a null row by ``on_error="null"``.
"""

from __future__ import annotations

import io
import json
import struct
import tracemalloc
import warnings
import zlib

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from PIL import EpsImagePlugin, Image

import dfembed
from dfembed import InputError
from dfembed.io.images import FORMATS, read_images

#: A minimal EPS header: enough for Pillow's EPS plugin to claim the bytes.
EPS = (
    b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\n%%EndComments\n"
    b"0 0 moveto 8 8 lineto stroke\nshowpage\n%%EOF\n"
)


def blank_png(width: int, height: int, grey: bool = False, depth: int = 8) -> bytes:
    """A valid PNG of ``width`` x ``height`` black pixels, made without holding its pixels.

    One megabyte of zero rows is compressed once and repeated: each copy ends with a full
    flush, so it needs nothing before it, and the stream's checksum is computed over the
    repeats.
    """

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" * (1 + width * (1 if grey else 3) * depth // 8)
    rows_per_block = max(1, (1 << 20) // len(row))
    block = row * rows_per_block
    full, rest = divmod(height, rows_per_block)
    head = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = head.compress(block) + head.flush(zlib.Z_FULL_FLUSH)
    tail = zlib.compressobj(9, zlib.DEFLATED, -15)
    end = tail.compress(row * rest) + tail.flush()
    check = 1
    for _ in range(full):
        check = zlib.adler32(block, check)
    check = zlib.adler32(row * rest, check)
    stream = b"\x78\xda" + piece * full + end + struct.pack(">I", check)
    header = struct.pack(">IIBBBBB", width, height, depth, 0 if grey else 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", stream) + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def tiny_image_model(tmp_path_factory) -> str:
    """A vision model whose 3-dim vector is the mean of each channel of its 224 x 224 input.

    It has DINOv2's preprocessing and loads and runs in milliseconds, on Dask workers too.
    """
    import onnx
    from onnx import TensorProto, helper

    folder = tmp_path_factory.mktemp("tiny-image")
    pixels = helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["B", 3, 224, 224])
    pooled = helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["B", 3, 1, 1])
    node = helper.make_node("GlobalAveragePool", ["pixel_values"], ["pooled"])
    graph = helper.make_graph([node], "channel_means", [pixels], [pooled])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(folder / "model.onnx"))
    processor = {
        "image_processor_type": "BitImageProcessor",
        "size": {"shortest_edge": 256},
        "crop_size": {"height": 224, "width": 224},
        "image_mean": [0.485, 0.456, 0.406],
        "image_std": [0.229, 0.224, 0.225],
    }
    (folder / "preprocessor_config.json").write_text(json.dumps(processor))
    (folder / "dfembed.json").write_text(json.dumps({"kind": "image", "dim": 3, "pooling": "none"}))
    return str(folder)


@pytest.fixture(scope="module")
def good() -> list[Image.Image]:
    """Two ordinary pictures for the rows around the bad one."""
    noise = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    return [Image.fromarray(noise), Image.new("RGB", (40, 30), (200, 30, 90))]


def _frame(good: list[Image.Image], bad: object) -> pd.DataFrame:
    return pd.DataFrame({"img": [good[0], bad, good[1]]}, index=["before", "bad", "after"])


@pytest.fixture(scope="module")
def clean(good, tiny_image_model) -> np.ndarray:
    """Vectors of the two good rows on their own."""
    return dfembed.to_numpy(pd.Series(good).embed.image(model=tiny_image_model))


HOSTILE = {
    # (cell, what the error says)
    "50x1780000-strip": (lambda: blank_png(50, 1_780_000), "50x1780000 pixels"),
    "1x80000000-line": (lambda: blank_png(1, 80_000_000, grey=True), "(1:80000000)"),
    "eps": (lambda: EPS, "JPEG, PNG, WEBP, GIF, BMP, TIFF"),
}


@pytest.fixture
def no_ghostscript(monkeypatch) -> list:
    """Record any call Pillow makes to Ghostscript (and fail it, installed or not)."""
    calls = []

    def ghostscript(*args, **kwargs):
        calls.append(args)
        raise OSError("Ghostscript was called")

    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", ghostscript)
    return calls


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_images_raise_naming_their_row(case, good, tiny_image_model, no_ghostscript):
    make, reason = HOSTILE[case]
    with pytest.raises(InputError) as err:
        _frame(good, make()).embed.image("img", model=tiny_image_model)
    message = str(err.value)
    assert "index label 'bad'" in message and reason in message, message
    assert no_ghostscript == []


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_images_are_null_rows_with_on_error_null(
    case, good, clean, tiny_image_model, no_ghostscript
):
    make, reason = HOSTILE[case]
    with pytest.warns(UserWarning, match="1 image") as caught:
        result = _frame(good, make()).embed.image("img", model=tiny_image_model, on_error="null")
    assert reason in str(caught[0].message)
    assert result.index.tolist() == ["before", "bad", "after"]
    assert result.isna().tolist() == [False, True, False]
    np.testing.assert_allclose(dfembed.to_numpy(result)[[0, 2]], clean, atol=1e-5)
    assert no_ghostscript == []


@pytest.mark.slow  # a two-worker cluster: seconds to start and to import dfembed on both
def test_a_strip_is_a_null_row_on_dask_too(client, good, clean, tiny_image_model):
    with dask.config.set({"dataframe.convert-string": False}):
        ddf = dd.from_pandas(_frame(good, blank_png(50, 1_780_000)), npartitions=2, sort=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the warning is raised on the worker
        result = ddf.embed.image("img", model=tiny_image_model, on_error="null").compute()
    assert result.index.tolist() == ["before", "bad", "after"]
    assert result.isna().tolist() == [False, True, False]
    np.testing.assert_allclose(dfembed.to_numpy(result)[[0, 2]], clean, atol=1e-5)
    with pytest.raises(InputError, match="index label 'bad'.*50x1780000 pixels"):
        ddf.embed.image("img", model=tiny_image_model).compute()


def test_a_16_bit_grey_png_is_scaled_without_float_copies():
    """4 million 16-bit pixels: numpy's peak stays under 3 bytes a pixel (measured 1.8).

    The former float64 route peaked at 18 bytes a pixel (72 MiB): a 16-bit copy, then
    float64 copies of the whole image. (Pillow's own buffers are not traced by tracemalloc.)
    """
    side = 2048
    cell = blank_png(side, side, grey=True, depth=16)
    tracemalloc.start()
    try:
        valid, items = read_images(pd.Series([cell]), "img")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert valid.all() and items[0].rgb().size == (side, side)
    assert peak < 3 * side * side, f"{peak / 2**20:.1f} MiB"


def test_every_allowed_format_opens_and_others_are_refused(no_ghostscript):
    picture = Image.new("RGB", (16, 12), (10, 120, 230))
    cells, names = [], []
    for fmt in (*FORMATS, "PPM", "PCX", "TGA", "ICO", "SGI"):
        buffer = io.BytesIO()
        picture.save(buffer, fmt)
        cells.append(buffer.getvalue())
        names.append(fmt)
    cells.append(EPS)
    names.append("EPS")
    with pytest.warns(UserWarning, match="6 image"):
        valid, items = read_images(pd.Series(cells, index=names), "img", on_error="null")
    assert dict(zip(names, valid.tolist(), strict=True)) == {n: n in FORMATS for n in names}
    assert all(item.rgb().size == (16, 12) for item in items)
    assert no_ghostscript == []
    # a PIL image is taken as its owner opened it, whatever its format
    buffer = io.BytesIO()
    picture.save(buffer, "PPM")
    opened = Image.open(buffer)
    valid, _ = read_images(pd.Series([opened]), "img")
    assert valid.all()
