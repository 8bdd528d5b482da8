"""The example notebooks: stored as generated, stored executed, and still running offline.

Each notebook is executed top to bottom with nbclient in a kernel running this interpreter
(a throwaway kernelspec pointing at ``sys.executable``), from the repository root so that
``import tools`` works; a cell that raises fails the test. The stored copies are run in
memory and left untouched (``notebooks/build_notebooks.py`` rewrites them).
"""

from __future__ import annotations

import sys

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

from notebooks.build_notebooks import HERE, NOTEBOOKS, execute, notebook

#: Seconds one cell may take: generous, since CI machines may be busy.
CELL_TIMEOUT = 300
#: Largest stored notebook, in bytes: outputs must stay small (no dumped arrays).
MAX_STORED_BYTES = 150_000
#: Modules a notebook needs beyond the dense text path.
NEEDS = {"04_hybrid_search.ipynb": ("dfembed.encoders.sparse", "dfembed.encoders.late_interaction")}

NAMES = sorted(NOTEBOOKS)


def _stored(name: str) -> nbformat.NotebookNode:
    return nbformat.read(HERE / name, as_version=4)


def _streams(nb: nbformat.NotebookNode, stream: str) -> str:
    return "".join(
        out.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "stream" and out.name == stream
    )


@pytest.mark.parametrize("name", NAMES)
def test_stored_notebook_matches_the_generator(name):
    stored, built = _stored(name), notebook(NOTEBOOKS[name])
    assert [(c.cell_type, c.source) for c in stored.cells] == [
        (c.cell_type, c.source) for c in built.cells
    ], f"{name} differs from notebooks/build_notebooks.py: rebuild it (see its docstring)"


@pytest.mark.parametrize("name", NAMES)
def test_stored_notebook_is_executed_small_and_error_free(name):
    path = HERE / name
    assert path.stat().st_size < MAX_STORED_BYTES
    nb = _stored(name)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), f"{name} is stored unexecuted: rebuild it"
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), "cells were not run in order, once each"
    assert not any(o.output_type == "error" for c in code for o in c.outputs)
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_offline(name, tmp_path, monkeypatch):
    for module in NEEDS.get(name, ()):
        pytest.importorskip(module)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the kernel inherits it: no hub access at all
    copy = tmp_path / name
    copy.write_bytes((HERE / name).read_bytes())
    nb, seconds = execute(copy, timeout=CELL_TIMEOUT, save=False)
    print(f"{name}: {seconds:.1f} s")
    # tqdm.auto's "IProgress not found" warning must not reach the notebook without ipywidgets
    assert "IProgress" not in _streams(nb, "stderr")
    assert not any(
        o.output_type == "error" for c in nb.cells if c.cell_type == "code" for o in c.outputs
    )


@pytest.mark.slow
def test_a_failing_cell_fails_the_run_in_this_interpreter(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(f"import sys\nassert sys.executable == {sys.executable!r}"),
        nbformat.v4.new_code_cell("import tools\nraise ValueError('boom from the notebook')"),
        nbformat.v4.new_code_cell("print('never reached')"),
    ]
    path = tmp_path / "failing.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(CellExecutionError, match="boom from the notebook"):
        execute(path, timeout=60, save=False)
