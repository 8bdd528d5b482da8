"""What a model folder says about itself.

A ``dfembed.json`` overrides any :class:`~dfembed.models.registry.ModelInfo` field, and is
checked when the folder is read: a wrong type, a pooling its kind does not run or a
misspelt key would otherwise fail far from its cause (at the first batch), or not at all.
Folders without one are described by sentence-transformers' files. Where neither says
the output width, the ONNX graph's declared output shape does
(:func:`with_graph_width`): a column's dtype needs it before any row is embedded.
"""

from __future__ import annotations

import difflib
import json
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any, get_args, get_type_hints

from ..errors import ModelLoadError
from .files import confined_file, read_json, relative_name
from .folder_files import from_model_files, read_object, with_prompts
from .info import ABOUT_FIELDS, DESCRIPTOR, KINDS, POOLINGS, SIZED_KINDS, ModelInfo, output_to_read
from .onnx_graph import output_shapes
from .prompts import warn_unconfigured_card_prompts

#: Least value of the whole-number fields of a model description.
_INT_MINIMUM = {"dim": 0, "max_length": 1}
#: Fields that name a file of the model folder: a relative path, or a plain name.
_FILE_FIELDS = {"onnx_file": "path", "language": "name"}
#: Keys that are not fields but notes for people, as dfembed's own folder builders write
#: them (tools/offline_models.py): where the files came from and how they were made.
NOTE_KEYS = frozenset(
    {
        "source",
        "tokenizer_source",
        "base_model",
        "derived_from",
        "export",
        "quantization",
        "files",
        "input_names",
        "pooled_output_name",
        "image_size",
    }
)
#: Descriptors already warned about in this process, with their unknown keys: warn once.
_warned: set[tuple[str, tuple[str, ...]]] = set()


def info_from_folder(folder: Path, base: ModelInfo) -> ModelInfo:
    """Describe a model folder, starting from ``base`` (a registry entry or defaults).

    A ``dfembed.json`` in the folder overrides any field (a value of the wrong type, or a
    pooling the model's kind does not run, is a :class:`ModelLoadError`; an unknown key a
    warning). Otherwise, for folders that are not in the registry, sentence-transformers'
    files say the pooling, width and maximum length.
    """
    descriptor = confined_file(folder, DESCRIPTOR, "The model description")
    if descriptor is not None:
        start = base if base.repo is not None else with_prompts(folder, base)
        info = replace(start, **_read_descriptor(descriptor, base.kind))
        if not info.onnx_file and info.pooling != "bm25":  # only BM25 runs without a graph
            raise ModelLoadError(
                f'{descriptor}: "onnx_file" is empty, but {info.kind} models with pooling '
                f'{json.dumps(info.pooling)} run an ONNX graph: name it (e.g. "model.onnx"), '
                "or delete the line to use the default."
            )
    elif base.repo is not None:
        return base
    else:
        info = from_model_files(folder, base)
    if base.repo is None and info.kind == "text":
        _check_card_prompts(folder, info)
    return info


def _check_card_prompts(folder: Path, info: ModelInfo) -> None:
    """Warn where a folder holds a registry model whose card asks for prompts (by its
    ``config.json`` ``_name_or_path``, or the hub repository of its cache snapshot) but
    configures none itself."""
    from .registry import lookup  # the registry's rows import this module's siblings

    names = [read_object(folder, "config.json").get("_name_or_path")]
    if folder.parent.name == "snapshots" and folder.parent.parent.name.startswith("models--"):
        names.append(folder.parent.parent.name[len("models--") :].replace("--", "/"))
    for name in names:
        card = lookup(name) if isinstance(name, str) and name else None
        if card is not None and card.kind == "text":
            warn_unconfigured_card_prompts(str(folder), info, card)
            return


def with_graph_width(info: ModelInfo, graph: Path) -> ModelInfo:
    """``info`` with ``dim`` read from the ONNX file ``graph`` where nothing else said it.

    The width is the last dimension of the output the encoder reads, when the graph states
    it as a number. Kinds without fixed-width vectors (sparse, rerank) need none, and the
    graph is read only when needed (and once per process: see :mod:`dfembed.models.onnx_graph`).

    Raises
    ------
    ModelLoadError
        The width is needed but the graph leaves it symbolic, or lacks the output.
    """
    if info.dim or info.kind not in SIZED_KINDS:
        return info
    outputs = output_shapes(graph)
    name = output_to_read(info, list(outputs)) if outputs else ""
    if name and name not in outputs:
        raise ModelLoadError(
            f'{graph} has no output "{name}" (it has {list(outputs)}): fix "output_name" '
            f"in {graph.parent / DESCRIPTOR}."
        )
    shape = outputs.get(name)
    if not shape or not shape[-1]:
        raise ModelLoadError(
            f"The width of {info.name}'s vectors is not known: its graph {graph} does not "
            f"state it (output {name!r} has shape {shape}). Add it to "
            f'{graph.parent / DESCRIPTOR}, e.g. {{"dim": 384}} (the model card says it).'
        )
    return replace(info, dim=shape[-1])


