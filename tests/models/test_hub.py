"""Hub downloads against a local hub server: allow-list, cache hits, offline use, errors,
registry names, broken downloads and revision pinning."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dfembed
from dfembed import ModelInfo, ModelLoadError, ModelNotFoundError, ModelSpec
from dfembed.encoders import load
from dfembed.models.resolve import resolve
from tests import hub_server
from tests.hub_server import HubServer, git_blob_sha1, no_retry_wait, set_offline
from tests.models.conftest import REPO
from tests.tiny_models import build_tiny_text_model

# The server fixtures (tests/conftest.py may also provide them; these win here).
hub = hub_server.hub
hf_cache = hub_server.hf_cache


#: What an unknown repository with this layout needs: nothing else may be requested.
NEEDED = {
    "onnx/model.onnx",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "config.json",
    "1_Pooling/config.json",
    "sentence_bert_config.json",
    "modules.json",
}
#: Files a real repository also carries, that must never be downloaded.
UNWANTED = {
    "pytorch_model.bin": b"\x80\x02pickle" * 64,
    "model.safetensors": b"\x08\x00\x00\x00\x00\x00\x00\x00{}      " * 16,
    "flax_model.msgpack": b"\x81\xa4flax" * 64,
    "onnx/model_qint8.onnx": b"not-really-onnx" * 64,
    "README.md": "# tiny\n",
    ".gitattributes": "*.onnx filter=lfs diff=lfs merge=lfs -text\n",
}


def _with_repo_extras(folder: Path) -> Path:
    """Add sentence-transformers configs and the files that must not be fetched."""
    (folder / "1_Pooling").mkdir(exist_ok=True)
    pooling = {"word_embedding_dimension": 8, "pooling_mode_mean_tokens": True}
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 128}))
    steps = ["Transformer", "Pooling", "Normalize"]  # unit vectors, as all-MiniLM-L6-v2's
    modules = [{"idx": i, "type": f"sentence_transformers.models.{t}"} for i, t in enumerate(steps)]
    (folder / "modules.json").write_text(json.dumps(modules))
    for name, data in UNWANTED.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return folder


@pytest.fixture(scope="module")
def tiny_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny text model laid out like a sentence-transformers hub repository."""
    return _with_repo_extras(build_tiny_text_model(tmp_path_factory.mktemp("tiny-repo")))


