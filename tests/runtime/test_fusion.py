"""Transformer graph fusions: built once per model file, reused, never required."""

from __future__ import annotations

import collections
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dfembed.errors import ModelLoadError
from dfembed.runtime import fusion
from dfembed.runtime.session import SessionOptions, check_settings, create_session
from tests.runtime.test_external_weights import bert_config, gelu_graph

TEXTS = ["A quiet film about a lighthouse keeper.", "Return the first index of value.", "ok"]


@pytest.fixture
def fused_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "fused"
    monkeypatch.setenv("DFEMBED_FUSED_DIR", str(folder))
    return folder


def _ops(path: Path) -> collections.Counter:
    import onnx

    return collections.Counter(node.op_type for node in onnx.load(str(path)).graph.node)


def _run(session, ids: np.ndarray) -> np.ndarray:
    names = {i.name for i in session.get_inputs()}
    feed = {"input_ids": ids, "attention_mask": (ids > 0).astype(np.int64)}
    feed["token_type_ids"] = np.zeros_like(ids)
    return session.run(None, {k: v for k, v in feed.items() if k in names})[0]


def test_bert_graph_is_fused_once_and_gives_the_same_vectors(fused_dir, minilm_fp32):
    from dfembed.encoders.load import build_encoder
    from dfembed.spec import ModelSpec

    folder = Path(minilm_fp32)
    fused = fusion.fused_graph(folder / "model.onnx", folder / "config.json")
    assert fused is not None and fused.parent == fused_dir
    ops = _ops(fused)
    assert ops["Attention"] == 6 and ops["SkipLayerNormalization"] == 12  # 6 layers
    # padded rows of different lengths: the fused attention must honour the mask
    ids = np.array([[101, 7592, 2088, 102, 0, 0], [101, 2023, 2003, 1037, 3231, 102]])
    plain = create_session(folder / "model.onnx", SessionOptions(graph_fusion=False))
    fused_on = SessionOptions(graph_fusion=True)
    on = create_session(folder / "model.onnx", fused_on, folder / "config.json")
    np.testing.assert_allclose(_run(on, ids), _run(plain, ids), atol=1e-5)
    # later sessions load the file as it is
    stamp = fused.stat().st_mtime_ns
    build_encoder(ModelSpec(model=minilm_fp32))
    assert fused.stat().st_mtime_ns == stamp and len(list(fused_dir.glob("*.onnx"))) == 1
    df = pd.DataFrame({"t": TEXTS})
    a = df.embed.text("t", model=minilm_fp32)
    b = df.embed.text("t", model=minilm_fp32, session_options={"graph_fusion": False})
    np.testing.assert_allclose(np.stack(a.to_numpy()), np.stack(b.to_numpy()), atol=1e-5)


def test_graphs_that_are_not_bert_family_run_as_they_are(fused_dir, tmp_path, paraphrase_l3):
    folder = Path(paraphrase_l3)  # ships no config.json
    assert fusion.fused_graph(folder / "model.onnx", folder / "config.json") is None
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"model_type": "dinov2", "num_attention_heads": 6,
                                  "hidden_size": 384}))  # fmt: skip
    assert fusion.fused_graph(folder / "model.onnx", config) is None
    assert not fused_dir.exists()


def test_a_graph_that_cannot_be_fused_is_tried_once(fused_dir, minilm_fp32, monkeypatch, caplog):
    folder = Path(minilm_fp32)
    calls = []

    def broken(*args):
        calls.append(args)
        raise RuntimeError("an optimizer bug")

    monkeypatch.setattr(fusion, "_build", broken)
    with caplog.at_level(logging.INFO, logger="dfembed"):
        for _ in range(3):
            assert fusion.fused_graph(folder / "model.onnx", folder / "config.json") is None
    assert len(calls) == 1
    assert "running" in caplog.text and "an optimizer bug" in caplog.text
    assert [p.suffix for p in fused_dir.iterdir()] == [".unfused"]


def test_quantized_graphs_are_left_alone(fused_dir, tmp_path):
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from tests.tiny_models import build_tiny_bert_onnx

    source, quantized = tmp_path / "fp32.onnx", tmp_path / "q.onnx"
    onnx.save(build_tiny_bert_onnx(vocab_size=30, dim=16), source)
    quantize_dynamic(source, quantized, weight_type=QuantType.QInt8)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"model_type": "bert", "num_attention_heads": 2,
                                  "hidden_size": 16}))  # fmt: skip
    assert fusion.fused_graph(quantized, config) is None
    assert [p.suffix for p in fused_dir.iterdir()] == [".unfused"]


def test_a_damaged_fused_file_falls_back_to_the_source(fused_dir, minilm_fp32):
    folder = Path(minilm_fp32)
    fused = fusion.fused_graph(folder / "model.onnx", folder / "config.json")
    fused.write_bytes(b"\x08\x07truncated")
    on = SessionOptions(graph_fusion=True)
    session = create_session(folder / "model.onnx", on, folder / "config.json")
    assert not fused.exists()  # dropped: the next load fuses afresh
    plain = create_session(folder / "model.onnx", SessionOptions(graph_fusion=False))
    ids = np.array([[101, 7592, 2088, 102]])
    np.testing.assert_array_equal(_run(session, ids), _run(plain, ids))


def test_graph_fusion_must_be_a_bool(minilm_fp32):
    with pytest.raises(ValueError, match="graph_fusion must be True or False"):
        check_settings({"graph_fusion": "yes"})


def test_an_unwritable_fused_folder_runs_unfused_without_fusing(tmp_path, monkeypatch, caplog):
    import onnx

    path = tmp_path / "m" / "model.onnx"
    path.parent.mkdir()
    onnx.save(gelu_graph(0), str(path))
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("DFEMBED_FUSED_DIR", str(tmp_path / "a-file" / "fused"))
    calls = []
    monkeypatch.setattr(fusion, "_build", lambda *args: calls.append(args))
    with caplog.at_level(logging.INFO, logger="dfembed"):
        for _ in range(3):
            assert fusion.fused_graph(path, bert_config(path.parent)) is None
    assert calls == []  # fused graphs nobody can keep are not built, load after load
    assert caplog.text.count("graph fusion is off") == 1 and "DFEMBED_FUSED_DIR" in caplog.text


def test_a_provider_failure_keeps_the_fused_file_and_blames_no_file(
    fused_dir, tmp_path, monkeypatch
):
    import onnx
    import onnxruntime as ort

    path = tmp_path / "m" / "model.onnx"
    path.parent.mkdir()
    onnx.save(gelu_graph(0), str(path))
    fused = fusion.fused_graph(path, bert_config(path.parent))
    assert fused is not None
    provider_failure = type("EPFail", (Exception,), {})

    def failing(*args, **kwargs):
        raise provider_failure("CUDA out of memory")

    monkeypatch.setattr(ort, "InferenceSession", failing)
    with pytest.raises(ModelLoadError, match="CUDA out of memory") as caught:
        create_session(path, SessionOptions(), bert_config(path.parent))
    assert "corrupt" not in str(caught.value) and "provider" in str(caught.value)
    assert fused.exists()  # nothing was wrong with it
