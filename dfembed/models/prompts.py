"""Which text goes before an input: a model's prompts, and the ``prompt=`` of a call.

Retrieval models are trained with a text before each query (``"query: "``, ``"Instruct:
... Query:"``) and sometimes before each document; left out, their vectors are worse with
no error anywhere. sentence-transformers keeps them in ``config_sentence_transformers.json``
(``prompts``, ``default_prompt_name``); dfembed reads that file for any folder or hub
repository, the registry states them for its rows, and a ``dfembed.json`` may set them.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

from ..errors import ModelLoadError
from .info import PROMPTS_FILE, ModelInfo

#: The prompt names sentence-transformers' ``encode_document`` tries, in order.
DOCUMENT_NAMES = ("document", "passage", "corpus")
#: What a prompt *name* looks like; a ``prompt=`` that looks so but names none of the
#: model's prompts is refused (a misspelt name would otherwise be put before every text).
_NAME = re.compile(r"[A-Za-z0-9_.-]+")
#: What was warned about in this process: warn once each.
_warned: set[tuple[str, str]] = set()


def prompt_fields(config: Any, path: Path) -> dict[str, Any]:
    """The :class:`ModelInfo` prompt fields a ``config_sentence_transformers.json`` says.

    ``query_prefix`` is its ``query`` prompt, ``document_prefix`` its first of
    ``document``, ``passage``, ``corpus`` (as sentence-transformers' ``encode_query`` /
    ``encode_document`` pick them); where the model has none of those, its default prompt
    (``default_prompt_name``, which plain ``encode`` applies). Every prompt but ``query``
    and ``document`` is also kept by name, for ``prompt=``.

    Raises
    ------
    ModelLoadError
        The prompts are not a JSON object of strings, or the default names none of them.
    """
    prompts = config.get("prompts") if isinstance(config, dict) else None
    prompts = {} if prompts is None else prompts
    if not isinstance(prompts, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in prompts.items()
    ):
        raise ModelLoadError(
            f'{path}: "prompts" must be a JSON object of prompt names and texts, such as '
            '{"query": "query: ", "document": "passage: "}: fix or delete it.'
        )
    default = config.get("default_prompt_name")
    if default is not None and default not in prompts:
        raise ModelLoadError(
            f'{path}: "default_prompt_name" {default!r} is not one of its prompts '
            f"{sorted(prompts)}: fix or delete it."
        )
    fallback = prompts[default] if default is not None else ""
    document = next((prompts[n] for n in DOCUMENT_NAMES if n in prompts), fallback)
    return {
        "query_prefix": prompts.get("query", fallback),
        "document_prefix": document,
        "prompts": tuple((k, v) for k, v in prompts.items() if k not in ("query", "document")),
    }


def prompt_names(info: ModelInfo) -> dict[str, str]:
    """Every prompt ``prompt=`` may name for ``info``: ``query``, ``document`` and the rest."""
    return {"query": info.query_prefix, "document": info.document_prefix, **dict(info.prompts)}


def prompt_text(info: ModelInfo, query: bool, prompt: str | None) -> str:
    """The text put before each input: ``prompt=`` if given (a name of one of the model's
    prompts, or the text itself), else the model's query or document prompt.

    Raises
    ------
    ValueError
        ``prompt`` looks like a prompt name (one word) but the model has no such prompt.
    """
    if prompt is None:
        return info.query_prefix if query else info.document_prefix
    named = prompt_names(info)
    if prompt in named:
        return named[prompt]
    if _NAME.fullmatch(prompt):
        raise ValueError(
            f"prompt={prompt!r} names none of {info.name}'s prompts {sorted(named)}. Pass "
            'one of those names, or the prompt\'s text itself (e.g. prompt="query: "); a '
            "single word is taken as a name, so it is not put before the texts."
        )
    return prompt


def warn_missing_query_prompt(info: ModelInfo, known: bool) -> None:
    """Warn once that ``query=True`` adds nothing to ``info``'s inputs.

    Registry rows (``known``) state their prompts from the model card, so a row without a
    query prompt (all-MiniLM-L6-v2) is meant to embed queries as documents: no warning.
    """
    if known or info.query_prefix or ("query", info.name) in _warned:
        return
    _warned.add(("query", info.name))
    warnings.warn(
        f'{info.name} configures no query prompt (no "query" in its {PROMPTS_FILE}, or '
        "query_prefix in its dfembed.json), so query=True adds nothing to the queries. If "
        'its model card asks for a text before queries, pass it: prompt="...".',
        UserWarning,
        stacklevel=5,  # the user's df.embed.text(...) call
    )


def warn_unconfigured_card_prompts(where: str, info: ModelInfo, card: ModelInfo) -> None:
    """Warn once that the model at ``where`` is the registry's ``card`` model, whose card
    asks for prompts, but its files configure none: its vectors come out without them."""
    if info.query_prefix or info.document_prefix or info.prompts:
        return
    if not (card.query_prefix or card.document_prefix) or ("card", where) in _warned:
        return
    _warned.add(("card", where))
    said = " and ".join(
        f"{text!r} before {side}"
        for side, text in (("queries", card.query_prefix), ("documents", card.document_prefix))
        if text
    )
    warnings.warn(
        f"{where} holds {card.repo}, whose model card puts {said}, but its files configure "
        f"no prompts ({PROMPTS_FILE} or dfembed.json), so none are added. Use "
        f"model={card.name!r}, or add query_prefix / document_prefix to its dfembed.json.",
        UserWarning,
        stacklevel=3,
    )
