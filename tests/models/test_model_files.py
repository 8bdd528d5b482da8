"""Which files make up a model: the weight files its graph names, what is downloaded and
checksum-verified, and what identifies the model in the embedding cache."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dfembed import ModelNotFoundError, ModelSpec
from dfembed.encoders import load
from dfembed.encoders.text import TextOptions
from dfembed.errors import ModelLoadError
from dfembed.models.resolve import resolve
from tests import hub_server
from tests.hub_server import HubServer
from tests.tiny_models import build_tiny_text_model

hub = hub_server.hub
hf_cache = hub_server.hf_cache

REPO = "owner/ext"


@pytest.fixture(autouse=True)
def fused_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "fused"
    monkeypatch.setenv("DFEMBED_FUSED_DIR", str(folder))
    return folder


def externalize(folder: Path, location: str, seed: int | None = None) -> Path:
    """Re-save ``folder``'s graph with its large weights in ``location`` (torch's naming is
    ``model.onnx.data``); ``seed`` gives other weights under the same graph bytes. (onnx
    compares ``sys.getsizeof``: 64 moves the 8-float bias, not the int64 shape constants.)"""
    import onnx

    from tests.tiny_models import build_tiny_bert_onnx, tiny_vocab

    path = folder / "onnx" / "model.onnx"
    model = onnx.load(str(path))
    if seed is not None:
        model = build_tiny_bert_onnx(len(tiny_vocab()), dim=8, seed=seed)
    onnx.save_model(model, str(path), save_as_external_data=True, location=location,
                    all_tensors_to_one_file=True, size_threshold=64)  # fmt: skip
    return folder


@pytest.fixture
def ext_folder(tmp_path: Path) -> Path:
    """A tiny text model whose weights are in ``onnx/model.onnx.data``."""
    return externalize(build_tiny_text_model(tmp_path / "ext"), "model.onnx.data")


def embed(model: str, **kwargs) -> np.ndarray:
    frame = pd.DataFrame({"t": ["the cat sat on the mat", "hello world"]})
    try:
        return np.stack(frame.embed.text("t", model=model, **kwargs).to_numpy())
    finally:
        load.clear_cache()


# -- weight files the graph names --------------------------------------------------------
def test_the_fingerprint_covers_weight_files_under_any_name(ext_folder: Path, tmp_path: Path):
    model = resolve(ModelSpec(str(ext_folder)))
    other = externalize(build_tiny_text_model(tmp_path / "other"), "model.onnx.data", seed=1)
    same_graph = (other / "onnx/model.onnx").read_bytes() == model.onnx_path.read_bytes()
    assert same_graph  # only the weight file differs
    assert resolve(ModelSpec(str(other))).fingerprint != model.fingerprint
    assert "onnx/model.onnx.data" in model.files()


def test_retrained_weights_are_not_served_from_the_cache(ext_folder: Path, tmp_path: Path):
    cache = tmp_path / "emb-cache"
    before = embed(str(ext_folder), cache=str(cache))
    other = externalize(build_tiny_text_model(tmp_path / "other"), "model.onnx.data", seed=1)
    shutil.copy(other / "onnx/model.onnx.data", ext_folder / "onnx/model.onnx.data")
    after = embed(str(ext_folder), cache=str(cache))
    np.testing.assert_allclose(after, embed(str(ext_folder)), rtol=1e-6)
    assert not np.allclose(before, after)


def test_hub_download_fetches_the_weight_files_the_graph_names(
    hub: HubServer, hf_cache: Path, ext_folder: Path
):
    hub.add_repo(REPO, ext_folder)
    model = resolve(ModelSpec(REPO, cache_dir=str(hf_cache)))
    assert model.file("onnx/model.onnx.data") is not None
    assert "onnx/model.onnx.data" in hub.file_gets(REPO)
    local = embed(str(ext_folder))
    np.testing.assert_allclose(embed(REPO, cache_dir=str(hf_cache)), local, rtol=1e-6)
    np.testing.assert_allclose(
        embed(REPO, cache_dir=str(hf_cache), session_options={"precision": "fp16"}),
        local,
        atol=5e-3,
    )  # fp16 reads the weights through the cache's links


def test_a_corrupt_weight_file_fails_its_checksum(hub: HubServer, hf_cache: Path, tmp_path: Path):
    # a ".bin" name is stored with LFS (a sha256 blob name) by the hub
    folder = externalize(build_tiny_text_model(tmp_path / "bin"), "weights.bin")
    hub.add_repo(REPO, folder)
    hub.corrupt(REPO, "onnx/weights.bin")
    with pytest.raises(ModelLoadError, match="onnx/weights.bin .*checksum"):
        resolve(ModelSpec(REPO, cache_dir=str(hf_cache)))


# -- checksums of the model's own files only ---------------------------------------------
def test_checksums_leave_other_files_of_the_snapshot_alone(
    hub: HubServer, hf_cache: Path, tmp_path: Path
):
    from huggingface_hub import snapshot_download

    folder = build_tiny_text_model(tmp_path / "full")
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x02weights" * 64)
    hub.add_repo(REPO, folder)
    snapshot = Path(snapshot_download(REPO, cache_dir=str(hf_cache)))  # another tool's download
    blob = (snapshot / "pytorch_model.bin").resolve()
    blob.write_bytes(b"\x00" + blob.read_bytes()[1:])
    assert resolve(ModelSpec(REPO, cache_dir=str(hf_cache))).folder == snapshot
    assert (snapshot / "pytorch_model.bin").exists()


def test_an_unwritable_marker_folder_still_loads_hub_models(
    hub: HubServer, hf_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    hub.add_repo(REPO, build_tiny_text_model(tmp_path / "m"))
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("DFEMBED_VERIFIED_DIR", str(tmp_path / "a-file" / "verified"))
    for _ in range(2):  # verified each time, since nothing can be remembered
        assert resolve(ModelSpec(REPO, cache_dir=str(hf_cache))).onnx_path.is_file()


def test_an_unreachable_hub_says_why(
    hf_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    with HubServer() as server:
        hub_server.point_hub_at(monkeypatch, server.url)
    with pytest.raises(ModelNotFoundError) as caught:
        resolve(ModelSpec(REPO, cache_dir=str(hf_cache)))
    message = str(caught.value)
    assert "could not be reached" in message and "Connection refused" in message
    assert "local_files_only=True)" not in message  # not offline: the user did not ask


# -- the embedding-cache namespace of a local folder -------------------------------------
def test_a_local_folder_namespace_ignores_how_its_path_is_spelled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    first = build_tiny_text_model(tmp_path / "m1")
    copy = tmp_path / "elsewhere" / "m2"
    shutil.copytree(first, copy)
    monkeypatch.chdir(tmp_path)
    spellings = [str(first), str(first) + "/", "./m1", "m1/../m1", str(copy)]
    names = {load.build_encoder(ModelSpec(s)).cache_namespace(TextOptions())[0] for s in spellings}
    assert len(names) == 1
    other = build_tiny_text_model(tmp_path / "m3", seed=1)
    assert load.build_encoder(ModelSpec(str(other))).cache_namespace(TextOptions())[0] not in names
