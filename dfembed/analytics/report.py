"""Saying what a search passed over: null rows are skipped, never scored or guessed at."""

from __future__ import annotations

import pandas as pd


class SkippedRowsWarning(UserWarning):
    """Null vectors (or late-interaction rows without tokens) were skipped by a search."""


def report_skipped(result: pd.DataFrame, skipped: int, what: str) -> pd.DataFrame:
    """Record ``skipped`` in ``result.attrs["skipped_rows"]`` and warn when it is not 0.

    On a Dask worker the warning is forwarded to the client (``distributed.warn``), so it
    shows where the user computed the result, e.g. under a notebook cell.
    """
    result.attrs["skipped_rows"] = int(skipped)
    warn_skipped(skipped, what)
    return result


def warn_skipped(skipped: int, what: str) -> None:
    """Warn that ``skipped`` null rows were left out (nothing if there were none)."""
    if skipped:
        from distributed import warn

        warn(
            f"{what}: {skipped:,} null rows were skipped (they appear in no result). "
            "Fill them (embed the missing inputs) or drop them to silence this warning.",
            SkippedRowsWarning,
        )
