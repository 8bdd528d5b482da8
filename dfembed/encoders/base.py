"""What every encoder shares: the ONNX session, option handling and the batching path."""

from __future__ import annotations

import abc
import hashlib
import json
from collections.abc import Hashable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .._version import __version__
from ..errors import ModelLoadError, TokenizerError
from ..models.registry import ABOUT_FIELDS
from ..models.resolved import ResolvedModel
from ..runtime.batching import DEFAULT_TOKEN_BUDGET, OnBatch, dedup, run_batched
from .kind import record_of

_ORT_INT_TYPES = {"tensor(int64)": np.int64, "tensor(int32)": np.int32}
#: Options that change how outputs are computed, never what they are.
_OPTIONS_NOT_IN_OUTPUT = ("batch_size", "token_budget", "dedup")
#: Model fields and options added after caches were first written, with their defaults: at
#: those values they are left out of a namespace, so the namespaces of earlier runs stay.
_ADDED_INFO = {"prompts": (), "matryoshka": False}
_ADDED_OPTIONS = {"prompt": None, "dim": None}


@dataclass(frozen=True)
class EncodeOptions:
    """Per-call choices common to every kind.

    Parameters
    ----------
    batch_size
        Most rows per model run; ``None`` lets the token budget decide.
    token_budget
        Most padded tokens (rows x longest row) per model run: bounds memory.
    dedup
        Embed identical inputs once and copy the result.
    """

    batch_size: int | None = None
    token_budget: int = DEFAULT_TOKEN_BUDGET
    dedup: bool = True


@dataclass
class Prepared:
    """Inputs turned into what a model run needs, with each input's cost in tokens."""

    lengths: np.ndarray
    data: Any


