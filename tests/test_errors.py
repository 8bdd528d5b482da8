"""dfembed's exceptions and what counts as a panic: :mod:`dfembed.errors`."""

from __future__ import annotations

import asyncio

import pytest

import dfembed
from dfembed import errors


def test_every_error_is_a_dfembed_error_and_exported():
    for name in (
        "ModelNotFoundError",
        "ModelLoadError",
        "DeviceUnavailableError",
        "InputError",
        "WorkerError",
        "OutputError",
        "CacheError",
        "TokenizerError",
        "PanicError",
    ):
        cls = getattr(errors, name)
        assert issubclass(cls, errors.DfembedError), name
        assert getattr(dfembed, name) is cls, name  # exported from the package itself


def test_bad_input_is_also_a_value_error_and_a_tokenizer_crash_is_both_kinds():
    assert issubclass(errors.InputError, ValueError)
    crash = errors.TokenizerError("panicked", position=4, reason="stack overflow")
    assert isinstance(crash, errors.InputError) and isinstance(crash, errors.ModelLoadError)
    assert (crash.position, crash.reason, crash.item) == (4, "stack overflow", None)


class _Panic(BaseException):
    pass


@pytest.mark.parametrize(
    ("exc", "panic"),
    [
        (_Panic("rust"), True),
        (ValueError("plain"), False),
        (KeyboardInterrupt(), False),
        (SystemExit(1), False),
        (GeneratorExit(), False),
        (asyncio.CancelledError(), False),
    ],
)
def test_is_panic_is_a_base_exception_that_is_not_a_request_to_stop(exc, panic):
    assert errors.is_panic(exc) is panic
