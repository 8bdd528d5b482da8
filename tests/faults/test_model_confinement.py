"""Hostile model folders: dfembed reads no file outside the model's folder, and no file
that is not a regular one.

A folder as ``git clone`` makes it may hold links (``model.onnx_data -> ../outside/secret``,
``-> /dev/zero``), and a ``dfembed.json`` may name any path as ``"onnx_file"``. Before,
``precision="fp16"`` embedded the bytes of a linked secret, a link to ``/dev/zero`` was read
without end, ``"onnx_file"`` ran a graph from anywhere on disk, ``""`` raised
``IsADirectoryError``, a deeply nested ``dfembed.json`` raised ``RecursionError``, and a
weight file named ``*`` by a hub graph downloaded the whole repository, pickles included.
The hub cache's own links (snapshot files to ``../../blobs/<hash>``) keep working:
tests/models/test_hub.py and tests/runtime/test_external_weights.py.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dfembed import ModelLoadError, ModelNotFoundError, ModelSpec
from dfembed.encoders import load
from dfembed.models.resolve import resolve
from tests import hub_server
from tests.hub_server import HubServer
from tests.tiny_models import build_tiny_text_model

hub = hub_server.hub
hf_cache = hub_server.hf_cache

TEXTS = pd.Series(["the cat sat on the mat", "hello world"])
FP16 = {"precision": "fp16"}
#: Files of a hub repository that must never be downloaded.
PICKLES = {"pytorch_model.bin": b"\x80\x02pickle" * 64, "model.safetensors": b"\x08" * 64}


@pytest.fixture(autouse=True)
def fused_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "fused"
    monkeypatch.setenv("DFEMBED_FUSED_DIR", str(folder))
    return folder


def embed(folder: Path | str, **kwargs) -> np.ndarray:
    try:
        return np.stack(TEXTS.embed.text(model=str(folder), **kwargs).to_numpy())
    finally:
        load.clear_cache()


def external_model(folder: Path, location: str = "model.onnx_data") -> Path:
    """A tiny text model whose graph ``model.onnx`` keeps its weights in ``location``."""
    import onnx

    build_tiny_text_model(folder, onnx_file="model.onnx")
    graph = onnx.load(str(folder / "model.onnx"))
    onnx.save_model(graph, str(folder / "model.onnx"), save_as_external_data=True,
                    location=location, all_tensors_to_one_file=True,
                    size_threshold=64)  # fmt: skip
    return folder


def move_out(folder: Path, name: str, outside: Path) -> Path:
    """Move ``folder/name`` to ``outside`` and leave a relative link to it in its place."""
    outside.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(folder / name, outside)
    (folder / name).symlink_to(os.path.relpath(outside, (folder / name).parent))
    return outside


def describe(folder: Path, **fields) -> Path:
    path = folder / "dfembed.json"
    path.write_text(json.dumps({"kind": "text", "dim": 8, **fields}))
    return path


def drop_lengths(graph: Path) -> None:
    """Remove the ``length`` of every external tensor: the whole file is then read."""
    import onnx

    model = onnx.load(str(graph), load_external_data=False)
    for tensor in model.graph.initializer:
        kept = [(e.key, e.value) for e in tensor.external_data if e.key != "length"]
        del tensor.external_data[:]
        for key, value in kept:
            tensor.external_data.add(key=key, value=value)
    onnx.save(model, str(graph))


# -- 5. weight files, graph, tokenizer and configs behind links --------------------------
@pytest.mark.parametrize("precision", ["fp16", "fp32"])
def test_weights_linked_out_of_the_folder_are_never_read(tmp_path: Path, precision: str):
    """fp16 used to embed the secret's bytes; fp32 was refused by ONNX Runtime, but the
    fingerprint (the embedding cache's key) still read the secret."""
    folder = external_model(tmp_path / "cloned")
    move_out(folder, "model.onnx_data", tmp_path / "outside" / "secret.txt")
    with pytest.raises(ModelLoadError, match=r"model\.onnx_data.*outside the model folder"):
        resolve(ModelSpec(str(folder))).fingerprint  # noqa: B018 - the property reads
    with pytest.raises(ModelLoadError, match=r"model\.onnx_data"):
        embed(folder, session_options={"precision": precision})


@pytest.mark.parametrize("length", ["declared", "absent"])
def test_weights_linked_to_dev_zero_are_refused(tmp_path: Path, length: str):
    """With a declared length fp16 embedded zeros; without one it read until memory ran out."""
    folder = external_model(tmp_path / "zero")
    (folder / "model.onnx_data").unlink()
    (folder / "model.onnx_data").symlink_to("/dev/zero")
    if length == "absent":
        drop_lengths(folder / "model.onnx")
    with pytest.raises(ModelLoadError, match=r"leads to /dev/zero, outside the model folder"):
        embed(folder, session_options=FP16)


@pytest.mark.timeout(60)  # the old code waited for a writer forever
def test_a_fifo_as_weight_file_is_refused_without_waiting(tmp_path: Path):
    folder = external_model(tmp_path / "fifo")
    (folder / "model.onnx_data").unlink()
    os.mkfifo(folder / "model.onnx_data")
    with pytest.raises(ModelLoadError, match=r"model\.onnx_data is a FIFO, not a regular file"):
        embed(folder, session_options=FP16)


def test_weights_shorter_than_the_graph_says_are_refused(tmp_path: Path):
    folder = external_model(tmp_path / "short")
    data = folder / "model.onnx_data"
    data.write_bytes(data.read_bytes()[:-4])
    with pytest.raises(ModelLoadError, match=r"holds [\d,]+ bytes, but bytes .* are asked for"):
        embed(folder, session_options=FP16)


@pytest.mark.parametrize("name", ["model.onnx", "tokenizer.json", "config.json", "dfembed.json"])
def test_model_files_linked_out_of_the_folder_are_refused(tmp_path: Path, name: str):
    """A graph, tokenizer or JSON config from elsewhere on disk: read and used before."""
    folder = build_tiny_text_model(tmp_path / "cloned", onnx_file="model.onnx")
    describe(folder)
    move_out(folder, name, tmp_path / "outside" / name)
    with pytest.raises(ModelLoadError, match=rf"{name} leads to .*outside the model folder"):
        embed(folder, session_options={"graph_fusion": False})


def test_links_inside_the_folder_still_work(tmp_path: Path):
    folder = external_model(tmp_path / "linked")
    reference = embed(folder, session_options=FP16)
    (folder / "store").mkdir()
    for name in ("model.onnx_data", "tokenizer.json"):
        move_out(folder, name, folder / "store" / name)
    np.testing.assert_array_equal(embed(folder, session_options=FP16), reference)


# -- 6. the "onnx_file" of a dfembed.json -------------------------------------------------
def _elsewhere(tmp_path: Path) -> str:
    """A working graph outside the model folder."""
    return str(build_tiny_text_model(tmp_path / "elsewhere", onnx_file="model.onnx") / "model.onnx")


@pytest.mark.parametrize(
    "onnx_file, why",
    [
        (_elsewhere, "absolute path"),
        ("../elsewhere/model.onnx", 'goes up with ".."'),
        ("onnx/../../elsewhere/model.onnx", 'goes up with ".."'),
        ("/dev/zero", "absolute path"),
        ("model.onnx\0.txt", "NUL character"),
    ],
    ids=["absolute", "dotdot", "dotdot-inside", "dev-zero", "nul"],
)
def test_an_onnx_file_outside_the_folder_is_a_load_error(tmp_path: Path, onnx_file, why):
    """Resolved (and then hashed, loaded and run) before; ``dim`` is given, so the old code
    did not even read the graph while resolving."""
    if callable(onnx_file):
        onnx_file = onnx_file(tmp_path)
    folder = build_tiny_text_model(tmp_path / "model", onnx_file="model.onnx")
    descriptor = describe(folder, onnx_file=onnx_file)
    with pytest.raises(ModelLoadError) as caught:
        resolve(ModelSpec(str(folder)))
    message = str(caught.value)
    assert str(descriptor) in message and '"onnx_file"' in message and why in message


def test_an_empty_onnx_file_is_a_load_error(tmp_path: Path):
    """Was ``IsADirectoryError`` (the folder itself was hashed as the graph)."""
    folder = build_tiny_text_model(tmp_path / "model", onnx_file="model.onnx")
    descriptor = describe(folder, onnx_file="")
    with pytest.raises(ModelLoadError, match=r'"onnx_file" is empty') as caught:
        embed(folder)
    assert str(descriptor) in str(caught.value)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["directory", "fifo", "link-to-dev-zero"])