class Encoder(abc.ABC):
    """Runs one ONNX model over a list of inputs, returning one output per input, in order.

    Subclasses say how to turn inputs into model-ready items (:meth:`prepare`) and how to
    run a batch of them (:meth:`run`); deduplication, length sorting, token-budget batching
    and restoring input order happen here, once, for every kind.
    """

    #: The name of the encoder's kind; its record (:mod:`dfembed.encoders.kind`) says the rest.
    kind: ClassVar[str]
    #: False for encoders computed without an ONNX graph (BM25).
    needs_session: ClassVar[bool] = True
    #: The session's compute precision (set by the loader); fp16 outputs differ slightly.
    precision: str = "fp32"

    def __init__(self, model: ResolvedModel, session: Any):
        self.model = model
        self.info = model.info
        self.session = session
        graph_inputs = session.get_inputs() if session is not None else []
        self.input_names = [i.name for i in graph_inputs]
        self._input_types = {i.name: _ORT_INT_TYPES.get(i.type) for i in graph_inputs}
        outputs = session.get_outputs() if session is not None else []
        self.output_names = [o.name for o in outputs]

    @property
    def providers(self) -> list[str]:
        return list(self.session.get_providers()) if self.session is not None else ["python"]

    def dedup_key(self, item: Any) -> Hashable:
        """What makes two inputs identical (the input itself by default)."""
        return item

    def cache_key(self, item: Any) -> bytes | None:
        """The bytes that identify an input in the persistent cache; ``None``: never cache it.

        Texts are their UTF-8 bytes; tuples of texts (reranking pairs) each part's length and
        bytes, so ``("ab", "c")`` and ``("a", "bc")`` differ.
        """
        if isinstance(item, str):
            return item.encode("utf-8", "surrogatepass")
        if isinstance(item, tuple) and all(isinstance(part, str) for part in item):
            parts = [part.encode("utf-8", "surrogatepass") for part in item]
            return b"".join(len(part).to_bytes(8, "little") + part for part in parts)
        return None

    def cache_namespace(self, options: EncodeOptions) -> tuple[str, dict[str, Any]]:
        """What the cached outputs depend on, hashed: the namespace, and its description.

        The model's exact files, its settings, the encoder, the options that change outputs
        (not ``batch_size``, ``token_budget`` or ``dedup``) and dfembed's version: change any
        and earlier outputs are not reused. A local folder's name is left out: it is only
        how its path was spelled (``/x/m``, ``/x/m/``, ``./m``, a copy elsewhere), and the
        fingerprint of its files identifies it.
        """
        info = _without(asdict(self.info), ABOUT_FIELDS, _ADDED_INFO)
        if self.model.local:
            del info["name"]
        about = {
            "kind": self.kind,
            "encoder": type(self).__name__,
            "fingerprint": self.model.fingerprint,
            "info": info,
            "options": _without(asdict(options), _OPTIONS_NOT_IN_OUTPUT, _ADDED_OPTIONS),
            "dfembed": __version__,
        }
        if not self.model.local:  # hub and registry namespaces stay as they were
            about["model"] = self.info.name
        if self.precision != "fp32":  # fp32 namespaces stay as they were before fp16 existed
            about["precision"] = self.precision
        payload = json.dumps(about, sort_keys=True, default=str).encode()
        return hashlib.sha256(payload).hexdigest()[:24], about

    @abc.abstractmethod
    def prepare(self, items: Sequence[Any], options: EncodeOptions) -> Prepared:
        """Turn distinct, valid inputs into model-ready data and per-item token counts."""

    @abc.abstractmethod
    def run(self, prepared: Prepared, positions: np.ndarray, options: EncodeOptions) -> Any:
        """Outputs for ``prepared`` items at ``positions``: an array or a list, one per item."""

    def encode(
        self,
        items: Sequence[Any],
        options: EncodeOptions,
        on_batch: OnBatch | None = None,
        cache: Path | None = None,
    ) -> np.ndarray:
        """One output per item, in the items' order, going through the shared batching path.

        With a ``cache`` folder, outputs already stored there are read instead of computed,
        and new ones are stored (see :mod:`dfembed.encoders.cached`).
        """
        if options.dedup:
            first, inverse = dedup([self.dedup_key(x) for x in items])
            unique = [items[i] for i in first]
            if len(first) == len(items):
                # no repeats: inverse is the identity; skip a copy of every output
                inverse = None
        else:
            unique, inverse = list(items), None
        if cache is None:
            out = self.encode_distinct(unique, options, on_batch)
        else:
            from .cached import encode_cached

            out = encode_cached(self, unique, options, on_batch, cache)
        return out if inverse is None else out[inverse]

    def encode_distinct(
        self, items: Sequence[Any], options: EncodeOptions, on_batch: OnBatch | None = None
    ) -> np.ndarray:
        """Outputs of ``items`` (already deduplicated, if at all): sort, batch, run, restore.

        A :class:`~dfembed.errors.TokenizerError` leaves with the input it names in ``item``,
        which the engine maps back to a row.
        """
        try:
            prepared = self.prepare(items, options)
        except TokenizerError as exc:
            if exc.position is not None and exc.item is None:
                exc.item = items[exc.position]
            raise
        return run_batched(
            prepared.lengths,
            lambda positions: self.run(prepared, positions, options),
            token_budget=options.token_budget,
            max_batch=options.batch_size or None,
            on_batch=on_batch,
        )

    def run_model(self, feed: dict[str, np.ndarray], output: str | None = None) -> np.ndarray:
        """Run the session on ``feed`` (cast to the graph's integer types), one output."""
        cast = {
            name: value.astype(self._input_types[name], copy=False)
            if self._input_types.get(name) is not None
            else value
            for name, value in feed.items()
        }
        name = output or self.output_name()
        try:
            return self.session.run([name], cast)[0]
        except Exception as exc:  # onnxruntime's error classes are not public: match by name
            if type(exc).__name__ not in ("InvalidArgument", "Fail"):
                raise
            shapes = {key: value.shape for key, value in cast.items()}
            raise ModelLoadError(
                f"ONNX Runtime could not run {self.model.folder} on inputs {shapes}: {exc}. "
                "The model's files may not belong together: a tokenizer.json from another "
                "model (token ids past its vocabulary), or a max_length in dfembed.json above "
                "the model's own limit."
            ) from exc

    def width(self, options: EncodeOptions) -> int:
        """The width of the vectors a call with ``options`` gives (the model's ``dim``)."""
        return self.info.dim

    def check_width(self, width: int) -> None:
        """Raise :class:`ModelLoadError` unless the graph's vectors are ``width`` wide as the
        model's description says (``dim`` 0: it says nothing). Else a result's dtype, fixed
        from ``dim`` before any row ran, would not hold them."""
        if self.info.dim and width != self.info.dim:
            raise ModelLoadError(
                f"{self.model.folder} gives {width}-wide vectors from output "
                f"{self.output_name()!r}, not the {self.info.dim} its description says: fix "
                '"dim" (or "output_name" / "pooling") in its dfembed.json.'
            )

    def normalizes(self, options: EncodeOptions) -> bool:
        """Whether outputs are L2-normalized: the call's ``normalize=``, else the model's own."""
        chosen = getattr(options, "normalize", None)
        return self.info.normalize if chosen is None else bool(chosen)

    def output_name(self) -> str:
        """The graph output this encoder reads: the registry's one rule, with the preferred
        output names its kind's record states."""
        return record_of(self.kind).output_to_read(self.info, self.output_names)


def _without(fields: dict[str, Any], never: Sequence[str], defaults: dict[str, Any]) -> dict:
    """``fields`` less the names in ``never`` and those of ``defaults`` at their default."""
    return {
        k: v
        for k, v in fields.items()
        if k not in never and not (k in defaults and v == defaults[k])
    }
