"""Build an encoder for a spec: resolve its files, make its session, pick its class.

Loaded encoders are cached per process, by spec and device, least recently used first out:
each holds an ONNX session (tens of MB to GBs), and every distinct ``threads=`` or
``session_options=`` is a spec of its own, so an unbounded cache grew without end (24
combinations: 24 sessions, +2.6 GB). :data:`MAX_LOADED` sessions are kept.
"""

from __future__ import annotations

import contextlib
import gc
import os
import threading
import time
from collections import OrderedDict

from ..errors import DfembedError, ModelLoadError, is_panic
from ..models.resolve import resolve
from ..runtime.memory import release_free_memory
from ..runtime.session import SessionOptions, create_session
from ..spec import ModelSpec
from .base import Encoder
from .kinds import kind_of

#: Encoders (ONNX sessions) a process keeps loaded; loading one more drops the least recently
#: used. Set with the ``DFEMBED_MAX_SESSIONS`` environment variable (read at import, so set
#: it before Dask starts its workers) or by assigning this attribute.
MAX_LOADED = int(os.environ.get("DFEMBED_MAX_SESSIONS", "8"))

_cache: OrderedDict[tuple[str, int], Encoder] = OrderedDict()
_lock = threading.Lock()
#: How many times a model was loaded in this process (tests and metrics read it).
load_count = 0
#: Seconds spent loading each cached encoder, by cache key.
load_seconds: dict[tuple[str, int], float] = {}


def encoder_class(kind: str, pooling: str = "") -> type[Encoder]:
    """The encoder class for a kind of model and its pooling (its kind's record says)."""
    return kind_of(kind).encoder(pooling)


def build_encoder(spec: ModelSpec, device_id: int | None = None) -> Encoder:
    """Load a new encoder for ``spec`` on ``device_id`` (default: ``spec.device_id``)."""
    model = resolve(spec)
    cls = encoder_class(spec.kind, model.info.pooling)
    session = None
    options = SessionOptions(
        cuda=spec.cuda,
        device_id=spec.device_id if device_id is None else device_id,
        threads=spec.threads,
        **dict(spec.session_options),
    )
    if cls.needs_session:
        session = create_session(model.onnx_path, options, model.file("config.json"))
    panic = None
    try:
        encoder = cls(model, session)
    except DfembedError:
        raise
    except Exception as exc:
        raise ModelLoadError(f"Could not set up {spec.describe()}: {exc}") from exc
    except BaseException as exc:  # a Rust panic (its tokenizer): not chained, Dask cannot pickle it
        if not is_panic(exc):
            raise
        panic = f"{type(exc).__name__}: {exc}"
    if panic is not None:
        raise ModelLoadError(
            f"Could not set up {spec.describe()}: its tokenizer or runtime panicked ({panic}). "
            "The model's files may be hostile or broken: use the model's original files."
        )
    if session is not None:
        encoder.precision = options.precision
    return encoder


def get_encoder(spec: ModelSpec, device_id: int | None = None) -> Encoder:
    """The process-wide encoder for ``spec`` on a device, loaded once and then reused.

    Keyed by the spec's stable hash and the device, so every thread of a process (and
    every task of a Dask worker) shares one ONNX session per model and device. At most
    :data:`MAX_LOADED` stay loaded: a caller holding an evicted encoder keeps using it (only
    the cache forgets it); its session is freed when the last caller lets go.
    """
    global load_count
    key = _key(spec, device_id)
    encoder = _cache.get(key)
    if encoder is not None:
        with contextlib.suppress(KeyError):  # evicted by another thread: still fine to use
            _cache.move_to_end(key)
        return encoder
    with _lock:
        encoder = _cache.get(key)
        if encoder is None:
            started = time.perf_counter()
            encoder = build_encoder(spec, key[1])
            load_seconds[key] = time.perf_counter() - started
            load_count += 1
            _cache[key] = encoder
            evicted = _evict(max(1, MAX_LOADED))
        else:
            evicted = 0
    if evicted:
        _release()
    return encoder


def _release() -> None:
    """Free dropped sessions now (not at some later garbage collection) and hand their
    memory back to the operating system."""
    gc.collect()
    release_free_memory()


def _key(spec: ModelSpec, device_id: int | None) -> tuple[str, int]:
    return (spec.key(), spec.device_id if device_id is None else device_id)


def _evict(keep: int) -> int:
    """Drop least recently used encoders until ``keep`` are left; how many were dropped.
    Called with the lock held."""
    dropped = 0
    while len(_cache) > keep:
        key, _ = _cache.popitem(last=False)
        load_seconds.pop(key, None)
        dropped += 1
    return dropped


def cached_encoder(spec: ModelSpec, device_id: int | None = None) -> Encoder | None:
    """The cached encoder for ``spec`` if one is loaded, without loading it."""
    return _cache.get(_key(spec, device_id))


def forget(spec: ModelSpec, device_id: int | None = None) -> bool:
    """Drop ``spec``'s encoder from the cache (a Dask plugin's teardown); whether one was held.

    Its session is freed once no running task still holds the encoder.
    """
    with _lock:
        found = _cache.pop(_key(spec, device_id), None) is not None
        load_seconds.pop(_key(spec, device_id), None)
    if found:
        _release()
    return found


def loaded_count() -> int:
    """How many encoders (ONNX sessions) this process holds now."""
    return len(_cache)


def clear_cache() -> None:
    """Forget every loaded encoder in this process (frees their sessions)."""
    with _lock:
        _cache.clear()
        load_seconds.clear()
    _release()
