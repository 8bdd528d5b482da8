"""Small Dask task graphs: one task per partition, then a tree of merges.

Built from ``dask.delayed`` so that every task knows its partition number (the tie-break
needs it) and carries a readable name: keys are ``("dfembed-<what>-<token>", ...)``, which
the dashboard's task stream shows as ``dfembed-<what>``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
from dask.base import tokenize
from dask.delayed import Delayed, delayed


def is_dask(obj) -> bool:
    """Whether ``obj`` is a Dask DataFrame or Series."""
    import dask.dataframe as dd

    return isinstance(obj, dd.DataFrame | dd.Series)


def key(what: str, *parts) -> str:
    """A task-name prefix unique to ``parts``: ``dfembed-<what>-<token>``."""
    return f"dfembed-{what}-{tokenize(*parts)}"


def literal(value, what: str) -> Delayed:
    """``value`` as one task that every partition task reads (sent to each worker once)."""
    return delayed(value, name=key(what, value), pure=True)


def per_partition(
    func: Callable, partitions: Sequence[Delayed], name: str, *args, **kwargs
) -> list[Delayed]:
    """``func(partition, number, *args, **kwargs)`` for each partition, named ``name``."""
    return [
        delayed(func, pure=True)(part, number, *args, **kwargs, dask_key_name=(name, number))
        for number, part in enumerate(partitions)
    ]


def tree(combine: Callable[[list], object], leaves: Sequence[Delayed], name: str, every: int):
    """Merge ``leaves`` ``every`` at a time, level by level, into one task (a tree reduction):
    no task ever holds more than ``every`` leaves' results."""
    if every < 2:
        raise ValueError(f"split_every must be at least 2, not {every}.")
    level, nodes = 0, list(leaves)
    while len(nodes) > 1:
        nodes = [
            delayed(combine, pure=True)(nodes[i : i + every], dask_key_name=(name, level, i))
            for i in range(0, len(nodes), every)
        ]
        level += 1
    return nodes[0]


def frame(tasks: Sequence[Delayed], meta: pd.DataFrame, divisions=None):
    """A Dask DataFrame whose partitions are ``tasks`` (each returning a pandas frame)."""
    import dask.dataframe as dd

    return dd.from_delayed(list(tasks), meta=meta, divisions=divisions, verify_meta=False)


def delayed_call(func: Callable, *args, name: str) -> Delayed:
    """``func(*args)`` as one named task."""
    return delayed(func, pure=True)(*args, dask_key_name=name)