@pytest.fixture(scope="module")
def tiny_repo_v2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same layout with other weights (a later revision)."""
    folder = build_tiny_text_model(tmp_path_factory.mktemp("tiny-repo-v2"), seed=1)
    return _with_repo_extras(folder)


@pytest.fixture
def served(hub: HubServer, tiny_repo: Path) -> HubServer:
    """The hub, serving ``owner/tiny`` on ``main``."""
    hub.add_repo(REPO, tiny_repo)
    return hub


def spec(cache: Path, model: str = REPO, **kwargs) -> ModelSpec:
    return ModelSpec(model=model, cache_dir=str(cache), **kwargs)


def cache_is_sound(cache: Path) -> None:
    """Every blob in the cache is whole: named by the hash of its content, no leftovers."""
    blobs = [p for p in cache.rglob("blobs/*") if p.is_file()]
    for blob in blobs:
        data = blob.read_bytes()
        assert blob.name in (hashlib.sha256(data).hexdigest(), git_blob_sha1(data)), blob
    assert not [p for p in cache.rglob("*.incomplete")]


# -- (a) download and use --------------------------------------------------------------
def test_download_fetches_only_the_needed_files(served: HubServer, hf_cache: Path):
    model = resolve(spec(hf_cache))
    assert model.onnx_path.read_bytes() == served.file(REPO, "onnx/model.onnx")
    assert model.info.dim == 8 and model.info.max_length == 128 and model.info.pooling == "mean"
    assert sorted(served.file_gets(REPO)) == sorted(NEEDED)
    assert set(served.file_requests(REPO)) == NEEDED  # not even a HEAD for anything else
    assert served.count("GET", "/cdn/") == 1  # the LFS file came through the "CDN" redirect
    on_disk = {p.relative_to(model.folder).as_posix() for p in model.folder.rglob("*.*")}
    assert on_disk == NEEDED
    assert not [p for p in hf_cache.rglob("*") if p.suffix in {".bin", ".safetensors", ".msgpack"}]
    cache_is_sound(hf_cache)


def test_accessor_embeds_with_a_hub_model(served: HubServer, hf_cache: Path, tiny_repo: Path):
    frame = pd.DataFrame({"body": ["hello world", "the cat sat on the mat", None, "hello world"]})
    try:
        out = frame.embed.text("body", model=REPO, cache_dir=str(hf_cache))
        local = frame.embed.text("body", model=str(tiny_repo))
    finally:
        load.clear_cache()
    assert out.index.equals(frame.index) and out.isna().tolist() == [False, False, True, False]
    vectors = dfembed.to_numpy(out.dropna())
    assert vectors.shape == (3, 8)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(vectors, dfembed.to_numpy(local.dropna()), rtol=1e-6)
    assert not np.allclose(vectors[0], vectors[1])


def test_download_without_cdn_redirects(
    hf_cache: Path, tiny_repo: Path, monkeypatch: pytest.MonkeyPatch
):
    with HubServer(lfs_redirect=False) as plain:
        hub_server.point_hub_at(monkeypatch, plain.url)
        plain.add_repo(REPO, tiny_repo)
        model = resolve(spec(hf_cache))
        assert model.onnx_path.read_bytes() == plain.file(REPO, "onnx/model.onnx")
        assert plain.count(contains="/cdn/") == 0 and set(plain.file_gets()) == NEEDED


# -- (b) cache hits ---------------------------------------------------------------------
def test_second_resolve_is_a_cache_hit(served: HubServer, hf_cache: Path):
    first = resolve(spec(hf_cache))
    served.clear_log()
    second = resolve(spec(hf_cache))
    assert second.folder == first.folder
    assert served.file_requests() == []  # no HEAD, no GET of any file
    assert served.count(contains="/tree/") == 0  # the listing is cached too
    assert served.count(contains=f"/api/models/{REPO}/revision/main") == 1  # "main" is checked


# -- (c) offline ------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["HF_HUB_OFFLINE", "local_files_only"])
def test_offline_uses_the_cache(
    served: HubServer, hf_cache: Path, monkeypatch: pytest.MonkeyPatch, how: str
):
    online = resolve(spec(hf_cache))
    served.clear_log()
    if how == "HF_HUB_OFFLINE":
        set_offline(monkeypatch)
        offline = resolve(spec(hf_cache))
    else:
        offline = resolve(spec(hf_cache, local_files_only=True))
    assert offline.folder == online.folder and offline.onnx_path.is_file()
    assert served.count() == 0


@pytest.mark.parametrize("how", ["HF_HUB_OFFLINE", "local_files_only"])
def test_offline_with_an_empty_cache_says_what_to_do(
    served: HubServer, hf_cache: Path, monkeypatch: pytest.MonkeyPatch, how: str
):
    if how == "HF_HUB_OFFLINE":
        set_offline(monkeypatch)
    with pytest.raises(ModelNotFoundError) as caught:
        resolve(spec(hf_cache, local_files_only=how == "local_files_only"))
    message = str(caught.value)
    assert REPO in message and "local directory" in message and "HF_HUB_OFFLINE" in message
    assert served.count() == 0


def test_unreachable_hub_falls_back_to_the_cache(served: HubServer, hf_cache: Path, tmp_path):
    cached = resolve(spec(hf_cache))
    served.stop()
    assert resolve(spec(hf_cache)).folder == cached.folder
    with pytest.raises(ModelNotFoundError, match="local directory"):
        resolve(spec(tmp_path / "empty-cache"))


# -- (d) errors -------------------------------------------------------------------------
def test_unknown_repository(served: HubServer, hf_cache: Path):
    with pytest.raises(ModelNotFoundError, match="no repository 'owner/missing'"):
        resolve(spec(hf_cache, "owner/missing"))


@pytest.mark.parametrize("revision", ["no-such-branch", "0123456789abcdef0123456789abcdef01234567"])
def test_unknown_revision(served: HubServer, hf_cache: Path, revision: str):
    with pytest.raises(ModelNotFoundError, match=f"Revision '{revision}' of 'owner/tiny'"):
        resolve(spec(hf_cache, revision=revision))


@pytest.mark.parametrize(
    ("extra", "hint"),
    [
        ({}, "Export the model to ONNX"),
        ({"onnx/model_qint8.onnx": b"x" * 10}, "['onnx/model_qint8.onnx']"),
    ],
)
def test_repository_without_the_onnx_file(
    hub: HubServer, hf_cache: Path, tiny_repo: Path, extra: dict, hint: str
):
    files = {n: (tiny_repo / n).read_bytes() for n in ("config.json", "tokenizer.json")}
    hub.add_repo("owner/torch-only", {**files, "pytorch_model.bin": b"\x80" * 64, **extra})
    with pytest.raises(ModelNotFoundError) as caught:
        resolve(spec(hf_cache, "owner/torch-only"))
    message = str(caught.value)
    assert "No ONNX file" in message and hint in message
    assert "models--owner--torch-only" in message  # names the folder it looked in
    assert not [n for n in hub.file_gets() if n.endswith((".bin", ".onnx"))]


def test_repository_with_no_wanted_file_at_all(hub: HubServer, hf_cache: Path):
    hub.add_repo("owner/weights-only", {"pytorch_model.bin": b"\x80" * 64, "README.md": "hi"})
    with pytest.raises(ModelNotFoundError, match="No ONNX file .*models--owner--weights-only"):
        resolve(spec(hf_cache, "owner/weights-only"))
    assert hub.file_requests() == []


def test_invalid_repository_id(served: HubServer, hf_cache: Path):
    with pytest.raises(ModelNotFoundError, match="not a valid hub repository id"):
        resolve(spec(hf_cache, "owner/bad name!"))


# -- (e) registry names -----------------------------------------------------------------
def test_registry_name_downloads_its_own_file_list(
    served: HubServer, hf_cache: Path, registered: ModelInfo
):
    info = registered
    model = resolve(spec(hf_cache, "tiny-registered"))
    assert model.info == info and model.onnx_path.is_file()
    fetched = set(served.file_gets(REPO))
    assert fetched <= set(info.files())
    assert fetched == {"onnx/model.onnx", "tokenizer.json", "tokenizer_config.json",
                       "special_tokens_map.json", "config.json"}  # fmt: skip
    # The repository id now means the registered model too.
    assert resolve(spec(hf_cache, REPO)).info == info


# -- (f) broken downloads ---------------------------------------------------------------
def test_download_cut_mid_file_is_an_error_and_leaves_nothing_usable(
    served: HubServer, hf_cache: Path, monkeypatch: pytest.MonkeyPatch
):
    no_retry_wait(monkeypatch)
    served.cut(REPO, "onnx/model.onnx", at=1000)
    with pytest.raises(ModelNotFoundError, match="Downloading 'owner/tiny' from the hub failed"):
        resolve(spec(hf_cache))
    assert served.requests("GET", "model.onnx")[0].bytes_sent == 1000
    cache_is_sound(hf_cache)
    assert not list(hf_cache.rglob("model.onnx"))

    # Offline, the partial snapshot is refused rather than loaded.
    with pytest.raises(ModelNotFoundError, match="incomplete"):
        resolve(spec(hf_cache, local_files_only=True))
    set_offline(monkeypatch)
    with pytest.raises(ModelNotFoundError, match="incomplete"):
        resolve(spec(hf_cache))

    # Back online with a healthy hub, the snapshot is completed.
    set_offline(monkeypatch, False)
    served.clear_faults()
    served.clear_log()
    model = resolve(spec(hf_cache))
    assert model.onnx_path.read_bytes() == served.file(REPO, "onnx/model.onnx")
    assert served.file_gets() == ["onnx/model.onnx"]  # the rest was already there
    cache_is_sound(hf_cache)


def test_one_dropped_connection_is_retried(
    served: HubServer, hf_cache: Path, monkeypatch: pytest.MonkeyPatch
):
    no_retry_wait(monkeypatch)
    served.cut(REPO, "onnx/model.onnx", at=1000, times=1)
    model = resolve(spec(hf_cache))
    assert model.onnx_path.read_bytes() == served.file(REPO, "onnx/model.onnx")
    assert served.file_gets().count("onnx/model.onnx") == 2


def test_wrong_length_body_is_an_error(served: HubServer, hf_cache: Path):
    served.corrupt(REPO, "tokenizer.json", b"{}")
    with pytest.raises(ModelNotFoundError, match="Consistency check failed"):
        resolve(spec(hf_cache))
    cache_is_sound(hf_cache)
    assert not list(hf_cache.rglob("tokenizer.json"))


def test_corrupt_onnx_bytes_fail_the_checksum_and_are_deleted(
    served: HubServer, hf_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # Same length, wrong bytes, real sha256 ETag: huggingface_hub (2.4) checks only the size,
    # so dfembed hashes the blob against its sha256 name.
    monkeypatch.setenv("DFEMBED_VERIFIED_DIR", str(tmp_path / "verified"))
    served.corrupt(REPO, "onnx/model.onnx")
    with pytest.raises(ModelLoadError, match="checksum"):
        resolve(spec(hf_cache))
    assert not [b for b in hf_cache.rglob("model.onnx") if b.exists()]
    served.clear_faults()
    model = resolve(spec(hf_cache))  # downloads afresh and verifies
    assert (tmp_path / "verified").exists()
    try:
        assert isinstance(load.build_encoder(spec(hf_cache)).info.dim, int)
    finally:
        load.clear_cache()
    assert model.onnx_path.exists()


# -- (g) revisions ----------------------------------------------------------------------
def test_revisions_are_pinned(
    hub: HubServer, hf_cache: Path, tiny_repo: Path, tiny_repo_v2: Path,
    monkeypatch: pytest.MonkeyPatch,
):  # fmt: skip
    first = hub.add_repo(REPO, tiny_repo)
    second = hub.add_repo(REPO, tiny_repo_v2, revision="v2")
    main, v2 = resolve(spec(hf_cache)), resolve(spec(hf_cache, revision="v2"))
    assert (main.folder.name, v2.folder.name) == (first, second)
    assert main.onnx_path.read_bytes() == (tiny_repo / "onnx/model.onnx").read_bytes()
    assert v2.onnx_path.read_bytes() == (tiny_repo_v2 / "onnx/model.onnx").read_bytes()
    assert main.onnx_path.read_bytes() != v2.onnx_path.read_bytes()
    # Identical files are stored once, whatever the revision.
    assert main.file("tokenizer.json").resolve() == v2.file("tokenizer.json").resolve()

    # A commit hash is used as is; the branch moving on does not change what it gives.
    hub.add_repo(REPO, tiny_repo_v2, revision="main")
    assert resolve(spec(hf_cache, revision=first)).folder == main.folder
    assert resolve(spec(hf_cache)).onnx_path.read_bytes() == v2.onnx_path.read_bytes()

    hub.clear_log()
    set_offline(monkeypatch)
    for revision, folder in [("v2", v2.folder), (first, main.folder), (second, v2.folder)]:
        assert resolve(spec(hf_cache, revision=revision)).folder == folder
    assert hub.count() == 0


def test_local_folder_copy_of_a_snapshot_needs_no_hub(served, hf_cache: Path, tmp_path: Path):
    snapshot = resolve(spec(hf_cache)).folder
    copy = tmp_path / "copy"
    shutil.copytree(snapshot, copy)  # follows the cache's symlinks
    served.clear_log()
    model = resolve(ModelSpec(str(copy)))
    assert model.folder == copy and model.info.dim == 8 and served.count() == 0
