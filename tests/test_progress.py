"""Progress bars for Dask work: shown in a terminal and in Jupyter, with or without ipywidgets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dfembed import progress
from dfembed.engine.partitions import ROW_COST_TOKENS, text_costs


@pytest.fixture(scope="module")
def threads_client():
    """An in-process Dask client, not the default one (like the client ``parallel=`` starts)."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        yield client


def test_text_bar_waits_and_stays_on_screen(threads_client, capsys):
    futures = threads_client.map(lambda x: x + 1, range(5))
    progress.dask_bar(futures, threads_client)
    assert all(f.done() for f in futures)  # the text bar returns when the work is done
    out = capsys.readouterr().out
    assert "100% Completed" in out
    assert out.endswith("\n") and "\33[2K" not in out  # not erased at the end


def test_jupyter_without_ipywidgets_falls_back_to_the_text_bar(threads_client, capsys, monkeypatch):
    # distributed.progress alone would build its ipywidgets bar here and fail to import it
    monkeypatch.setattr(progress, "in_notebook", lambda: True)
    monkeypatch.setattr(progress, "widgets_available", lambda: False)
    future = threads_client.submit(sum, [1, 2, 3])
    progress.dask_bar(future, threads_client)
    assert future.result() == 6
    assert "100% Completed" in capsys.readouterr().out


def test_work_bar_counts_estimated_tokens_so_the_first_eta_is_right(monkeypatch):
    bars = []

    class Recorder:  # stands in for tqdm: what the bar was told
        def __init__(self, total, desc, unit, unit_scale):
            self.total, self.unit, self.n, self.steps = total, unit, 0, []
            bars.append(self)

        def update(self, n):
            self.n += n
            self.steps.append(n)

        def close(self):
            pass

    monkeypatch.setattr("tqdm.std.tqdm", Recorder)
    monkeypatch.setattr(progress, "widgets_available", lambda: False)
    texts = pd.Series(["a long text " * 40, "short", None, "short"])
    costs = text_costs(texts, None)
    with progress.work_bar(costs, "text", enabled=True) as on_batch:
        on_batch(1, 120, 0.5)  # the longest text runs first: 120 real tokens
        on_batch(1, 3, 0.01)
        on_batch(0, 0, 0.0)
    (bar,) = bars
    assert bar.total == round(costs.sum()) and bar.unit == "tokens"
    # each batch moves the bar by its tokens and the rows' overhead, not by 1 row in 4
    assert bar.steps[:2] == [120 + ROW_COST_TOKENS, 3 + ROW_COST_TOKENS]
    assert bar.n == bar.total  # the null row and the duplicate never run: closed at total

    with progress.work_bar(costs, "text", enabled=True) as on_batch:
        on_batch(2, 0, 0.0)  # cache hits count the rows' average estimate
    assert bars[1].steps[0] == round(2 * costs.sum() / 4)

    with progress.work_bar(np.ones(5), "image", enabled=True) as on_batch:
        on_batch(2, 2, 0.1)
    assert (bars[2].total, bars[2].unit, bars[2].steps[0]) == (5, "rows", 2)


def test_work_bar_reaches_its_total_without_a_terminal_warning(capsys):
    with progress.work_bar(np.ones(10), "image", enabled=True) as on_batch:
        on_batch(4, 4, 0.1)  # null and duplicate rows are never run: the bar is closed at total
    assert "10/10" in capsys.readouterr().err
    assert not progress.in_notebook()
