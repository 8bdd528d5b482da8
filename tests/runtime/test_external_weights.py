"""Graphs that keep their weights in external files: fusion and fp16 (reading them: test_graphs)."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from dfembed.errors import ModelLoadError
from dfembed.models import onnx_graph
from dfembed.runtime import fusion, graphs
from dfembed.runtime.precision import fp16_model_bytes
from dfembed.runtime.session import SessionOptions, create_session
from tests.tiny_models import build_tiny_bert_onnx

DIM = 4


@pytest.fixture(autouse=True)
def fused_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "fused"
    monkeypatch.setenv("DFEMBED_FUSED_DIR", str(folder))
    return folder


def gelu_graph(seed: int):
    """``x @ W`` then GELU written out (Div, Erf, Add, Mul, Mul): the optimizer fuses it."""
    from onnx import TensorProto, helper, numpy_helper

    weights = np.random.default_rng(seed).normal(size=(DIM, DIM)).astype(np.float32)
    constants = {"sqrt2": 2**0.5, "one": 1.0, "half": 0.5}
    initializers = [numpy_helper.from_array(weights, "w")] + [
        numpy_helper.from_array(np.array(v, np.float32), k) for k, v in constants.items()
    ]
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h"]),
        helper.make_node("Div", ["h", "sqrt2"], ["d"]),
        helper.make_node("Erf", ["d"], ["e"]),
        helper.make_node("Add", ["e", "one"], ["a"]),
        helper.make_node("Mul", ["h", "a"], ["m"]),
        helper.make_node("Mul", ["m", "half"], ["y"]),
    ]
    io = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["b", DIM]) for n in "xy"]
    graph = helper.make_graph(nodes, "gelu", [io[0]], [io[1]], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    return model


def save_external(
    model, folder: Path, location: str = "model.onnx.data", *, threshold: int = 0
) -> Path:
    """Write ``model`` to ``folder/model.onnx``, its tensors over ``threshold`` bytes in
    ``location`` (ONNX Runtime wants the small shape constants of BERT graphs inline)."""
    import onnx

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.onnx"
    onnx.save_model(model, str(path), save_as_external_data=True, location=location,
                    all_tensors_to_one_file=True, size_threshold=threshold)  # fmt: skip
    return path


def bert_config(folder: Path) -> Path:
    config = folder / "config.json"
    config.write_text(json.dumps({"model_type": "bert", "num_attention_heads": 1,
                                  "hidden_size": DIM}))  # fmt: skip
    return config


def run(session, x: np.ndarray) -> np.ndarray:
    return session.run(None, {"x": x})[0]


def test_a_plain_graph_of_this_kind_is_fused(tmp_path, fused_dir):
    """The control: without external weights the same graph is fused (so skipping is real)."""
    import onnx

    path = tmp_path / "plain" / "model.onnx"
    path.parent.mkdir()
    onnx.save(gelu_graph(0), str(path))
    fused = fusion.fused_graph(path, bert_config(path.parent))
    assert fused is not None and fused.parent == fused_dir


def test_external_weights_are_never_shared_through_a_fused_graph(tmp_path, fused_dir, caplog):
    a = save_external(gelu_graph(0), tmp_path / "a")
    b = save_external(gelu_graph(1), tmp_path / "b")
    assert a.read_bytes() == b.read_bytes()  # one graph, two sets of weights
    x = np.random.default_rng(2).normal(size=(3, DIM)).astype(np.float32)
    with caplog.at_level(logging.INFO, logger="dfembed"):
        assert fusion.fused_graph(a, bert_config(a.parent)) is None
        assert fusion.fused_graph(b, bert_config(b.parent)) is None
    assert caplog.text.count("external weights") == 1  # said once: the marker remembers
    assert [p.suffix for p in fused_dir.iterdir()] == [".unfused"]
    out = {}
    for name, path in (("a", a), ("b", b)):
        session = create_session(path, SessionOptions(), bert_config(path.parent))
        plain = create_session(path, SessionOptions(graph_fusion=False))
        out[name] = run(session, x)
        np.testing.assert_array_equal(out[name], run(plain, x))
    assert not np.allclose(out["a"], out["b"])
    assert graphs.has_external_data(onnx_graph.read_graph(a))  # read without its weights


def _hub_like(folder: Path, location: str) -> Path:
    """Move the files of ``folder`` (a ``models--*/snapshots/<rev>`` folder) into the
    repository's ``blobs/`` and link them back as ``../../blobs/...``, as the HF cache does."""
    blobs = folder.parent.parent / "blobs"
    blobs.mkdir()
    for name in ("model.onnx", location):
        shutil.move(folder / name, blobs / name.replace(".", "-"))
        (folder / name).symlink_to(Path("../../blobs") / name.replace(".", "-"))
    return folder / "model.onnx"


def test_fp16_reads_external_weights_behind_links(tmp_path):
    import onnxruntime as ort

    model = build_tiny_bert_onnx(vocab_size=40, dim=8)
    snapshot = tmp_path / "models--owner--tiny" / "snapshots" / "0123abcd"
    saved = save_external(model, snapshot, threshold=256)
    path = _hub_like(saved.parent, "model.onnx.data")
    assert path.is_symlink() and (path.parent / "model.onnx.data").is_symlink()
    half = ort.InferenceSession(fp16_model_bytes(path), providers=["CPUExecutionProvider"])
    full = create_session(path, SessionOptions(graph_fusion=False))
    ids = np.array([[2, 7, 9, 3, 0], [2, 11, 12, 13, 3]])
    feed = {"input_ids": ids, "attention_mask": (ids > 0).astype(np.int64),
            "token_type_ids": np.zeros_like(ids)}  # fmt: skip
    np.testing.assert_allclose(half.run(None, feed)[0], full.run(None, feed)[0], atol=5e-3)


def test_fp16_names_a_missing_weight_file(tmp_path):
    path = save_external(build_tiny_bert_onnx(vocab_size=40, dim=8), tmp_path / "m", threshold=256)
    (tmp_path / "m" / "model.onnx.data").unlink()
    with pytest.raises(ModelLoadError, match=r"weight file 'model.onnx.data'.*Download"):
        fp16_model_bytes(path)
