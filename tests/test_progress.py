"""Progress bars for Dask work: shown in a terminal and in Jupyter, with or without ipywidgets."""

from __future__ import annotations

import pytest

from dfembed import progress


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


def test_row_bar_counts_to_the_total_without_a_terminal_warning(capsys):
    with progress.row_bar(10, "text", enabled=True) as bar:
        bar.update(4)  # null and duplicate rows are never run: the bar is closed at total
    assert "10/10" in capsys.readouterr().err
    assert not progress.in_notebook()
