"""What a model's ONNX graph declares, read without its weights: the external weight files
it names and the shape of each output.

A graph over protobuf's 2 GB limit (and any graph torch's newer exporter writes) keeps its
weights in separate files that only the graph names, under any name (``model.onnx_data``,
``model.onnx.data``, one file per tensor, ...). The model's files to fetch, fingerprint and
verify, and the width of its vectors, come from here; the graph is always read with
``load_external_data=False`` (loading the weights would fold them into the graph and clear
every sign that they were external). The rewrites that run a graph
(:mod:`dfembed.runtime.graphs`) read it through here too.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelLoadError
from .files import relative_name


def read_graph(path: Path):
    """The ``onnx.ModelProto`` at ``path`` without its external weights (cheap for any size).

    Raises
    ------
    ModelLoadError
        The file is missing, truncated or not an ONNX model.
    """
    import onnx

    try:
        return onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf's DecodeError, a missing or truncated file
        raise ModelLoadError(
            f"Could not read the ONNX graph {path}: {exc}. The file may be truncated or "
            "corrupt: delete it (or the model's cache folder) and download it again."
        ) from exc


def external_tensors(model) -> list:
    """The tensors of ``model`` whose bytes live in external files (subgraphs included)."""
    import onnx

    return [t for t in _tensors(model.graph) if t.data_location == onnx.TensorProto.EXTERNAL]


def external_data_files(path: Path) -> list[str]:
    """The external weight files the graph at ``path`` names, relative to its folder.

    Raises
    ------
    ModelLoadError
        The graph cannot be read, or names a file outside its folder.
    """
    locations = _summary(path).locations
    return sorted({weight_file_name(location, str(path)) for location in locations})


def output_shapes(path: Path) -> dict[str, tuple[int | None, ...] | None]:
    """The shape each output of the graph at ``path`` declares, by name, in graph order.

    A dimension is ``None`` where it is symbolic (``batch``, ``sequence``) or unnamed; a
    shape is ``None`` where the graph declares none. Read without the weights.

    Raises
    ------
    ModelLoadError
        The graph cannot be read.
    """
    return dict(_summary(path).outputs)


@dataclass(frozen=True)
class _Summary:
    """What the model loader asks of a graph: its external weight files and output shapes."""

    locations: tuple[str, ...]
    outputs: tuple[tuple[str, tuple[int | None, ...] | None], ...]


def _summary(path: Path) -> _Summary:
    stat = path.stat()
    return _summarize(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=32)
def _summarize(real: str, size: int, mtime_ns: int) -> _Summary:
    """Memoized by the file's identity: the hub download, the fingerprint and the model's
    width all ask, and parsing a graph with its weights inside takes a while."""
    from onnx.external_data_helper import ExternalDataInfo

    model = read_graph(Path(real))
    locations = {ExternalDataInfo(t).location for t in external_tensors(model)}
    outputs = tuple((o.name, _declared_shape(o)) for o in model.graph.output)
    return _Summary(locations=tuple(sorted(locations)), outputs=outputs)


def _declared_shape(value_info) -> tuple[int | None, ...] | None:
    """The shape a graph output declares: a size per dimension, ``None`` where symbolic."""
    tensor = value_info.type.tensor_type
    if not tensor.HasField("shape"):
        return None
    return tuple(d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim)


def weight_file_name(location: str, graph: object) -> str:
    """``location`` as a relative POSIX path, refused when it leaves the graph's folder."""
    try:
        return relative_name(location, f"The ONNX graph {graph}: weight file")
    except ModelLoadError as exc:
        raise ModelLoadError(
            f"{exc} Re-export the model with its weights saved beside the graph."
        ) from None


def _tensors(graph) -> Iterator:
    """Every tensor of ``graph``: initializers, and constants in node attributes and subgraphs."""
    yield from graph.initializer
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("t"):
                yield attribute.t
            yield from attribute.tensors
            if attribute.HasField("g"):
                yield from _tensors(attribute.g)
            for subgraph in attribute.graphs:
                yield from _tensors(subgraph)
