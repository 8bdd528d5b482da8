"""Image embeddings: preprocessing parity, real DINOv2 weights on real photos, faults, registry.

Real weights: the DINOv2-small backbone (``dinov2_small`` fixture). Preprocessing is checked
against transformers' own image processors (their Pillow backend), and whole vectors against
fastembed running the same ONNX file. Tiny vision graphs built here check the plumbing of
pooled (CLIP-style) and CNN outputs, and the registry entries through a local hub server.
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageOps

import dfembed
from dfembed import InputError, ModelLoadError, ModelSpec
from dfembed.columns import dense_type
from dfembed.encoders.image import DEFAULT_IMAGE_BATCH, ImageEncoder, ImageOptions
from dfembed.encoders.image_processor import ImageProcessor
from dfembed.encoders.load import build_encoder, get_encoder
from dfembed.io.cache import digest, open_store, pack
from dfembed.io.images import as_input
from tests import hub_server
from tests.tiny_models import share_file

hub = hub_server.hub
hf_cache = hub_server.hf_cache

CLIP_MEAN, CLIP_STD = [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.2613026, 0.2757771]


@pytest.fixture(scope="module")
def photos() -> dict[str, Image.Image]:
    from tools.datasets import photos

    return {name: image.convert("RGB") for name, image in photos().items()}


@pytest.fixture(scope="module")
def encoder(dinov2_small) -> ImageEncoder:
    return get_encoder(ModelSpec(model=dinov2_small, kind="image"))


@pytest.fixture(scope="module")
def vectors(encoder, photos) -> dict[str, np.ndarray]:
    """Unit vectors of the nine photos, from one run of the shared batching path."""
    out = encoder.encode(list(photos.values()), ImageOptions())
    return dict(zip(photos, out, strict=True))


def _config(dinov2_small: str) -> dict:
    return json.loads((Path(dinov2_small) / "preprocessor_config.json").read_text())


def _copy_model(src: str, dest: Path, meta: dict | None = None, config: dict | None = None) -> str:
    """A model folder sharing ``src``'s ONNX file, with other descriptions or preprocessing."""
    dest.mkdir(parents=True, exist_ok=True)
    share_file(Path(src) / "model.onnx", dest / "model.onnx")
    base = json.loads((Path(src) / "dfembed.json").read_text())
    (dest / "dfembed.json").write_text(json.dumps({**base, **(meta or {})}))
    (dest / "preprocessor_config.json").write_text(json.dumps(config or _config(src)))
    return str(dest)


# -- preprocessing ----------------------------------------------------------------------
def _transformers_pixels(kind: str, config: dict, image: Image.Image) -> np.ndarray:
    import transformers

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        processor = getattr(transformers, f"{kind}ImageProcessorPil")(**config)
    return processor(image, return_tensors="np")["pixel_values"][0]