def _read_descriptor(path: Path, kind: str) -> dict[str, Any]:
    """The :class:`ModelInfo` fields a ``dfembed.json`` sets, each checked against its type,
    and ``pooling`` against what the model's kind (its own ``kind``, else ``kind``) runs.

    Checked because a wrong type fails far from its cause, or not at all (``"false"`` is a
    true string). Keys that are not fields are ignored (with a warning, unless they are
    :data:`NOTE_KEYS`), and so is ``null`` for a field that cannot be ``None``: the field
    keeps its default (image models say ``"max_length": null``).
    """
    data = _load_object(path)
    hints = {k: v for k, v in get_type_hints(ModelInfo).items() if k not in ABOUT_FIELDS}
    _warn_unknown_keys(path, [name for name in data if name not in hints])
    checked = {}
    for name, value in data.items():
        if name not in hints or (value is None and type(None) not in get_args(hints[name])):
            continue
        if name == "prompts":
            checked[name] = _prompt_pairs(path, value)
            continue
        _check_field(path, name, value, hints[name])
        checked[name] = value
    if "pooling" in checked:
        _check_pooling(path, checked.get("kind", kind), checked["pooling"])
    return checked


def _prompt_pairs(path: Path, value: Any) -> tuple[tuple[str, str], ...]:
    """A ``dfembed.json``'s ``"prompts"`` (an object of names and texts) as name/text pairs."""
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ModelLoadError(
            f'{path}: "prompts" must be a JSON object of prompt names and texts, such as '
            f'{{"clustering": "clustering: "}}, not {json.dumps(value)}. Fix that value, or '
            "delete the line."
        )
    return tuple(value.items())


def _load_object(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; a :class:`ModelLoadError` for anything else."""
    data = read_json(path, "Fix or delete it.")
    if not isinstance(data, dict):
        raise ModelLoadError(
            f"{path} holds a JSON {type(data).__name__}, not a JSON object: write it as "
            '{"field": value, ...}, e.g. {"kind": "text", "dim": 384}.'
        )
    return data


def _warn_unknown_keys(path: Path, names: list[str]) -> None:
    """Warn (once per file and set of keys) of keys dfembed does not read: a misspelt field
    (``"pooling_mode"``) silently leaves the default in place."""
    unknown = tuple(sorted(name for name in names if name not in NOTE_KEYS))
    if not unknown or (str(path), unknown) in _warned:
        return
    _warned.add((str(path), unknown))
    fields = list(get_type_hints(ModelInfo))
    hints = [_did_you_mean(name, fields) for name in unknown]
    warnings.warn(
        f"{path}: dfembed does not read {', '.join(hints)}, so those settings have no "
        "effect. Fix the spelling (the fields are the attributes of "
        "dfembed.ModelInfo) or delete them.",
        UserWarning,
        stacklevel=2,
    )


def _did_you_mean(name: str, fields: list[str]) -> str:
    """``"name"``, with the closest field name suggested where one is close."""
    close = difflib.get_close_matches(name, fields, n=1, cutoff=0.6)
    return json.dumps(name) + (f' (did you mean "{close[0]}"?)' if close else "")


def _check_field(path: Path, name: str, value: Any, hint: Any) -> None:
    """Raise :class:`ModelLoadError` unless ``value`` is a valid ``name`` of type ``hint``."""
    types = get_args(hint) or (hint,)
    valid = isinstance(value, types) and (bool in types or not isinstance(value, bool))
    if valid and name == "kind":
        valid = value in KINDS
    elif valid and name in _INT_MINIMUM:
        valid = value >= _INT_MINIMUM[name]
    elif valid and name in _FILE_FIELDS and value:
        _check_file_field(path, name, value)
    if not valid:
        raise ModelLoadError(
            f'{path}: "{name}" must be {_expected(name, types)}, not {json.dumps(value)}. '
            "Fix that value (JSON numbers, true and false take no quotes), or delete the "
            "line to use the default."
        )


def _check_pooling(path: Path, kind: str, pooling: str) -> None:
    """Raise :class:`ModelLoadError` unless models of ``kind`` run ``pooling``: caught here,
    not at the first batch (or never, for a column of missing values)."""
    allowed = POOLINGS[kind]
    if pooling not in allowed:
        raise ModelLoadError(
            f'{path}: "pooling" {json.dumps(pooling)} is not one {kind} models run: use '
            f"{_one_of(allowed)}, or delete the line to use the default."
        )


def _expected(name: str, types: tuple[type, ...]) -> str:
    """What a valid value of field ``name`` is, in words."""
    if name == "kind":
        return _one_of(KINDS)
    if bool in types:
        return "true or false"
    if int in types:
        least = _INT_MINIMUM.get(name)
        return "a whole number" + ("" if least is None else f", {least} or more")
    return "a string or null" if type(None) in types else "a string"


def _one_of(values: tuple[str, ...]) -> str:
    return "one of " + ", ".join(json.dumps(v) for v in values)


def _check_file_field(path: Path, name: str, value: str) -> None:
    """Raise :class:`ModelLoadError` unless the file field ``name`` names a file inside the
    model folder: ``onnx_file`` a relative path without ``..``, ``language`` a plain name
    (of the ``<language>.txt`` stopword list)."""
    what = f'{path}: "{name}"'
    relative = relative_name(value, what)
    if _FILE_FIELDS[name] == "name" and "/" in relative:
        raise ModelLoadError(
            f'{what} {json.dumps(value)} must be a plain name such as "english" (it names '
            "the stopword list <language>.txt beside dfembed.json), without a path."
        )
