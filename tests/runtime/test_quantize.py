"""``session_options={"precision": "int8"}``: any fp32 graph quantized at load, kept, reused."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dfembed
from dfembed.encoders.load import build_encoder, clear_cache
from dfembed.errors import ModelLoadError
from dfembed.runtime import quantize
from dfembed.runtime.rewrites import graph_source
from dfembed.runtime.session import SessionOptions, check_settings, create_session
from dfembed.spec import ModelSpec

onnx = pytest.importorskip("onnx", reason="int8 conversion needs the onnx package")

INT8 = {"precision": "int8"}
TEXTS = [
    "A quiet film about a lighthouse keeper and his daughter.",
    "Return the index of the first occurrence of value in the list.",
    "Stock markets fell sharply on Tuesday after the announcement.",
    "The committee will publish its final report on water quality next spring.",
]


@pytest.fixture
def store(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "store"
    monkeypatch.setenv("DFEMBED_FUSED_DIR", str(folder))
    clear_cache()  # encoders loaded with another store would be reused otherwise
    yield folder
    clear_cache()


def _int8_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*-int8-*.onnx"))


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return np.einsum("ij,ij->i", a, b)


def test_int8_vectors_agree_with_fp32_and_compute_in_int8(store, minilm_fp32):
    df = pd.DataFrame({"t": TEXTS}, index=[9, 2, 2, 5])
    int8 = df.embed.text("t", model=minilm_fp32, session_options=INT8)
    fp32 = df.embed.text("t", model=minilm_fp32, session_options={"graph_fusion": False})
    assert int8.index.equals(df.index)
    a, b = dfembed.to_numpy(int8), dfembed.to_numpy(fp32)
    cos = _cos(a, b)
    assert cos.min() >= 0.985 and cos.mean() >= 0.99, cos
    assert np.abs(a - b).max() > 1e-4  # it really ran another graph
    (made,) = _int8_files(store)
    ops = quantize.int8_op_counts(onnx.load(str(made)))
    assert ops.get("MatMulInteger", 0) == 36  # 6 layers x (Q, K, V, out, 2 FFN)
    kinds = {t.data_type for t in onnx.load(str(made)).graph.initializer if len(t.dims) == 2}
    assert onnx.TensorProto.INT8 in kinds


def test_the_int8_file_is_written_once_and_reused(store, minilm_fp32, monkeypatch, caplog):
    spec = ModelSpec(model=minilm_fp32, session_options=check_settings(INT8))
    with caplog.at_level(logging.INFO, logger="dfembed"):
        first = build_encoder(spec)
    assert "quantized" in caplog.text and "to int8 in" in caplog.text
    (made,) = _int8_files(store)
    stamp = made.stat().st_mtime_ns

    def no_second_conversion(*args, **kwargs):
        pytest.fail("quantized again")

    monkeypatch.setattr(quantize, "quantize", no_second_conversion)
    second = build_encoder(spec)
    assert made.stat().st_mtime_ns == stamp and _int8_files(store) == [made]
    assert first.precision == second.precision == "int8"
    ids = {"input_ids": np.array([[101, 7592, 2088, 102]]), "attention_mask": np.ones((1, 4))}
    ids = {k: v.astype(np.int64) for k, v in ids.items()}
    ids["token_type_ids"] = np.zeros((1, 4), np.int64)
    np.testing.assert_array_equal(first.session.run(None, ids)[0], second.session.run(None, ids)[0])


def test_a_damaged_int8_file_is_made_again(store, minilm_fp32):
    path = Path(minilm_fp32) / "model.onnx"
    made = quantize.int8_graph(path)
    good = made.read_bytes()
    made.write_bytes(b"\x08\x07truncated")
    session = create_session(path, SessionOptions(precision="int8"))
    assert made.read_bytes() == good  # rebuilt: quantization is deterministic
    assert session.get_outputs()[0].name == "last_hidden_state"


def test_an_unwritable_store_quantizes_in_memory(tmp_path, monkeypatch, minilm_fp32, caplog):
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("DFEMBED_FUSED_DIR", str(tmp_path / "a-file" / "store"))
    path = Path(minilm_fp32) / "model.onnx"
    with caplog.at_level(logging.INFO, logger="dfembed"):
        source, kept = graph_source(path, "int8", None, None, cuda=False, threads=1)
    assert isinstance(source, bytes) and kept is None
    assert "quantized again on every load" in caplog.text
    model = onnx.load_from_string(source)
    assert quantize.int8_op_counts(model)


def test_int8_gets_its_own_cache_namespace(store, paraphrase_l3):
    from dfembed.encoders.text import TextOptions

    int8 = build_encoder(ModelSpec(model=paraphrase_l3, session_options=check_settings(INT8)))
    fp32 = build_encoder(ModelSpec(model=paraphrase_l3))
    options = TextOptions()
    assert int8.cache_namespace(options)[0] != fp32.cache_namespace(options)[0]
    assert int8.cache_namespace(options)[1]["precision"] == "int8"


def test_sparse_models_take_int8_too(store, splade_tiny):
    df = pd.DataFrame({"t": TEXTS})
    int8 = dfembed.to_scipy(df.embed.sparse("t", model=splade_tiny, session_options=INT8))
    fp32 = dfembed.to_scipy(df.embed.sparse("t", model=splade_tiny))
    dim = max(int8.shape[1], fp32.shape[1])
    int8.resize((len(TEXTS), dim))
    fp32.resize((len(TEXTS), dim))
    a, b = int8.toarray(), fp32.toarray()
    assert _cos(a, b).min() >= 0.95
    for row_a, row_b in zip(a, b, strict=True):  # the strongest terms stay the strongest
        top = set(np.argsort(-row_b)[:5])
        assert len(top & set(np.argsort(-row_a)[:10])) >= 4


# --------------------------------------------------------------------------- refusals


def _tiny(tmp_path: Path) -> Path:
    from tests.tiny_models import build_tiny_bert_onnx

    path = tmp_path / "fp32.onnx"
    onnx.save(build_tiny_bert_onnx(vocab_size=30, dim=16), str(path))
    return path


def test_an_already_quantized_graph_is_refused(store, tmp_path):
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantized = tmp_path / "q.onnx"
    quantize_dynamic(_tiny(tmp_path), quantized, weight_type=QuantType.QInt8)
    with pytest.raises(ModelLoadError, match=r"already quantized \(.*MatMulInteger.*'fp32'"):
        quantize.int8_graph(quantized)
    assert not _int8_files(store)


def test_the_int8_weight_file_of_minilm_is_refused(store, minilm_int8):
    """int8 weights cast back to float (minilm-int8, Cast + Mul): already quantized."""
    with pytest.raises(ModelLoadError, match=r"already quantized \(int8 weights\)"):
        create_session(Path(minilm_int8) / "model.onnx", SessionOptions(precision="int8"))


def _one_node(tmp_path: Path, op: str, weight: np.ndarray, dtype: int) -> Path:
    from onnx import helper, numpy_helper

    io = [helper.make_tensor_value_info(n, dtype, ["n", weight.shape[-1]]) for n in "xy"]
    node = helper.make_node(op, ["x", "w"], ["y"])
    graph = helper.make_graph([node], op, [io[0]], [io[1]], [numpy_helper.from_array(weight, "w")])
    return _save(graph, tmp_path / f"{op}.onnx")


def _save(graph, path: Path) -> Path:
    from onnx import helper

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9  # what this onnxruntime reads
    onnx.save(model, str(path))
    return path


def test_an_fp16_graph_is_refused(store, tmp_path):
    path = _one_node(tmp_path, "MatMul", np.eye(4, dtype=np.float16), onnx.TensorProto.FLOAT16)
    with pytest.raises(ModelLoadError, match=r"holds float16 weights: .*'fp32'"):
        quantize.int8_graph(path)


def test_a_graph_without_weight_products_is_refused(store, tmp_path):
    path = _one_node(tmp_path, "Add", np.ones((4,), np.float32), onnx.TensorProto.FLOAT)
    with pytest.raises(ModelLoadError, match="no MatMul or Gemm by a weight matrix"):
        quantize.int8_graph(path)


def test_int8_is_refused_on_cuda(store, minilm_fp32):
    path = Path(minilm_fp32) / "model.onnx"
    with pytest.raises(ModelLoadError, match="CPU int8 kernels; on a GPU use precision='fp16'"):
        graph_source(path, "int8", None, None, cuda=True, threads=1)


def test_gemm_layers_are_rewritten_and_quantized(store, tmp_path):
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w = rng.normal(size=(32, 64)).astype(np.float32)  # (out, in): transB=1, as torch writes
    c = rng.normal(size=(32,)).astype(np.float32)
    node = helper.make_node("Gemm", ["x", "w", "c"], ["y"], alpha=0.5, beta=2.0, transB=1)
    graph = helper.make_graph(
        [node],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 32])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(c, "c")],
    )
    made = quantize.int8_graph(_save(graph, tmp_path / "gemm.onnx"))
    assert quantize.int8_op_counts(onnx.load(str(made))) == {"MatMulInteger": 1}
    x = rng.normal(size=(5, 64)).astype(np.float32)
    got = ort.InferenceSession(str(made), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    want = 0.5 * x @ w.T + 2.0 * c
    assert np.abs(got[0] - want).max() < 0.05 * np.abs(want).max()


# --------------------------------------------------------------------------- Dask


@pytest.mark.slow
def test_int8_on_a_dask_worker(store, tmp_path, minilm_fp32):
    """The worker quantizes into the shared store; in process, the file is then reused."""
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    df = pd.DataFrame({"t": TEXTS * 3}, index=np.arange(12)[::-1])
    options = {"model": minilm_fp32, "session_options": INT8}
    with (
        LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
            local_directory=str(tmp_path / "dask"),
        ) as cluster,
        Client(cluster) as client,
    ):
        remote = dd.from_pandas(df, npartitions=1, sort=False).embed.text("t", **options).compute()
        assert (dfembed.devices(client)["precision"] == "int8").all()
    (made,) = _int8_files(store)
    stamp = made.stat().st_mtime_ns
    local = df.embed.text("t", **options)
    assert made.stat().st_mtime_ns == stamp
    assert remote.index.equals(df.index)
    np.testing.assert_allclose(dfembed.to_numpy(remote), dfembed.to_numpy(local), atol=1e-6)


@pytest.mark.parametrize(
    ("machine", "flags", "reduce_range"),
    [
        ("x86_64", ["avx2", "fma"], True),  # AVX2 pairs of 8-bit products saturate in 16 bits
        ("x86_64", ["avx2", "avx512f", "avx512_vnni"], False),
        ("x86_64", ["avx2", "avx_vnni"], False),
        ("aarch64", ["asimd"], False),
    ],
)
def test_weights_keep_to_7_bits_without_an_int8_dot_product(
    monkeypatch, machine, flags, reduce_range
):
    from dfembed.runtime import cpu

    monkeypatch.setattr(cpu.platform, "machine", lambda: machine)
    monkeypatch.setattr(quantize, "int8_dot_products", lambda: [f for f in flags if "vnni" in f])
    assert quantize.resolve_settings()["reduce_range"] is reduce_range
    assert quantize.resolve_settings({"reduce_range": False})["reduce_range"] is False


def test_products_fed_outlier_features_stay_float32(store, tmp_path):
    """Two products by weights. The second's input holds, for one token, one value 300x the
    others: 8 bits over that tensor's range round most of it away (relative error 0.15), so
    it stays float32; the first is quantized."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(1)
    wide = rng.normal(size=(50, 1024))
    wide[49, 3] = 300.0  # token 49: an outlier feature (random ids hit it ~1 in 25)
    weights = {
        "narrow": rng.normal(size=(50, 16)),
        "w1": rng.normal(size=(16, 8)),
        "wide": wide,
        "w2": rng.normal(size=(1024, 8)) / 32,
    }
    nodes = [
        helper.make_node("Gather", ["narrow", "input_ids"], ["a"]),
        helper.make_node("MatMul", ["a", "w1"], ["y1"], name="plain"),
        helper.make_node("Gather", ["wide", "input_ids"], ["b"]),
        helper.make_node("MatMul", ["b", "w2"], ["y2"], name="outlier"),
        helper.make_node("Add", ["y1", "y2"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "outliers",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["b", "t"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", "t", 8])],
        [numpy_helper.from_array(v.astype(np.float32), k) for k, v in weights.items()],
    )
    path = _save(graph, tmp_path / "outliers.onnx")
    assert quantize.outlier_products(onnx.load(str(path)), 0.12) == ["outlier"]
    made = onnx.load(str(quantize.int8_graph(path)))
    assert quantize.int8_op_counts(made) == {"MatMulInteger": 1}
    assert [n.name for n in made.graph.node if n.op_type == "MatMul"] == ["outlier"]
    ids = rng.integers(25, 50, (4, 7))
    ids[0, 0] = 49
    fp32 = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    int8 = ort.InferenceSession(made.SerializeToString(), providers=["CPUExecutionProvider"])
    want, got = (s.run(None, {"input_ids": ids})[0] for s in (fp32, int8))
    assert _cos(got.reshape(-1, 8), want.reshape(-1, 8)).min() > 0.99
