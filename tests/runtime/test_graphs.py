"""Facts read from an ONNX graph without its weights: :mod:`dfembed.runtime.graphs`."""

from __future__ import annotations

import numpy as np
import pytest

from dfembed.errors import ModelLoadError
from dfembed.models import onnx_graph
from dfembed.runtime import graphs
from tests.runtime.test_external_weights import gelu_graph, save_external

onnx = pytest.importorskip("onnx")


def _save(model, path):
    onnx.save(model, str(path))
    return path


def test_quantized_ops_and_float32_weights_are_read_from_the_graph():
    from onnx import helper

    model = gelu_graph(0)
    assert graphs.quantized_ops(model) == [] and graphs.has_float32_weights(model)
    model.graph.node.append(helper.make_node("MatMulInteger", ["a", "b"], ["c"]))
    model.graph.node.append(helper.make_node("DynamicQuantizeLinear", ["x"], ["q", "s", "z"]))
    assert graphs.quantized_ops(model) == ["DynamicQuantizeLinear", "MatMulInteger"]


def test_a_truncated_graph_is_a_model_load_error(tmp_path):
    path = _save(gelu_graph(0), tmp_path / "g.onnx")
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(ModelLoadError, match="Could not read the ONNX graph .* truncated"):
        onnx_graph.read_graph(path)


def test_external_weights_are_read_back_into_the_graph(tmp_path):
    path = save_external(gelu_graph(3), tmp_path / "m")
    model = onnx_graph.read_graph(path)
    assert graphs.has_external_data(model)
    graphs.load_external_weights(model, path.parent)
    assert not graphs.has_external_data(model)
    weights = onnx.numpy_helper.to_array(model.graph.initializer[0])
    expected = onnx.numpy_helper.to_array(onnx.load(str(path)).graph.initializer[0])
    np.testing.assert_array_equal(weights, expected)


def test_a_missing_or_short_weight_file_is_named(tmp_path):
    path = save_external(gelu_graph(3), tmp_path / "m")
    data = path.parent / "model.onnx.data"
    data.write_bytes(data.read_bytes()[:8])
    with pytest.raises(ModelLoadError, match=r"model.onnx.data holds 8 bytes, but bytes 0 to 64"):
        graphs.load_external_weights(onnx_graph.read_graph(path), path.parent)
    data.unlink()
    with pytest.raises(ModelLoadError, match="weight file 'model.onnx.data' .* Download"):
        graphs.load_external_weights(onnx_graph.read_graph(path), path.parent)


def test_external_data_files_are_read_from_the_graph(tmp_path):
    (tmp_path / "m" / "weights").mkdir(parents=True)
    path = save_external(gelu_graph(0), tmp_path / "m", location="weights/all.bin")
    assert onnx_graph.external_data_files(path) == ["weights/all.bin"]
    model = onnx.load(str(path), load_external_data=False)
    for entry in model.graph.initializer[0].external_data:
        if entry.key == "location":
            entry.value = "../elsewhere.bin"
    onnx.save(model, str(path))
    with pytest.raises(ModelLoadError, match=r"weight file .*\.\./elsewhere.bin.*goes up"):
        onnx_graph.external_data_files(path)


@pytest.mark.parametrize("precision", ["fp16", "int8"])
def test_a_rewrite_without_the_onnx_package_says_what_to_install(precision, tmp_path, monkeypatch):
    import sys

    from dfembed.runtime import precision as fp16
    from dfembed.runtime import quantize

    path = _save(gelu_graph(0), tmp_path / "g.onnx")
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    rewrite = fp16.fp16_model_bytes if precision == "fp16" else quantize.quantize
    args = (path,) if precision == "fp16" else (path, tmp_path / "out.onnx")
    with pytest.raises(ModelLoadError, match=rf"precision='{precision}' .*pip install onnx"):
        rewrite(*args)
