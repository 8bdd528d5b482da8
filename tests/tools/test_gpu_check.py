"""``benchmarks/gpu.py`` stays runnable: its ``--cpu`` plumbing pass on a small sample."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_gpu_check_runs_on_the_cpu_provider(paraphrase_l3, capsys):
    from benchmarks.gpu import main

    assert main(["--model", paraphrase_l3, "--cpu", "--rows", "80", "--budgets", "512"]) == 0
    out = capsys.readouterr().out
    assert "| fp16         |" in out and "| fp32 unfused |" in out and "| IO binding" in out
    assert "rows 80 (index equal: True)" in out
    assert out.count("CPUExecutionProvider      fp32  None") == 2  # both loaded, no error
    assert "local_rank" in out and "gpu (driver)" in out  # the placement table
