"""A folder that does not say its vectors' width gets it from its ONNX graph.

Before, a folder with only ``model.onnx`` and ``tokenizer.json`` (which the README allows)
got ``dim=0``: an all-missing column failed in pyarrow ("list_size needs to be a strict
positive integer") and Dask's meta was a zero-width column.
"""

from __future__ import annotations

import json
from pathlib import Path

import dask.dataframe as dd
import onnx
import pandas as pd
import pytest
from onnx import TensorProto, helper

import dfembed
from dfembed import ModelLoadError, ModelSpec
from dfembed.columns import dense_type
from dfembed.encoders import load
from dfembed.models import onnx_graph
from dfembed.models.descriptor import with_graph_width
from dfembed.models.registry import ModelInfo
from dfembed.models.resolve import resolve
from tests.tiny_models import bare_folder, build_tiny_text_model


def _graph(path: Path, outputs: dict[str, list]) -> Path:
    """A graph declaring ``outputs`` (name: shape; str entries are symbolic), never run."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])
    values = [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs.items()]
    nodes = [helper.make_node("Identity", ["x"], [name]) for name in outputs]
    model = helper.make_model(helper.make_graph(nodes, "g", [x], values))
    onnx.save(model, str(path))
    return path


def test_a_bare_folder_reads_its_width_from_the_graph(minilm_fp32, tmp_path):
    folder = bare_folder(minilm_fp32, tmp_path / "bare")
    assert resolve(ModelSpec(folder)).info.dim == 384
    try:
        missing = pd.Series([None, None], index=[7, 3]).embed.text(model=folder)
        empty = pd.Series([], dtype=object).embed.text(model=folder)
        lazy = dd.from_pandas(pd.DataFrame({"t": ["a", None]}), npartitions=1)
        meta = lazy.embed.text("t", model=folder)._meta
    finally:
        load.clear_cache()
    expected = dense_type(384)
    assert missing.dtype == empty.dtype == meta.dtype == expected
    assert missing.isna().all() and missing.index.tolist() == [7, 3] and len(empty) == 0


def test_the_width_is_that_of_the_output_the_encoder_reads(tmp_path):
    path = _graph(
        tmp_path / "g.onnx",
        {"pooled": ["batch", 16], "last_hidden_state": ["batch", "tokens", 8]},
    )
    text = ModelInfo(name="m")
    assert with_graph_width(text, path).dim == 8  # token vectors, pooled by dfembed
    assert with_graph_width(ModelInfo(name="m", output_name="pooled"), path).dim == 16
    image = ModelInfo(name="m", kind="image", pooling="none")
    assert with_graph_width(image, path).dim == 16  # pooled image exports: first output
    said = ModelInfo(name="m", dim=5)
    assert with_graph_width(said, path) is said  # dfembed.json / configs win
    for kind in ("sparse", "rerank"):  # no fixed-width vectors: no width needed
        assert with_graph_width(ModelInfo(name="m", kind=kind), path).dim == 0


def test_a_symbolic_width_asks_for_dim_at_resolve_time(tmp_path):
    folder = build_tiny_text_model(tmp_path / "tiny", onnx_file="model.onnx")
    (folder / "config.json").unlink()  # else its hidden_size says the width
    model = onnx.load(str(folder / "model.onnx"))
    model.graph.output[0].type.tensor_type.shape.dim[2].dim_param = "hidden"
    onnx.save(model, str(folder / "model.onnx"))
    with pytest.raises(ModelLoadError) as caught:
        resolve(ModelSpec(str(folder)))
    message = str(caught.value)
    assert '"dim"' in message and str(folder / "dfembed.json") in message
    (folder / "dfembed.json").write_text(json.dumps({"dim": 8}))
    try:
        out = pd.Series(["the cat", None]).embed.text(model=str(folder))
    finally:
        load.clear_cache()
    assert dfembed.to_numpy(out).shape == (2, 8)


def test_a_missing_output_name_is_named(tmp_path):
    path = _graph(tmp_path / "g.onnx", {"y": ["batch", 4]})
    with pytest.raises(ModelLoadError, match=r'no output "z".*\[\'y\'\].*output_name'):
        with_graph_width(ModelInfo(name="m", output_name="z"), path)


def test_the_graph_is_parsed_once_for_weights_and_width(tmp_path, monkeypatch):
    path = _graph(tmp_path / "g.onnx", {"y": ["batch", 4]})
    calls = []
    read = onnx_graph.read_graph
    monkeypatch.setattr(onnx_graph, "read_graph", lambda p: calls.append(p) or read(p))
    assert onnx_graph.external_data_files(path) == []
    assert with_graph_width(ModelInfo(name="m"), path).dim == 4
    assert onnx_graph.output_shapes(path) == {"y": (None, 4)}
    assert len(calls) == 1
