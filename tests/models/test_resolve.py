"""Model resolution, step by step (:mod:`dfembed.models.resolve`): where the files are (a
local folder, else a registry name, else a hub repository), which files are fetched, the
description, the width and the verification, and the error each step raises, in order.

The hub's own failures (offline, cut downloads, bad revisions) are in ``test_hub.py``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from dfembed import ModelInfo, ModelLoadError, ModelNotFoundError, ModelSpec
from dfembed.models.file_names import PACKAGED_DATA, WIDTH_FILES, unknown_repo_files
from dfembed.models.resolve import Source, locate, resolve
from tests import hub_server
from tests.hub_server import HubServer, set_offline
from tests.models.conftest import REPO
from tests.tiny_models import build_tiny_text_model

hub = hub_server.hub
hf_cache = hub_server.hf_cache


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny text model (width 8), as a folder and as a hub repository's content."""
    return build_tiny_text_model(tmp_path_factory.mktemp("tiny"))


def spec(cache: Path, model: str = REPO, **kwargs) -> ModelSpec:
    return ModelSpec(model=model, cache_dir=str(cache), **kwargs)


# -- step 1: where ----------------------------------------------------------------------
def test_a_local_folder_wins_over_a_registry_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    folder = build_tiny_text_model(tmp_path / "all-MiniLM-L6-v2")  # a registry name too
    assert locate(ModelSpec("all-MiniLM-L6-v2")) == Source(
        known=None, folder=Path(folder.name), local=True
    )
    model = resolve(ModelSpec("all-MiniLM-L6-v2"))
    assert model.local and model.info.dim == 8  # its own files, not the registry's 384


def test_a_registry_name_is_its_row_and_repository(registered: ModelInfo):
    assert locate(ModelSpec("tiny-registered")) == Source(known=registered, repo=REPO)
    assert locate(ModelSpec(REPO)) == Source(known=registered, repo=REPO)  # its repo id too


def test_a_registry_row_without_graph_or_repository_ships_with_dfembed():
    source = locate(ModelSpec("Qdrant/bm25", kind="sparse"))
    assert source.folder == PACKAGED_DATA and source.repo is None and not source.local


def test_any_other_owner_name_is_a_hub_repository():
    assert locate(ModelSpec("owner/unknown")) == Source(known=None, repo="owner/unknown")


@pytest.mark.parametrize(
    ("model", "kind", "error", "words"),
    [
        ("./no/such/folder", "text", ModelNotFoundError, "is not a local directory"),
        ("no-such-model", "text", ModelNotFoundError, "list_models"),
        ("not/a/hub/id", "text", ModelNotFoundError, "'owner/name'"),
        ("all-MiniLM-L6-v2", "sparse", ModelLoadError, "df.embed.text"),
    ],
)
def test_step_one_errors_ask_nothing_of_the_hub(
    hub: HubServer, hf_cache: Path, model: str, kind: str, error: type, words: str
):
    with pytest.raises(error, match=words):
        resolve(spec(hf_cache, model, kind=kind))
    assert hub.count() == 0


# -- step 2: files ----------------------------------------------------------------------
def test_a_hub_repository_gives_only_the_files_a_model_may_need(
    hub: HubServer, hf_cache: Path, tiny: Path
):
    extra = {"pytorch_model.bin": b"\x80" * 64, "README.md": b"# tiny\n"}
    hub.add_repo(REPO, {**{p.relative_to(tiny).as_posix(): p.read_bytes()
                           for p in tiny.rglob("*") if p.is_file()}, **extra})  # fmt: skip
    model = resolve(spec(hf_cache))
    fetched = set(hub.file_gets(REPO))
    assert fetched <= set(unknown_repo_files()) and "onnx/model.onnx" in fetched
    assert model.folder.parent.name == "snapshots" and not model.local
    assert (model.info.dim, model.info.onnx_file) == (8, "onnx/model.onnx")


def test_a_registry_name_fetches_its_rows_files_from_its_repository(
    hub: HubServer, hf_cache: Path, tiny: Path, registered: ModelInfo
):
    hub.add_repo(REPO, tiny)
    model = resolve(spec(hf_cache, "tiny-registered"))
    assert model.info == registered
    assert set(hub.file_gets(REPO)) <= set(registered.files())


def test_offline_a_cached_repository_resolves_without_the_hub(
    hub: HubServer, hf_cache: Path, tiny: Path, monkeypatch: pytest.MonkeyPatch
):
    hub.add_repo(REPO, tiny)
    online = resolve(spec(hf_cache))
    hub.clear_log()
    set_offline(monkeypatch)
    assert resolve(spec(hf_cache)) == online
    assert hub.count() == 0
    with pytest.raises(ModelNotFoundError, match="HF_HUB_OFFLINE"):
        resolve(spec(hf_cache, "owner/never-fetched"))


