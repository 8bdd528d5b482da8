"""Which graph a session loads: the model's file, its fp16 or int8 conversion, or its fused copy."""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelLoadError
from .fusion import fused_graph
from .fusion_choice import prefer_fused
from .precision import fp16_model_bytes
from .quantize import int8_graph


def graph_source(
    path: Path, precision: str, fusion: bool | None, config: Path | None, cuda: bool, threads: int
) -> tuple[str | bytes, Path | None]:
    """What to hand ``InferenceSession`` for the model file ``path``, and the rewritten file
    it is when it is one kept on disk (``None`` for ``path`` itself or converted bytes).

    Parameters
    ----------
    precision
        ``"fp32"`` (the file, fused or not), ``"fp16"`` (converted in memory) or ``"int8"``
        (quantized once, kept on disk; CPU only).
    fusion
        ``True``/``False`` force the fused or the model's own graph; ``None`` lets a
        measurement on this machine decide (:mod:`.fusion_choice`), except on CUDA, where
        the fused graph is used.
    cuda
        Whether the session is meant to run on CUDA.
    threads
        The session's ``intra_op_num_threads``: the fusion measurement runs with as many.

    Raises
    ------
    ModelLoadError
        A conversion the graph cannot take (see :func:`.precision.fp16_model_bytes` and
        :func:`.quantize.int8_graph`), or ``precision="int8"`` on CUDA.
    """
    if precision == "fp16":
        return fp16_model_bytes(path), None
    if precision == "int8":
        if cuda:
            raise ModelLoadError(
                "precision='int8' runs ONNX Runtime's CPU int8 kernels; on a GPU use "
                "precision='fp16', or run int8 with cuda=False."
            )
        int8 = int8_graph(path)
        return (int8, None) if isinstance(int8, bytes) else (str(int8), int8)
    fused = fused_graph(path, config) if fusion is not False else None
    if fused is None or config is None:
        return str(path), None
    if fusion is True or cuda or prefer_fused(path, fused, config, threads):
        return str(fused), fused
    return str(path), None
