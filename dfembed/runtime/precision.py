"""Half precision: an fp32 ONNX graph turned into fp16 for a session, in memory.

GPUs run fp16 matrix products on tensor cores, several times the fp32 rate, and the weights
take half the memory. The conversion keeps the graph's inputs and outputs in float32
(``keep_io_types``), so callers feed and read exactly what the fp32 graph takes and gives.
It happens once per session, when a worker loads the model (about a second for a 90 MB
graph), and nothing is written to disk: the model's files stay as the hub gave them. Weights
kept in external files are read into the converted graph, which must then fit protobuf's
2 GB limit.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelLoadError
from ..models.onnx_graph import read_graph
from .graphs import (
    has_float32_weights,
    load_external_weights,
    quantized_ops,
    rewrite_tools_missing,
)

#: Every ``precision`` a session takes (int8: :mod:`dfembed.runtime.quantize`).
PRECISIONS = ("fp32", "fp16", "int8")

#: Inputs, by position, that take a shape, size, index or scale rather than activations.
_SHAPE_INPUTS = {
    "Resize": (1, 2, 3),
    "Upsample": (1,),
    "Reshape": (1,),
    "Expand": (1,),
    "Tile": (1,),
    "Slice": (1, 2, 3, 4),
    "Pad": (1,),
    "ConstantOfShape": (0,),
    "Range": (0, 1, 2),
    "TopK": (1,),
}
#: Protobuf cannot hold a serialized model over 2 GiB in one message.
_PROTOBUF_LIMIT = 2**31 - 1


def fp16_model_bytes(path: Path) -> bytes:
    """The fp32 model at ``path`` converted to fp16 weights and compute, serialized.

    Raises
    ------
    ModelLoadError
        ``onnx`` is not installed, the graph or its weight files cannot be read, it is
        already fp16 or quantized, or it is too large to convert in memory.
    """
    try:
        import onnx  # noqa: F401 - read_graph needs it: said here, with what to install
        from onnxruntime.transformers.float16 import convert_float_to_float16
    except ImportError as exc:
        raise rewrite_tools_missing("fp16", exc) from exc
    model = read_graph(path)  # weights later: the refusals below need only the graph
    quantized = quantized_ops(model)
    if quantized or not has_float32_weights(model):
        what = f"quantized ({', '.join(quantized)})" if quantized else "already fp16"
        raise ModelLoadError(
            f"{path} is {what}: only float32 graphs are converted to fp16. Use "
            "precision='fp32', which runs the file as it is, or the model's fp32 file."
        )
    load_external_weights(model, path.parent)
    converted = convert_float_to_float16(
        model, keep_io_types=True, node_block_list=shape_arithmetic(model)
    )
    if converted.ByteSize() > _PROTOBUF_LIMIT:  # pragma: no cover - needs a > 4 GB fp32 model
        raise ModelLoadError(
            f"{path} is too large to convert to fp16 in memory (over 2 GB in fp16): use a "
            "model repository that ships an fp16 ONNX file, or precision='fp32'."
        )
    return converted.SerializeToString()


def shape_arithmetic(model) -> list[str]:
    """Names of the nodes that compute shapes, sizes or indices rather than activations.

    They stay in float32: exported graphs often compute a size in floating point (DINOv2's
    position-embedding interpolation divides the image size by the patch size), and fp16's
    11-bit mantissa can round it to another integer, which breaks the run. Found by walking
    back from every input that takes a shape, size, index or scale, stopping at ``Shape``
    and ``Size`` nodes (whose outputs do not depend on their input's values).
    """
    producers = {out: node for node in model.graph.node for out in node.output}
    todo = [
        node.input[i]
        for node in model.graph.node
        for i in _SHAPE_INPUTS.get(node.op_type, ())
        if i < len(node.input) and node.input[i]
    ]
    seen: set[int] = set()
    names: list[str] = []
    while todo:
        node = producers.get(todo.pop())
        if node is None or id(node) in seen or node.op_type in ("Shape", "Size"):
            continue
        seen.add(id(node))
        names.append(node.name)
        todo.extend(name for name in node.input if name)
    return names