def test_an_onnx_file_that_is_not_a_regular_file_is_a_load_error(tmp_path: Path, kind: str):
    folder = build_tiny_text_model(tmp_path / "model", onnx_file="model.onnx")
    target = folder / "graph"
    if kind == "directory":
        target.mkdir()
    elif kind == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to("/dev/zero")
    descriptor = describe(folder, onnx_file="graph")
    with pytest.raises(ModelLoadError) as caught:
        resolve(ModelSpec(str(folder)))
    message = str(caught.value)
    assert f'"onnx_file" of {descriptor}' in message and str(target) in message
    assert {"directory": "a directory", "fifo": "a FIFO"}.get(kind, "/dev/zero") in message


def test_a_stopword_language_with_a_path_is_a_load_error(tmp_path: Path):
    (tmp_path / "dfembed.json").write_text(
        json.dumps({"kind": "sparse", "pooling": "bm25", "onnx_file": "", "language": "../x"})
    )
    with pytest.raises(ModelLoadError, match=r'"language" \'\.\./x\' .*goes up'):
        resolve(ModelSpec(str(tmp_path), kind="sparse"))


# -- 6. JSON that cannot be parsed safely -------------------------------------------------
@pytest.mark.parametrize("name", ["dfembed.json", "config.json", "1_Pooling/config.json"])
def test_deeply_nested_json_is_a_load_error(tmp_path: Path, name: str):
    """Raised ``RecursionError`` before."""
    folder = build_tiny_text_model(tmp_path / "model", onnx_file="model.onnx")
    (folder / name).parent.mkdir(exist_ok=True)
    (folder / name).write_text('{"dim": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(ModelLoadError, match="nests JSON values too deeply") as caught:
        resolve(ModelSpec(str(folder)))
    assert str(folder / name) in str(caught.value)


def test_an_oversized_json_config_is_a_load_error(tmp_path: Path):
    folder = build_tiny_text_model(tmp_path / "model", onnx_file="model.onnx")
    describe(folder, description="x" * (5 << 20))
    with pytest.raises(ModelLoadError, match=r"dfembed\.json is [\d,]+ bytes.* up to 4 MiB"):
        resolve(ModelSpec(str(folder)))


# -- 7. hub downloads fetch exact names ---------------------------------------------------
@pytest.mark.parametrize("location", ["*", "w[1].data"])
def test_hub_weight_file_names_are_fetched_exactly(
    hub: HubServer, hf_cache: Path, tmp_path: Path, location: str
):
    """A graph naming its weights ``*`` fetched the whole repository, pickles included;
    ``w[1].data`` fetched ``w1.data`` (a glob class) and not the file the graph names."""
    folder = external_model(tmp_path / "repo", location=location)
    decoys = {"w1.data": b"decoy" * 16, **PICKLES}
    for name, data in decoys.items():
        (folder / name).write_bytes(data)
    hub.add_repo("owner/globbed", folder)
    vectors = embed("owner/globbed", cache_dir=str(hf_cache))
    fetched = set(hub.file_gets("owner/globbed"))
    assert location in fetched and not fetched & set(decoys)
    assert not [p for p in hf_cache.rglob("*") if p.name in decoys]
    for name in decoys:
        (folder / name).unlink()
    np.testing.assert_allclose(vectors, embed(folder), rtol=1e-6)


def test_a_hub_graph_naming_weights_the_repository_lacks_says_so(
    hub: HubServer, hf_cache: Path, tmp_path: Path
):
    folder = external_model(tmp_path / "repo", location="w*.data")
    os.rename(folder / "w*.data", folder / "weights.data")
    (folder / "pytorch_model.bin").write_bytes(PICKLES["pytorch_model.bin"])
    hub.add_repo("owner/incomplete", folder)
    with pytest.raises(ModelNotFoundError, match=r"names weight files \['w\*\.data'\]"):
        resolve(ModelSpec("owner/incomplete", cache_dir=str(hf_cache)))
    assert not {"weights.data", "pytorch_model.bin"} & set(hub.file_gets())
