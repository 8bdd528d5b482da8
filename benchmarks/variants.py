"""Variants of the fp32 MiniLM folder that the speed issue's "means" would use.

``fused_fp32``: the same fp32 weights with ONNX Runtime's transformer fusions (Attention,
SkipLayerNormalization, BiasGelu) applied offline. dfembed loads it like any local folder.
It is built once under ``$DFEMBED_ASSETS/bench/`` next to the other offline models.

The dynamically quantized (int8 compute) copy that used to live here is now an offline
model of its own, ``minilm-dynq8`` (``tools.offline_models.build("minilm-dynq8")``, made by
``tools.offline_models.quantize_dynamic_int8``).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path


def _variant(
    fp32_dir: str | Path, suffix: str, note: str, convert: Callable[[str, str], None]
) -> Path:
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
