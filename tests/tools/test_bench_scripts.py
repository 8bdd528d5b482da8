"""The newer benchmark scripts stay runnable: their parts, and each with ``--quick``.

The smoke runs are slow (every contender loads its model in a fresh process), so they
run in CI only; the helpers below them are checked quickly.
"""

from __future__ import annotations

import re
import sys

import pandas as pd
import pytest


def _row(out: str, name: str) -> list[str]:
    """The cells of the markdown table row whose first cell is ``name``."""
    match = re.search(rf"^\| {re.escape(name)} +\|(.*)\|$", out, re.MULTILINE)
    assert match, f"no row {name!r} in:\n{out}"
    return [cell.strip() for cell in match.group(1).split("|")]


# --------------------------------------------------------------------------- fast parts


def test_endtoend_input_is_real_distinct_texts_in_row_order(tmp_path):
    from benchmarks.endtoend import write_input

    folder = write_input(50, 3, tmp_path / "input")
    frame = pd.read_parquet(folder)
    assert len(list(tmp_path.joinpath("input").glob("*.parquet"))) == 3
    assert frame["id"].tolist() == list(range(50))
    assert frame["text"].is_unique and frame["text"].str.len().min() > 0


def test_coldstart_scripts_are_guarded_modules(tmp_path):
    from benchmarks.coldstart import SCRIPTS, write_script

    for name in SCRIPTS:
        code = write_script(name, tmp_path).read_text()
        assert code.startswith('if __name__ == "__main__":\n')  # pools re-import __main__
        compile(code, name, "exec")


def test_coldstart_clock_reads_the_first_vector_line(tmp_path):
    from benchmarks.coldstart import run_once

    code = "import time; time.sleep(0.3); print('FIRST', time.time(), flush=True); time.sleep(0.5)"
    out = run_once([sys.executable, "-c", code], {}, None, timeout=30)
    assert 0.3 <= out["first_s"] < out["exit_s"]
    assert out["exit_s"] - out["first_s"] >= 0.5
    failed = run_once([sys.executable, "-c", "raise SystemExit('no model')"], {}, None, 30)
    assert failed == {"error": "no model"}


def test_coldstart_cli_first_vector_is_the_first_file(tmp_path):
    from benchmarks.coldstart import run_once

    target = tmp_path / "out" / ".stage" / "part-0.parquet"
    target.parent.mkdir(parents=True)
    code = f"import time; time.sleep(0.4); open({str(target)!r}, 'w').close(); time.sleep(0.6)"
    out = run_once([sys.executable, "-c", code], {}, tmp_path / "out", timeout=30)
    assert 0.4 <= out["first_s"] < 0.9 < out["exit_s"]


# --------------------------------------------------------------------------- smoke runs


@pytest.mark.slow
def test_endtoend_quick_runs_every_contender(capsys):
    from benchmarks.endtoend import CONTENDERS, main

    assert main(["--quick", "--rows", "40", "--partitions", "2"]) == 0
    out = capsys.readouterr().out
    for name in CONTENDERS:
        cells = _row(out, name)
        assert cells[-1] == "1/1", out  # runs ok
        assert float(cells[1]) > 0 and float(cells[6]) > 0  # rows/s, parquet MB
        assert len(cells[4].split(" / ")) == 2  # one peak per worker
    assert "dfembed-api rows/s ÷ best hand-written" in out


@pytest.mark.slow
def test_coldstart_quick_runs_every_scenario(capsys):
    from benchmarks.coldstart import NAMES, main

    assert main(["--quick", "--texts", "4"]) == 0
    out = capsys.readouterr().out
    for name in NAMES:
        assert _row(out, name)[-1] == "2/2", out  # cold and warm both ran
    assert "dfembed CLI: warm start s" in out


@pytest.mark.slow
def test_throughput_base_size_model_quick(capsys, tmp_path):
    from benchmarks.throughput import main

    skip = ["ort-b32-corpus-order", "ort-b32-sorted", "ort-budget2048-sorted"]
    argv = ["--model", "mpnet", "--quick", "--docs", "3", "--rt-docs", "3", "--skip", *skip]
    assert main([*argv, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Throughput: fp32 all-mpnet-base-v2" in out
    for name in ("fastembed", "sentence-transformers", "ort-budget1024-sorted"):
        cells = _row(out, name)
        assert cells[-1] == "1" and float(cells[-2]) > 0.999, out  # same vectors as dfembed
    assert float(_row(out, "dfembed-int8")[-2]) > 0.9  # int8 at load: close, not equal
    assert "Targets, all-mpnet-base-v2" in out


@pytest.mark.slow
def test_versions_times_the_checkout_it_is_given(tmp_path):
    """A folder without dfembed would time whichever dfembed is installed: refused."""
    from pathlib import Path

    from benchmarks.versions import one_pass
    from tools.offline_models import build

    repo = Path(__file__).resolve().parents[2]
    corpus = tmp_path / "texts.json"
    corpus.write_text('["a short text", "another one"]')
    model = build("minilm-fp32")
    assert one_pass(repo, corpus, model, tmp_path, 1) > 0
    elsewhere = tmp_path / "empty"
    elsewhere.mkdir()
    with pytest.raises(RuntimeError, match="was not the dfembed imported"):
        one_pass(elsewhere, corpus, model, tmp_path, 1)
