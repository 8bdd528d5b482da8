"""``session_options={"precision": "fp16"}``: an fp32 graph converted to half precision.

fp16 is meant for GPUs, but ONNX Runtime's CPU provider runs the converted graph too, so
the conversion itself (weights, compute, float32 inputs and outputs kept) is checked here
against the fp32 file's own vectors.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from dfembed.encoders.load import get_encoder
from dfembed.errors import ModelLoadError
from dfembed.runtime.session import check_settings
from dfembed.spec import ModelSpec

FP16 = {"precision": "fp16"}
TEXTS = [
    "A quiet film about a lighthouse keeper and his daughter.",
    "Return the index of the first occurrence of value in the list.",
    "short",
    "",
]


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return (a * b).sum(axis=1)


def test_fp16_session_has_half_weights_and_float_io(minilm_fp32):
    import onnx

    encoder = get_encoder(ModelSpec(model=minilm_fp32, session_options=check_settings(FP16)))
    assert encoder.precision == "fp16"
    # the graph's own inputs (token ids) and output are what the fp32 file has
    fp32 = get_encoder(ModelSpec(model=minilm_fp32))
    assert [(i.name, i.type) for i in encoder.session.get_inputs()] == [
        (i.name, i.type) for i in fp32.session.get_inputs()
    ]
    assert [o.type for o in encoder.session.get_outputs()] == ["tensor(float)"]
    # and the converted bytes really hold fp16 weights
    from dfembed.runtime.precision import fp16_model_bytes

    model = onnx.load_from_string(fp16_model_bytes(encoder.model.onnx_path))
    kinds = {t.data_type for t in model.graph.initializer if len(t.dims) == 2}
    assert kinds == {onnx.TensorProto.FLOAT16}


def test_fp16_vectors_match_fp32(minilm_fp32):
    df = pd.DataFrame({"t": TEXTS}, index=[7, 3, 3, 1])
    half = df.embed.text("t", model=minilm_fp32, session_options=FP16)
    full = df.embed.text("t", model=minilm_fp32)
    assert half.index.equals(df.index)
    cos = _cosines(np.stack(half.to_numpy()), np.stack(full.to_numpy()))
    assert cos.min() >= 0.999, cos
    # fp16 rounding is visible: the session really ran in half precision
    assert not np.array_equal(np.stack(half.to_numpy()), np.stack(full.to_numpy()))


def test_fp16_image_model_keeps_float32_pixels(dinov2_small, tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    paths = []
    for i in range(2):
        path = tmp_path / f"{i}.png"
        Image.fromarray(rng.integers(0, 255, (40, 56, 3), dtype=np.uint8)).save(path)
        paths.append(str(path))
    df = pd.DataFrame({"img": paths})
    half = df.embed.image("img", model=dinov2_small, session_options=FP16)
    full = df.embed.image("img", model=dinov2_small)
    cos = _cosines(np.stack(half.to_numpy()), np.stack(full.to_numpy()))
    assert cos.min() >= 0.999, cos


def test_fp16_converts_int8_weights_stored_for_size(minilm_int8):
    """minilm-int8 keeps int8 weights cast back to float: its compute converts like fp32's."""
    df = pd.DataFrame({"t": TEXTS[:2]})
    half = df.embed.text("t", model=minilm_int8, session_options=FP16)
    full = df.embed.text("t", model=minilm_int8)
    assert _cosines(np.stack(half.to_numpy()), np.stack(full.to_numpy())).min() >= 0.999


def test_fp16_refuses_int8_compute(tmp_path):
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from dfembed.runtime.precision import fp16_model_bytes
    from tests.tiny_models import build_tiny_bert_onnx

    source, quantized = tmp_path / "fp32.onnx", tmp_path / "q.onnx"
    onnx.save(build_tiny_bert_onnx(vocab_size=30, dim=16), source)
    quantize_dynamic(source, quantized, weight_type=QuantType.QInt8)
    with pytest.raises(ModelLoadError, match=r"quantized \(.*MatMulInteger.*precision='fp32'"):
        fp16_model_bytes(quantized)


def test_fp16_without_onnx_says_what_to_install(minilm_fp32, monkeypatch):
    from dfembed.runtime.precision import fp16_model_bytes
    from dfembed.spec import ModelSpec as Spec

    monkeypatch.setitem(sys.modules, "onnx", None)
    path = get_encoder(Spec(model=minilm_fp32)).model.onnx_path
    with pytest.raises(ModelLoadError, match="pip install onnx"):
        fp16_model_bytes(path)


def test_fp16_on_a_damaged_file_is_a_load_error(tmp_path):
    from dfembed.runtime.precision import fp16_model_bytes

    path = tmp_path / "model.onnx"
    path.write_bytes(b"\x08\x07not a model")
    with pytest.raises(ModelLoadError, match="truncated or corrupt"):
        fp16_model_bytes(path)


def test_fp16_outputs_get_their_own_cache_namespace(minilm_fp32):
    from dfembed.encoders.text import TextOptions

    half = get_encoder(ModelSpec(model=minilm_fp32, session_options=check_settings(FP16)))
    full = get_encoder(ModelSpec(model=minilm_fp32))
    options = TextOptions()
    assert half.cache_namespace(options)[0] != full.cache_namespace(options)[0]
    assert half.cache_namespace(options)[1]["precision"] == "fp16"
    assert "precision" not in full.cache_namespace(options)[1]


def test_bad_precision_fails_at_call_time(minilm_fp32):
    with pytest.raises(ValueError, match=r"precision must be one of \['fp32', 'fp16', 'int8'\]"):
        pd.DataFrame({"t": ["x"]}).embed.text(
            "t", model=minilm_fp32, session_options={"precision": "int4"}
        )
