"""describe(): a model's kind and width without its graph or weights (the thin client's view).

Against the loopback hub: only the small JSON files may be fetched, and where describe
states a width it must be the one resolve (what workers run) finds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dfembed import ModelLoadError, ModelNotFoundError, ModelSpec
from dfembed.models.describe import WIDTH_FILES, describe
from dfembed.models.resolve import resolve
from tests import hub_server
from tests.hub_server import HubServer, set_offline
from tests.tiny_models import build_tiny_text_model

hub = hub_server.hub
hf_cache = hub_server.hf_cache

#: A weight file a real repository carries and nothing may fetch while describing.
BIG = {"model.safetensors": b"\x08" * 4096, "onnx/model_qint8.onnx": b"not-onnx" * 512}


def _layout(folder: Path, dim: int, source: str) -> Path:
    """A tiny text model whose width only ``source`` states (besides the graph)."""
    build_tiny_text_model(folder, dim)
    config = json.loads((folder / "config.json").read_text())
    config.pop("hidden_size")
    (folder / "config.json").write_text(json.dumps(config))
    if source == "hidden_size":
        (folder / "config.json").write_text(json.dumps({**config, "hidden_size": dim}))
    elif source == "pooling":
        (folder / "1_Pooling").mkdir()
        pooling = {"word_embedding_dimension": dim, "pooling_mode_mean_tokens": True}
        (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    elif source == "dfembed.json":
        (folder / "dfembed.json").write_text(json.dumps({"dim": dim}))
    for name, data in BIG.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


def _graphs_in(cache: Path) -> list[Path]:
    return [p for p in cache.rglob("*") if p.suffix in {".onnx", ".onnx_data", ".safetensors"}]


@pytest.mark.parametrize("source", ["hidden_size", "pooling", "dfembed.json"])
def test_hub_width_from_small_json_files_only(hub: HubServer, hf_cache: Path, tmp_path, source):
    hub.add_repo("owner/m", _layout(tmp_path / "repo", 12, source))
    spec = ModelSpec("owner/m", cache_dir=str(hf_cache))
    info = describe(spec)
    assert info.dim == 12 and info.kind == "text"
    assert hub.file_requests("owner/m") and set(hub.file_requests("owner/m")) <= set(WIDTH_FILES)
    assert _graphs_in(hf_cache) == []
    assert resolve(spec).info.dim == info.dim  # what workers find: never another width


def test_hub_repo_without_a_json_width_says_zero(hub: HubServer, hf_cache: Path, tmp_path):
    hub.add_repo("owner/m", _layout(tmp_path / "repo", 12, "graph"))
    spec = ModelSpec("owner/m", cache_dir=str(hf_cache))
    assert describe(spec).dim == 0  # unknown here: the caller asks who runs the model
    assert _graphs_in(hf_cache) == []
    assert resolve(spec).info.dim == 12  # read from the graph where it is downloaded


def test_registry_model_needs_no_hub(hub: HubServer, hf_cache: Path, monkeypatch):
    set_offline(monkeypatch)
    assert describe(ModelSpec("all-MiniLM-L6-v2")).dim == 384
    assert describe(ModelSpec("colbertv2.0", kind="late_interaction")).dim == 128
    assert describe(ModelSpec("Qdrant/bm25", kind="sparse")).pooling == "bm25"
    assert hub.count() == 0


def test_kind_and_name_errors_come_before_any_download(hub: HubServer, hf_cache: Path, tmp_path):
    folder = _layout(tmp_path / "repo", 12, "dfembed.json")
    (folder / "dfembed.json").write_text(json.dumps({"dim": 12, "kind": "image"}))
    hub.add_repo("owner/m", folder)
    with pytest.raises(ModelLoadError, match="df.embed.image"):
        describe(ModelSpec("owner/m", cache_dir=str(hf_cache)))
    with pytest.raises(ModelLoadError, match="df.embed.text"):
        describe(ModelSpec("all-MiniLM-L6-v2", kind="image"))
    with pytest.raises(ModelNotFoundError, match="no repository"):
        describe(ModelSpec("owner/missing", cache_dir=str(hf_cache)))
    with pytest.raises(ModelNotFoundError, match="known model name"):
        describe(ModelSpec("no-such-model"))
    assert _graphs_in(hf_cache) == []


def test_local_folder_reads_as_resolve_does(tmp_path):
    folder = _layout(tmp_path / "m", 12, "graph")
    assert describe(ModelSpec(str(folder))) == resolve(ModelSpec(str(folder))).info
    assert describe(ModelSpec(str(folder))).dim == 12
    with pytest.raises(ModelNotFoundError, match="every worker needs"):
        describe(ModelSpec(str(tmp_path / "absent")))
