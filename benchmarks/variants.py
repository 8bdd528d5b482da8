"""Variants of the fp32 MiniLM folder that the speed issue's "means" would use.

``dynamic_int8``: a dynamically quantized (int8 compute) copy. ``fused_fp32``: the same fp32
weights with ONNX Runtime's transformer fusions (Attention, SkipLayerNormalization,
BiasGelu) applied offline. dfembed loads either like any local folder.

The registry's ``minilm-int8`` stores int8 *weights* that the graph casts back to float32
before every MatMul (Cast + Mul + fp32 MatMul): it saves disk, not compute. ONNX Runtime's
dynamic quantization instead rewrites each MatMul into ``DynamicQuantizeLinear`` +
``MatMulInteger`` (int8 weights, uint8 activations quantized per batch), which runs on the
CPU's int8 dot-product instructions (AVX-512 VNNI / AVX-VNNI where present).

Folders are built once under ``$DFEMBED_ASSETS/bench/`` next to the other offline models.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path


def _variant(fp32_dir: str | Path, suffix: str, note: str, convert) -> Path:
    """Copy ``fp32_dir`` with ``convert(src_onnx, dest_onnx)`` applied to its model (once)."""
    from tools.offline_models import assets_root, staged_folder

    src = Path(fp32_dir)
    dest = assets_root() / "bench" / f"{src.name}-{suffix}"
    if (dest / "dfembed.json").is_file():
        return dest
    with staged_folder(dest) as tmp:
        for path in src.iterdir():
            if path.is_file() and path.name not in ("model.onnx", "dfembed.json"):
                shutil.copy2(path, tmp / path.name)
        convert(str(src / "model.onnx"), str(tmp / "model.onnx"))
        meta = json.loads((src / "dfembed.json").read_text())
        meta.update(
            name=dest.name,
            variant=note,
            files={p.name: p.stat().st_size for p in sorted(tmp.iterdir()) if p.is_file()},
        )
        meta.pop("export", None)
        (tmp / "dfembed.json").write_text(json.dumps(meta, indent=2) + "\n")
    return dest


def dynamic_int8(fp32_dir: str | Path) -> Path:
    """``fp32_dir``'s model dynamically quantized: QInt8 weights per channel, int8 MatMuls."""

    def convert(src: str, dest: str) -> None:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(src, dest, weight_type=QuantType.QInt8, per_channel=True)

    return _variant(fp32_dir, "dynq8", "onnxruntime quantize_dynamic, QInt8 per channel", convert)


def fused_fp32(fp32_dir: str | Path) -> Path:
    """``fp32_dir``'s model with ONNX Runtime's BERT fusions applied (weights unchanged)."""

    def convert(src: str, dest: str) -> None:
        from onnxruntime.transformers.optimizer import optimize_model

        cfg = json.loads((Path(src).parent / "config.json").read_text())
        model = optimize_model(
            src,
            model_type="bert",
            num_heads=cfg["num_attention_heads"],
            hidden_size=cfg["hidden_size"],
            opt_level=1,
        )
        model.save_model_to_file(dest)

    return _variant(fp32_dir, "fused", "onnxruntime.transformers optimize_model (bert)", convert)
