"""Facts about an ONNX graph that decide which rewrites (fp16, int8, fusion) may apply to
it, and loading its external weights into it for a rewrite.

What the graph declares (its external weight files, its outputs' shapes) is read by
:mod:`dfembed.models.onnx_graph`, which the model loader uses as well: ``runtime`` builds on
``models``, never the reverse.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelLoadError
from ..models.files import confined_file, read_bounded
from ..models.onnx_graph import external_tensors, weight_file_name

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


def rewrite_tools_missing(precision: str, exc: ImportError) -> ModelLoadError:
    """The error for a ``precision`` rewrite whose tools (the onnx package, ONNX Runtime's
    converters) cannot be imported."""
    verb = "quantizes" if precision == "int8" else "converts"
    return ModelLoadError(
        f"precision={precision!r} {verb} the model with the onnx package, which is missing "
        f"({exc}): pip install onnx (a dfembed dependency), or use precision='fp32'."
    )


def quantized_ops(model) -> list[str]:
    """The int8-compute operators ``model`` uses (empty for float graphs)."""
    return sorted({node.op_type for node in model.graph.node} & QUANTIZED_OPS)


def has_float32_weights(model) -> bool:
    import onnx

    return any(t.data_type == onnx.TensorProto.FLOAT for t in model.graph.initializer)


def has_external_data(model) -> bool:
    """Whether weights live in separate files; ``model`` must be read by
    :func:`~dfembed.models.onnx_graph.read_graph`."""
    return bool(external_tensors(model))


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
            path = confined_file(folder, weight_file_name(info.location, folder), what)
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