def test_a_packaged_model_resolves_offline(monkeypatch: pytest.MonkeyPatch):
    set_offline(monkeypatch)
    model = resolve(ModelSpec("Qdrant/bm25", kind="sparse"))
    assert model.folder == PACKAGED_DATA and model.info.pooling == "bm25"


# -- steps 3 and 4: descriptor, then graph and width ------------------------------------
def _folder(dest: Path, descriptor: dict | None = None) -> Path:
    """A tiny text model in ``dest``, described by ``descriptor`` as its dfembed.json."""
    build_tiny_text_model(dest)
    if descriptor is not None:
        (dest / "dfembed.json").write_text(json.dumps(descriptor))
    return dest


def test_the_descriptor_is_read_before_the_graph_is_looked_for(tmp_path: Path):
    folder = _folder(tmp_path / "m", {"kind": "sparse", "onnx_file": "absent.onnx"})
    with pytest.raises(ModelLoadError, match="df.embed.sparse"):  # step 3, not "No ONNX file"
        resolve(ModelSpec(str(folder)))
    with pytest.raises(ModelNotFoundError, match=r"No ONNX file 'absent.onnx'.*onnx_file"):
        resolve(ModelSpec(str(folder), kind="sparse"))


def test_a_width_the_description_says_is_not_read_from_the_graph(tmp_path: Path):
    said = _folder(tmp_path / "said", {"dim": 5})
    assert resolve(ModelSpec(str(said))).info.dim == 5
    graph = _folder(tmp_path / "graph")
    (graph / "config.json").unlink()  # nothing but the graph says the width
    assert resolve(ModelSpec(str(graph))).info.dim == 8


# -- errors of steps 1, 3 and 4 for local folders and names -------------------------------
def test_unknown_name_is_a_clear_error():
    with pytest.raises(ModelNotFoundError, match="list_models"):
        resolve(ModelSpec("no-such-model"))


def test_local_folder_descriptor_overrides_and_bad_json(tmp_path, minilm_int8):
    model = resolve(ModelSpec(minilm_int8))
    assert model.info.dim == 384 and model.info.pooling == "mean"
    (tmp_path / "model.onnx").write_bytes(b"")
    (tmp_path / "dfembed.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="not valid JSON"):
        resolve(ModelSpec(str(tmp_path)))


def test_folder_without_onnx_names_what_it_has(tmp_path):
    (tmp_path / "onnx").mkdir()
    (tmp_path / "onnx" / "model_quantized.onnx").write_bytes(b"")
    with pytest.raises(ModelNotFoundError, match="model_quantized.onnx"):
        resolve(ModelSpec(str(tmp_path)))


def test_kind_mismatch_is_explained(tmp_path, minilm_int8):
    folder = tmp_path / "m"
    shutil.copytree(minilm_int8, folder)
    desc = json.loads((folder / "dfembed.json").read_text())
    (folder / "dfembed.json").write_text(json.dumps({**desc, "kind": "image"}))
    with pytest.raises(ModelLoadError, match="of kind 'image'"):
        resolve(ModelSpec(str(folder)))


# -- step 5: verification (hub models only) ----------------------------------------------
def test_verification_runs_for_hub_models_only(
    hub: HubServer, hf_cache: Path, tiny: Path, tmp_path: Path, monkeypatch
):
    from dfembed.models import resolve as resolving

    checked: list[Path] = []
    monkeypatch.setattr(resolving, "verify_snapshot", lambda folder, files: checked.extend(files))
    resolve(ModelSpec(str(tiny)))
    assert checked == []  # a local folder's files are the user's own
    hub.add_repo(REPO, tiny)
    model = resolve(spec(hf_cache))
    assert {p.relative_to(model.folder).as_posix() for p in checked} == {
        "onnx/model.onnx", "tokenizer.json", "config.json", "tokenizer_config.json",
        "special_tokens_map.json",
    } & {p.relative_to(tiny).as_posix() for p in tiny.rglob("*")}  # fmt: skip


# -- the thin client reads the same names without the graph ----------------------------
def test_describe_fetches_only_the_width_files(hub: HubServer, hf_cache: Path, tiny: Path):
    from dfembed.models.describe import describe

    hub.add_repo(REPO, tiny)
    info = describe(spec(hf_cache))
    assert set(hub.file_gets(REPO)) <= set(WIDTH_FILES)  # no graph
    full = resolve(spec(hf_cache)).info
    assert (info.kind, info.dim, info.pooling) == (full.kind, full.dim, full.pooling)
