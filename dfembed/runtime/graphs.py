"""Facts about an ONNX graph that decide which rewrites (fp16, fusion) may apply to it, the
external weight files it names and the output shapes it declares.

A graph over protobuf's 2 GB limit (and any graph torch's newer exporter writes) keeps its
weights in separate files that only the graph names, under any name (``model.onnx_data``,
``model.onnx.data``, one file per tensor, ...). The graph is always read here with
``load_external_data=False``: loading the weights would fold them into the graph and clear
every sign that they were external.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelLoadError
from ..models.files import confined_file, read_bounded, relative_name

#: Operators of graphs that compute in int8: their float inputs must stay float32.
QUANTIZED_OPS = frozenset(
    {
        "DynamicQuantizeLinear",
        "QuantizeLinear",
        "DequantizeLinear",
        "MatMulInteger",
        "QLinearMatMul",
        "DynamicQuantizeMatMul",
        "MatMulIntegerToFloat",
        "MatMulNBits",
    }
)


def quantized_ops(model) -> list[str]:
    """The int8-compute operators ``model`` uses (empty for float graphs)."""
    return sorted({node.op_type for node in model.graph.node} & QUANTIZED_OPS)


def has_float32_weights(model) -> bool:
    import onnx

    return any(t.data_type == onnx.TensorProto.FLOAT for t in model.graph.initializer)


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


def has_external_data(model) -> bool:
    """Whether weights live in separate files; ``model`` must be read by :func:`read_graph`."""
    return bool(external_tensors(model))


def external_data_files(path: Path) -> list[str]:
    """The external weight files the graph at ``path`` names, relative to its folder.

    Raises
    ------
    ModelLoadError
        The graph cannot be read, or names a file outside its folder.
    """
    locations = _summary(path).locations
    return sorted({_inside(location, str(path)) for location in locations})


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


def _inside(location: str, graph: object) -> str:
    """``location`` as a relative POSIX path, refused when it leaves the graph's folder."""
    try:
        return relative_name(location, f"The ONNX graph {graph}: weight file")
    except ModelLoadError as exc:
        raise ModelLoadError(
            f"{exc} Re-export the model with its weights saved beside the graph."
        ) from None


def load_external_weights(model, folder: Path) -> None:
    """Read the external weights of ``model`` (a graph in ``folder``) into the graph itself.

    Each file must be a regular file inside the model's folder (for a Hugging Face cache
    snapshot, whose files link to its blobs: inside that repository's cache folder), as
    ONNX Runtime requires of the fp32 graph; ``onnx``'s own loader refuses any link. Each
    read stops at the length the graph declares and at the end of the file.

    Raises
    ------
    ModelLoadError
        A weight file is missing, outside the model folder, not a regular file, or
        shorter than the graph says.
    """
    import onnx
    from onnx.external_data_helper import ExternalDataInfo

    for tensor in external_tensors(model):
        info = ExternalDataInfo(tensor)
        what = "The ONNX graph's weight file"
        try:
            path = confined_file(folder, _inside(info.location, folder), what)
            if path is None:
                raise FileNotFoundError("no such file")
            data = read_bounded(path, what, info.offset or 0, info.length)
        except OSError as exc:
            raise ModelLoadError(_missing_weights(folder, info.location, exc)) from exc
        tensor.raw_data = data
        tensor.data_location = onnx.TensorProto.DEFAULT
        del tensor.external_data[:]


def _missing_weights(folder: Path, location: str, why: object) -> str:
    return (
        f"Could not read the weight file {location!r} of the ONNX graph in {folder} ({why}). "
        "Download the model again (delete its cache folder first) or copy the whole folder."
    )


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