PROCESSORS = {
    "dinov2 (BiT)": ("Bit", None),
    "clip": (
        "CLIP",
        {"size": {"shortest_edge": 224}, "crop_size": {"height": 224, "width": 224},
         "image_mean": CLIP_MEAN, "image_std": CLIP_STD, "resample": 3},
    ),
    "vit exact size": (
        "ViT",
        {"size": {"height": 160, "width": 200}, "image_mean": [0.5] * 3,
         "image_std": [0.5] * 3, "resample": 2, "do_center_crop": False},
    ),
    "convnext crop_pct": (
        "ConvNext",
        {"size": {"shortest_edge": 224}, "crop_pct": 0.875, "resample": 3,
         "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]},
    ),
    "deit without do_center_crop crops to 224": (
        "DeiT",
        {"size": {"height": 256, "width": 256}, "image_mean": [0.485, 0.456, 0.406],
         "image_std": [0.229, 0.224, 0.225]},
    ),
    "siglip integer size is the shortest edge": (
        "Siglip", {"size": 224, "image_mean": [0.5] * 3, "image_std": [0.5] * 3},
    ),
    "convnext without resample": (
        "ConvNext",
        {"size": {"shortest_edge": 224}, "image_mean": [0.485, 0.456, 0.406],
         "image_std": [0.229, 0.224, 0.225]},
    ),
    "crop larger than the image pads": (
        "CLIP",
        {"do_resize": False, "crop_size": {"height": 320, "width": 480},
         "image_mean": CLIP_MEAN, "image_std": CLIP_STD},
    ),
}  # fmt: skip


@pytest.mark.slow  # importing transformers imports torch: seconds, once per process
@pytest.mark.parametrize("case", list(PROCESSORS))
def test_preprocessing_matches_transformers(case, dinov2_small, photos):
    kind, config = PROCESSORS[case]
    config = {**(config or _config(dinov2_small)), "image_processor_type": f"{kind}ImageProcessor"}
    ours = ImageProcessor.from_config(config)
    for name in ("chelsea", "coffee", "astronaut", "coins"):  # tall, wide and square photos
        expected = _transformers_pixels(kind, config, photos[name])
        got = ours(photos[name])
        assert got.dtype == np.float32 and got.shape == expected.shape, (name, got.shape)
        np.testing.assert_allclose(got, expected, atol=1e-6, err_msg=f"{case}: {name}")


def test_unknown_processors_are_refused_not_guessed():
    for kind in ("JinaCLIPImageProcessor", "Siglip2ImageProcessor", "ViTHybridImageProcessor"):
        with pytest.raises(ModelLoadError, match="not supported"):
            ImageProcessor.from_config({"image_processor_type": kind})
    with pytest.raises(ModelLoadError, match="image_mean"):
        ImageProcessor.from_config({"size": {"shortest_edge": 224}, "do_normalize": True})


def test_keys_a_config_leaves_out_read_as_in_that_familys_processor():
    mean_std = {"image_mean": [0.5] * 3, "image_std": [0.5] * 3}
    deit = {"image_processor_type": "DeiTImageProcessor", "size": 256, **mean_std}
    assert ImageProcessor.from_config(deit).crop == (224, 224)  # transformers' DeiT crops
    assert ImageProcessor.from_config({**deit, "do_center_crop": False}).crop is None
    assert ImageProcessor.from_config(deit).size == (256, 256)
    siglip = {"image_processor_type": "SiglipImageProcessor", "size": 224, **mean_std}
    assert ImageProcessor.from_config(siglip).shortest_edge == 224
    convnext = {"image_processor_type": "ConvNextImageProcessor", "size": 224, **mean_std}
    assert ImageProcessor.from_config(convnext).resample == 3
    for kind in ("ViT", "Siglip"):  # no crop size to fall back on: transformers raises too
        config = {"image_processor_type": f"{kind}ImageProcessor", "size": 224, **mean_std}
        with pytest.raises(ModelLoadError, match="no crop_size"):
            ImageProcessor.from_config({**config, "do_center_crop": True})
    with pytest.raises(ModelLoadError, match="shortest_edge"):
        ImageProcessor.from_config({**convnext, "size": {"height": 224, "width": 224}})


def test_the_resize_is_sized_and_bounded_before_it_runs(monkeypatch):
    """A shortest-edge resize past 100 times the model's square input is refused unrun."""
    processor = ImageProcessor(shortest_edge=224, crop=(224, 224))
    assert processor.resized_size(640, 480) == (298, 224)
    assert processor.resized_size(1, 100) == (224, 22_400)  # the widest read_images passes
    assert processor(Image.new("RGB", (1, 100))).shape == (3, 224, 224)
    assert ImageProcessor(size=(224, 160)).resized_size(5, 5000) == (160, 224)
    resized = []
    monkeypatch.setattr(Image.Image, "resize", lambda self, *a, **k: resized.append(a))
    with pytest.raises(InputError, match="1x101 pixels would be resized to 224x22624"):
        processor(Image.new("RGB", (1, 101)))
    with pytest.raises(InputError, match="20000x50 pixels would be resized to 89600x224"):
        processor(Image.new("RGB", (20_000, 50)))
    with pytest.raises(InputError, match="0x5 pixels has nothing to embed"):
        processor(Image.new("RGB", (0, 5)))
    assert resized == []


def test_batch_size_none_means_the_image_default():
    assert ImageOptions(batch_size=None).batch_size == DEFAULT_IMAGE_BATCH
    assert ImageOptions(batch_size=3).batch_size == 3


# -- real weights on real photos ----------------------------------------------------------
def test_a_flipped_or_cropped_copy_is_closer_than_any_other_photo(encoder, photos, vectors):
    names = ["chelsea", "astronaut", "coffee"]
    variants = []
    for name in names:
        image = photos[name]
        w, h = image.size
        variants += [ImageOps.mirror(image), image.crop((w // 10, h // 10, w - w // 10, h))]
    out = encoder.encode(variants, ImageOptions())
    others = {n: v for n, v in vectors.items()}
    for i, name in enumerate(names):
        for variant in out[2 * i : 2 * i + 2]:
            scores = {n: float(variant @ v) for n, v in others.items()}
            best_other = max(s for n, s in scores.items() if n != name)
            # DINOv2's CLS vectors of unrelated photos still reach 0.88 (astronaut vs china)
            assert scores[name] > 0.9 and scores[name] > best_other + 0.05, (name, scores)


def test_vectors_are_unit_length_and_match_the_pooled_output(encoder, photos, vectors):
    matrix = np.stack(list(vectors.values()))
    np.testing.assert_allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-5)
    # the graph's own pooled output is the CLS token: read it directly, as a pooled model
    pixels = np.stack([encoder.processor(photos[n]) for n in ("china", "horse")])
    pooled = encoder.session.run(["pooler_output"], {"input_image": pixels})[0]
    pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
    np.testing.assert_allclose(pooled, np.stack([vectors["china"], vectors["horse"]]), atol=1e-5)


def test_paths_bytes_and_pil_images_give_identical_vectors(dinov2_small, photos, tmp_path):
    paths = []
    for name in ("chelsea", "rocket"):
        paths.append(tmp_path / f"{name}.png")
        photos[name].save(paths[-1])
    cells = [*map(str, paths), *(p.read_bytes() for p in paths), photos["chelsea"], paths[1]]
    df = pd.DataFrame({"img": cells}, index=list("abcdef"))
    result = df.embed.image("img", model=dinov2_small)
    assert result.index.tolist() == list("abcdef") and result.name == "img"
    m = dfembed.to_numpy(result)
    for same in ([0, 2, 4], [1, 3, 5]):
        np.testing.assert_array_equal(m[same[0]], m[same[1]])
        np.testing.assert_array_equal(m[same[0]], m[same[2]])


def test_grayscale_rgba_and_palette_inputs_embed_close_to_the_colour_photo(
    encoder, photos, vectors
):
    chelsea = photos["chelsea"]
    rgba = chelsea.convert("RGBA")
    rgba.putalpha(255)
    variants = {
        "L": chelsea.convert("L"),
        "RGBA": rgba,
        "P": chelsea.convert("P"),
        "LA": chelsea.convert("LA"),
    }
    out = dict(zip(variants, encoder.encode(list(variants.values()), ImageOptions()), strict=True))
    np.testing.assert_allclose(out["RGBA"], vectors["chelsea"], atol=1e-6)  # opaque: same
    for mode, vec in out.items():
        scores = {n: float(vec @ v) for n, v in vectors.items()}
        assert max(scores, key=scores.get) == "chelsea", (mode, scores)


def test_fastembed_gives_the_same_vectors_from_the_same_onnx_file(
    dinov2_small, photos, vectors, tmp_path
):
    """fastembed 0.9.1 runs the same graph on the same photos.

    fastembed knows CLIP-type processors, not BiT: they are the same steps (resize shortest
    edge, crop, rescale, normalize; transformers' BiT processor subclasses nothing else), so
    its copy of the folder says CLIPImageProcessor. It loads a folder only under a model
    name it knows and reads the graph's first output: it is told to read ``pooler_output``.
    """
    from fastembed import ImageEmbedding

    config = {**_config(dinov2_small), "image_processor_type": "CLIPImageProcessor"}
    folder = _copy_model(dinov2_small, tmp_path / "fastembed", config=config)
    model = ImageEmbedding(
        "Qdrant/resnet50-onnx",
        specific_model_path=folder,
        providers=["CPUExecutionProvider"],
        threads=2,
    )
    model.model.ONNX_OUTPUT_NAMES = ["pooler_output"]
    names = ["chelsea", "coffee", "rocket", "flower"]
    theirs = np.stack(list(model.embed([photos[n] for n in names], batch_size=4)))
    assert theirs.shape == (4, 384)
    ours = np.stack([vectors[n] for n in names])
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_batch_size_and_dedup_do_not_change_vectors(encoder, photos, vectors):
    names = ["camera", "coins", "horse", "camera"]
    images = [photos[n] for n in names]
    expected = np.stack([vectors[n] for n in names])
    for batch_size, dedup in ((1, True), (3, False)):
        out = encoder.encode(images, ImageOptions(batch_size=batch_size, dedup=dedup))
        np.testing.assert_allclose(out, expected, atol=1e-5)


def test_normalize_false_returns_the_raw_cls_vector(dinov2_small, photos, vectors):
    df = pd.DataFrame({"img": [photos["coffee"], photos["china"]]})
    raw = dfembed.to_numpy(df.embed.image("img", model=dinov2_small, normalize=False))
    norms = np.linalg.norm(raw, axis=1)
    assert (np.abs(norms - 1) > 0.5).all()
    np.testing.assert_allclose(raw / norms[:, None], [vectors["coffee"], vectors["china"]], 1e-5)


def test_a_pooled_output_model_reads_its_output_as_is(dinov2_small, photos, vectors, tmp_path):
    meta = {"output_name": "pooler_output", "pooling": "none"}
    folder = _copy_model(dinov2_small, tmp_path / "pooled", meta=meta)
    encoder = build_encoder(ModelSpec(model=folder, kind="image"))
    out = encoder.encode([photos["horse"]], ImageOptions())
    np.testing.assert_allclose(out[0], vectors["horse"], atol=1e-5)


# -- model folders that cannot work -----------------------------------------------------
def test_model_folders_that_cannot_work_say_why(dinov2_small, tmp_path):
    no_config = Path(_copy_model(dinov2_small, tmp_path / "no-config"))
    (no_config / "preprocessor_config.json").unlink()
    with pytest.raises(ModelLoadError, match="no preprocessor_config.json"):
        build_encoder(ModelSpec(model=str(no_config), kind="image"))
    config = {**_config(dinov2_small), "crop_size": {"height": 160, "width": 160}}
    mismatch = _copy_model(dinov2_small, tmp_path / "mismatch", config=config)
    with pytest.raises(ModelLoadError, match="224x224 images but preprocessor_config.json"):
        build_encoder(ModelSpec(model=mismatch, kind="image"))
    per_patch = _copy_model(dinov2_small, tmp_path / "per-patch", meta={"pooling": "none"})
    df = pd.DataFrame({"img": [Image.new("RGB", (32, 32))]})
    with pytest.raises(ModelLoadError, match="one vector per patch"):
        df.embed.image("img", model=per_patch)


# -- faults through the accessor ---------------------------------------------------------
def test_bad_rows_raise_with_their_label_or_become_null_rows(dinov2_small, photos, tmp_path):
    good = tmp_path / "good.jpg"
    photos["chelsea"].save(good, quality=92)
    jpeg = good.read_bytes()
    cells = {
        "ok path": str(good),
        "missing": None,
        "no file": str(tmp_path / "absent.jpg"),
        "truncated": jpeg[: len(jpeg) // 3],
        "not image": b"GIF89a but not really",
        "ok pil": photos["rocket"],
    }
    df = pd.DataFrame({"img": list(cells.values())}, index=list(cells))
    with pytest.raises(InputError, match="'img'.*index label 'no file'.*no such file"):
        df.embed.image("img", model=dinov2_small)
    with pytest.warns(UserWarning, match="3 image"):
        result = df.embed.image("img", model=dinov2_small, on_error="null")
    assert result.index.tolist() == list(cells)
    assert result.isna().tolist() == [False, True, True, True, True, False]
    clean = df.loc[["ok path", "ok pil"]].embed.image("img", model=dinov2_small)
    np.testing.assert_array_equal(dfembed.to_numpy(result)[[0, 5]], dfembed.to_numpy(clean))
    with pytest.raises(ValueError, match="on_error"):
        df.embed.image("img", model=dinov2_small, on_error="skip")


def test_a_column_of_only_missing_images_needs_no_model(tmp_path):
    df = pd.DataFrame({"img": [None, None]}, index=["x", "y"])
    meta = {"kind": "image", "dim": 7, "pooling": "none"}
    folder = tmp_path / "never-loaded"
    folder.mkdir()
    (folder / "model.onnx").write_bytes(b"not a model: loading it would fail")
    (folder / "dfembed.json").write_text(json.dumps(meta))
    result = df.embed.image("img", model=str(folder))
    assert result.isna().all() and result.dtype == dense_type(7)


# -- tiny vision graphs: pooled outputs, CNN outputs, registry entries via the hub ---------
def _tiny_vision_onnx(kind: str, dim: int, seed: int = 0):
    """``pixel_values`` [B,3,224,224] to a pooled vector: a 1x1 convolution and an average.

    ``kind="cnn"``: one output ``[B, dim, 1, 1]`` (ResNet-like). ``kind="clip"``: first
    output ``image_embeds`` [B, dim], then a per-token ``last_hidden_state`` [B, 1, dim].
    Returns the model and its weights, so tests can compute the expected vectors.
    """
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    weight = rng.normal(0, 1, (dim, 3, 1, 1)).astype(np.float32)
    bias = rng.normal(0, 1, dim).astype(np.float32)
    inits = [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")]
    nodes = [
        helper.make_node("Conv", ["pixel_values", "w", "b"], ["conv"]),
        helper.make_node("GlobalAveragePool", ["conv"], ["gap"]),
    ]
    pixel = helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["B", 3, 224, 224])
    if kind == "cnn":
        nodes.append(helper.make_node("Identity", ["gap"], ["output"]))
        outputs = [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["B", dim, 1, 1])]
    else:
        inits.append(numpy_helper.from_array(np.array([-1, dim], np.int64), "flat"))
        inits.append(numpy_helper.from_array(np.array([1], np.int64), "axis1"))
        nodes += [
            helper.make_node("Reshape", ["gap", "flat"], ["image_embeds"]),
            helper.make_node("Neg", ["image_embeds"], ["neg"]),
            helper.make_node("Unsqueeze", ["neg", "axis1"], ["last_hidden_state"]),
        ]
        outputs = [
            helper.make_tensor_value_info("image_embeds", TensorProto.FLOAT, ["B", dim]),
            helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["B", 1, dim]),
        ]
    graph = helper.make_graph(nodes, "tiny_vision", [pixel], outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    return model, weight[:, :, 0, 0], bias


def _tiny_repo(folder: Path, kind: str, dim: int, processor: str, config: dict) -> tuple:
    import onnx

    folder.mkdir(parents=True)
    model, weight, bias = _tiny_vision_onnx(kind, dim)
    onnx.save(model, str(folder / "model.onnx"))
    config = {**config, "image_processor_type": f"{processor}ImageProcessor"}
    (folder / "preprocessor_config.json").write_text(json.dumps(config))
    (folder / "config.json").write_text("{}")
    (folder / "pytorch_model.bin").write_bytes(b"never fetched")

    def expected(image: Image.Image) -> np.ndarray:
        pixels = ImageProcessor.from_config(config)(image)  # checked against transformers above
        vector = weight @ pixels.mean(axis=(1, 2)) + bias
        return vector / np.linalg.norm(vector)

    return folder, expected


def test_registry_image_models_download_and_read_their_pooled_output(
    hub, hf_cache, tmp_path, photos
):
    resnet_cfg = {
        "size": {"shortest_edge": 224},
        "crop_pct": 0.875,
        "resample": 3,
        "image_mean": [0.485, 0.456, 0.406],
        "image_std": [0.229, 0.224, 0.225],
    }
    clip_cfg = {"size": {"shortest_edge": 224}, "crop_size": {"height": 224, "width": 224},
                "image_mean": CLIP_MEAN, "image_std": CLIP_STD, "resample": 3}  # fmt: skip
    repos = {
        "Qdrant/resnet50-onnx": _tiny_repo(tmp_path / "r", "cnn", 2048, "ConvNext", resnet_cfg),
        "Qdrant/clip-ViT-B-32-vision": _tiny_repo(tmp_path / "c", "clip", 512, "CLIP", clip_cfg),
    }
    for repo, (folder, _) in repos.items():
        hub.add_repo(repo, folder)
    df = pd.DataFrame({"img": [photos["coffee"], None, photos["chelsea"]]})
    results = {
        "Qdrant/resnet50-onnx": df.embed.image(
            "img", model="resnet50-onnx", cache_dir=str(hf_cache)
        ),
        "Qdrant/clip-ViT-B-32-vision": df.embed.image("img", cache_dir=str(hf_cache)),  # default
    }
    for repo, result in results.items():
        _, expected = repos[repo]
        m = dfembed.to_numpy(result)
        assert m.shape[1] == {"Qdrant/resnet50-onnx": 2048}.get(repo, 512)
        assert result.isna().tolist() == [False, True, False]
        np.testing.assert_allclose(m[0], expected(photos["coffee"]), atol=1e-5)
        np.testing.assert_allclose(m[2], expected(photos["chelsea"]), atol=1e-5)
        assert set(hub.file_gets(repo)) == {"model.onnx", "preprocessor_config.json", "config.json"}


def _palette_image(colours: list[tuple[int, int, int]]) -> Image.Image:
    """A 32x32 palette image whose pixel indices do not depend on ``colours``."""
    indices = (np.arange(32 * 32, dtype=np.uint8) % len(colours)).reshape(32, 32)
    image = Image.fromarray(indices, "P")
    image.putpalette([channel for colour in colours for channel in colour])
    return image


def _turned_half_round(image: Image.Image) -> Image.Image:
    """``image`` with the same stored pixels and an EXIF tag saying to turn it 180 degrees."""
    exif = Image.Exif()
    exif[0x0112] = 3
    buffer = io.BytesIO()
    image.save(buffer, "PNG", exif=exif)
    return Image.open(io.BytesIO(buffer.getvalue()))


def test_pil_cache_keys_follow_the_picture_the_model_sees(encoder):
    warm = _palette_image([(255, 0, 0), (255, 255, 0)])
    cold = _palette_image([(0, 0, 255), (0, 255, 255)])  # same indices, other palette
    see_through = warm.copy()
    see_through.info["transparency"] = 0
    rgb = warm.convert("RGB")
    keys = [encoder.cache_key(x) for x in (warm, cold, see_through, _turned_half_round(rgb))]
    assert len(set(keys)) == 4
    assert encoder.cache_key(rgb) == keys[0]  # the same decoded pixels: the same input
    item = as_input(warm)
    assert encoder.cache_key(item) == keys[0]
    item.release()  # decoded again from the source when the reader did not keep it
    assert encoder.cache_key(item) == keys[0]


def test_the_cache_serves_each_pil_image_its_own_vector(encoder, photos, vectors, tmp_path):
    warm = _palette_image([(255, 0, 0), (255, 255, 0)])
    cold = _palette_image([(0, 0, 255), (0, 255, 255)])
    options = ImageOptions()
    expected = encoder.encode([warm, cold], options)
    for image, want in zip((warm, cold), expected, strict=True):
        got = encoder.encode([image], options, cache=tmp_path)[0]
        np.testing.assert_allclose(got, want, atol=1e-6)
    # an entry stored under the key format of earlier versions is never served
    chelsea = photos["chelsea"]
    old_key = f"pil\0{chelsea.mode}\0{chelsea.size}\0".encode() + chelsea.tobytes()
    store = open_store(tmp_path, encoder.kind, *encoder.cache_namespace(options))
    store.put([(digest(old_key), pack(-vectors["chelsea"], True))])
    got = encoder.encode([chelsea], options, cache=tmp_path)[0]
    np.testing.assert_allclose(got, vectors["chelsea"], atol=1e-6)


def test_encoder_takes_raw_cells_too(encoder, photos, vectors, tmp_path):
    path = tmp_path / "c.png"
    photos["chelsea"].save(path)
    out = encoder.encode([str(path), path.read_bytes()], ImageOptions())
    np.testing.assert_array_equal(out[0], out[1])
    np.testing.assert_allclose(out[0], vectors["chelsea"], atol=1e-6)
    with pytest.raises(InputError, match="got int"):
        encoder.encode([3], ImageOptions())
    with pytest.raises(InputError, match="cannot be read: it is not an image"):
        encoder.encode([b"nope"], ImageOptions())
