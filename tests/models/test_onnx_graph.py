"""What a graph declares, read without building a session: output shapes, weight files."""

from __future__ import annotations

from dfembed.models import onnx_graph
from tests.runtime.test_external_weights import gelu_graph
from tests.runtime.test_graphs import _save


def test_output_shapes_give_none_for_symbolic_sizes(tmp_path):
    path = _save(gelu_graph(0), tmp_path / "g.onnx")
    assert onnx_graph.output_shapes(path) == {"y": (None, 4)}
    assert onnx_graph.external_data_files(path) == []  # weights inside the graph
