"""What a model folder without ``dfembed.json`` says about itself in its own files.

sentence-transformers' files say the pipeline (``modules.json``: a Normalize step or not),
the pooling and width (``1_Pooling/config.json``), the maximum length
(``sentence_bert_config.json``) and the prompts (``config_sentence_transformers.json``).
Where they are absent, transformers' ``config.json`` says what the architecture needs: a
CLIP text tower is read at its projected output (``text_embeds``, 77 tokens), a decoder
(Qwen, Mistral, Llama) at its last token. Guessing mean pooling over a ``last_hidden_state``
for those would give vectors of the right width and the wrong meaning.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import ModelLoadError
from .files import confined_file, read_json
from .info import PROMPTS_FILE, ModelInfo
from .prompts import prompt_fields

POOLING_FILE = "1_Pooling/config.json"
#: sentence-transformers' pooling modes that dfembed runs, by their names in its files.
_POOLING_MODES = {"mean": "mean", "cls": "cls", "lasttoken": "last"}
#: ``config.json`` model types of decoders whose embedders read the last token.
DECODER_TYPES = ("qwen2", "qwen3", "mistral", "llama")
#: ``config.json`` model types of CLIP text towers (alone, or a whole CLIP model's config).
CLIP_TYPES = ("clip_text_model", "clip")


def from_model_files(folder: Path, info: ModelInfo) -> ModelInfo:
    """``info`` with what the folder's sentence-transformers and transformers files say:
    pooling, width, maximum length, normalization and prompts."""
    config = read_object(folder, "config.json")
    modules = read_object(folder, "modules.json", list)
    if modules:
        steps = [str(m.get("type", "")) for m in modules if isinstance(m, dict)]
        info = replace(info, normalize=any(s.endswith("Normalize") for s in steps))
    pooling = read_object(folder, POOLING_FILE)
    if pooling:
        info = replace(info, pooling=_pooling_mode(folder, pooling))
    elif info.kind == "text":
        info = _architecture_defaults(folder, config, info)
    width = whole(folder, POOLING_FILE, pooling, "word_embedding_dimension") or whole(
        folder, POOLING_FILE, pooling, "embedding_dimension"
    )
    if width:
        info = replace(info, dim=width)
    sbert = read_object(folder, "sentence_bert_config.json")
    length = whole(folder, "sentence_bert_config.json", sbert, "max_seq_length")
    if length:
        info = replace(info, max_length=length)
    hidden = whole(folder, "config.json", config, "hidden_size")
    if hidden and not info.dim:
        info = replace(info, dim=hidden)
    return with_prompts(folder, info)


def with_prompts(folder: Path, info: ModelInfo) -> ModelInfo:
    """``info`` with the prompts of the folder's ``config_sentence_transformers.json``."""
    path = confined_file(folder, PROMPTS_FILE, "The configuration file")
    if path is None:
        return info
    return replace(info, **prompt_fields(read_object(folder, PROMPTS_FILE), path))


def _pooling_mode(folder: Path, pooling: dict[str, Any]) -> str:
    """dfembed's pooling for a ``1_Pooling/config.json``: its ``pooling_mode`` (newer
    files) or ``pooling_mode_*`` flags (older ones). A mode dfembed does not run (max,
    weighted mean) is an error, not a silent mean."""
    mode = pooling.get("pooling_mode")
    if isinstance(mode, list) and len(mode) == 1:
        mode = mode[0]
    if mode is None:
        prefix = "pooling_mode_"
        flags = [k[len(prefix) :] for k, v in pooling.items() if k.startswith(prefix) and v]
        names = {"cls_token": "cls", "mean_tokens": "mean", "lasttoken": "lasttoken"}
        modes = [names.get(flag, flag) for flag in flags]
        mode = modes[0] if len(modes) == 1 else (modes or "mean")
    if isinstance(mode, str) and mode in _POOLING_MODES:
        return _POOLING_MODES[mode]
    raise ModelLoadError(
        f"{folder / POOLING_FILE} pools with {json.dumps(mode)}, which dfembed does not run "
        f"(it runs {', '.join(_POOLING_MODES)}): export the pooled output and describe the "
        'folder in a dfembed.json ({"pooling": "none", "output_name": ...}).'
    )


def _architecture_defaults(folder: Path, config: dict[str, Any], info: ModelInfo) -> ModelInfo:
    """How a text model with no pooling file is read, from its ``config.json``: CLIP text
    towers at their projection, decoders at their last token."""
    model_type = config.get("model_type")
    architectures = config.get("architectures") or []
    if model_type in CLIP_TYPES or "CLIPTextModelWithProjection" in architectures:
        text = config.get("text_config") if model_type == "clip" else config
        text = text if isinstance(text, dict) else {}
        length = whole(folder, "config.json", text, "max_position_embeddings")
        width = whole(folder, "config.json", config, "projection_dim")
        return replace(
            info,
            output_name=info.output_name or "text_embeds",
            pooling="none",
            max_length=length or 77,
            dim=info.dim or width,
        )
    if model_type in DECODER_TYPES:
        return replace(info, pooling="last")
    return info


def read_object(folder: Path, name: str, expected: type = dict) -> Any:
    """The JSON value of ``expected`` type in the folder's file ``name``; empty where the
    folder has no such file."""
    path = confined_file(folder, name, "The configuration file")
    if path is None:
        return expected()
    data = read_json(path, "Download the model again, or fix the file.")
    if not isinstance(data, expected):
        raise ModelLoadError(
            f"{path} holds a JSON {type(data).__name__}, not the JSON "
            f"{'object' if expected is dict else 'array'} sentence-transformers writes there: "
            "download the model again, or fix the file."
        )
    return data


def whole(folder: Path, name: str, data: dict[str, Any], key: str) -> int:
    """The whole number ``data[key]`` (0 when absent) of the folder's file ``name``."""
    value = data.get(key)
    integral = isinstance(value, float) and value.is_integer()
    if integral or (isinstance(value, str) and value.isdecimal()):  # 384.0, "384"
        value = int(value)
    if not value:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ModelLoadError(
            f'{folder / name}: "{key}" must be a whole number, not {json.dumps(value)}: '
            "download the model again, or fix the file."
        )
    return int(value)
