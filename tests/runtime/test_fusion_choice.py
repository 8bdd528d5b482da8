"""Graph fusion decided by a measurement on the machine, kept, and overridden by the user."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from dfembed.runtime import fusion, fusion_choice
from dfembed.runtime.rewrites import graph_source
from tests.runtime.test_external_weights import bert_config, gelu_graph


@pytest.fixture
def fused_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "fused"
    monkeypatch.setenv("DFEMBED_FUSED_DIR", str(folder))
    monkeypatch.setattr(fusion_choice, "busy", lambda: False)  # a quiet machine
    return folder


@pytest.fixture(scope="module")
def fused_once(minilm_fp32, tmp_path_factory) -> Path:
    """MiniLM's fused graph, made once for this module (it takes seconds)."""
    folder = Path(minilm_fp32)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DFEMBED_FUSED_DIR", str(tmp_path_factory.mktemp("fused")))
        fused = fusion.fused_graph(folder / "model.onnx", folder / "config.json")
    assert fused is not None
    return fused


@pytest.fixture
def minilm(minilm_fp32, fused_dir, fused_once) -> tuple[Path, Path, Path]:
    """The model file, its config.json and its fused copy (in this test's folder)."""
    folder = Path(minilm_fp32)
    fused_dir.mkdir()
    shutil.copyfile(fused_once, fused_dir / fused_once.name)
    fused = fusion.fused_graph(folder / "model.onnx", folder / "config.json")
    assert fused == fused_dir / fused_once.name
    return folder / "model.onnx", folder / "config.json", fused


def _source(path: Path, config: Path, fusion_setting: bool | None = None) -> str:
    return graph_source(path, "fp32", fusion_setting, config, cuda=False, threads=1)[0]


def _keep(fused: Path, decision: bool) -> Path:
    record = fusion_choice.choice_path(fused, threads=1)
    record.write_text(json.dumps({"fused": decision, "note": "written by the test"}))
    return record


def _no_measuring(monkeypatch) -> None:
    def fail(*args):
        pytest.fail("measured again")

    monkeypatch.setattr(fusion_choice, "_measure", fail)


@pytest.mark.slow
def test_the_measurement_runs_once_and_its_decision_is_kept(minilm, monkeypatch, caplog):
    path, config, fused = minilm
    with caplog.at_level(logging.INFO, logger="dfembed"):
        first = _source(path, config)
    (record_path,) = fused.parent.glob("*.choice.json")
    record = json.loads(record_path.read_text())
    assert first == str(fused if record["fused"] else path)
    assert record["rounds"] >= fusion_choice.MIN_ROUNDS and record["threads"] == 1
    assert record["short"] > 0 and record["long"] > 0 and record["cpu"]
    assert f"graph fusion {'on' if record['fused'] else 'off'}" in caplog.text
    _no_measuring(monkeypatch)
    assert _source(path, config) == first  # read back, not measured


def test_the_kept_decision_is_used(minilm, monkeypatch):
    path, config, fused = minilm
    _no_measuring(monkeypatch)
    _keep(fused, True)
    assert _source(path, config) == str(fused)
    _keep(fused, False)
    assert _source(path, config) == str(path)


def test_the_users_setting_wins(minilm, monkeypatch):
    path, config, fused = minilm
    _no_measuring(monkeypatch)
    _keep(fused, False)
    assert _source(path, config, True) == str(fused)
    _keep(fused, True)
    assert _source(path, config, False) == str(path)
    for record in fused.parent.glob("*.choice.json"):
        record.unlink()
    assert _source(path, config, True) == str(fused)  # and nothing is measured or kept
    assert not list(fused.parent.glob("*.choice.json"))


def test_cuda_runs_the_fused_graph_without_measuring(minilm, monkeypatch):
    path, config, fused = minilm
    _no_measuring(monkeypatch)
    got = graph_source(path, "fp32", None, config, cuda=True, threads=1)[0]
    assert got == str(fused)


def test_a_busy_machine_runs_unfused_and_measures_later(minilm, monkeypatch, caplog):
    path, config, fused = minilm
    monkeypatch.setattr(fusion_choice, "busy", lambda: True)
    monkeypatch.setattr(fusion_choice, "_SAID_BUSY", set())
    _no_measuring(monkeypatch)
    with caplog.at_level(logging.INFO, logger="dfembed"):
        assert _source(path, config) == str(path)
        assert _source(path, config) == str(path)
    assert caplog.text.count("too busy") == 1
    assert not list(fused.parent.glob("*.choice.json"))  # a quiet load measures


@pytest.mark.parametrize(
    ("short", "long", "fused"),
    [
        (0.91, 1.15, False),  # loses on short texts (the AVX2 EPYC), so not used
        (1.05, 1.08, True),  # wins at both lengths
        (1.00, 1.12, True),  # even on short ones, better on long ones
        (0.99, 1.15, False),  # slower on short ones, however much it gains on long ones
        (1.03, 1.04, False),  # too close to call: the model's own graph
    ],
)
def test_the_rule(minilm, monkeypatch, short, long, fused):
    path, config, fused_path = minilm
    ratio = {"short": short, "long": long}

    def sessions(graph, threads):
        name = "fused" if graph == fused_path else "unfused"

        class Timed:  # fused runs take 1 s, unfused ones the ratio's seconds
            def run(self, outputs, feed):
                length = "short" if feed["input_ids"].shape[1] == fusion_choice.SHORT else "long"
                clock["now"] += ratio[length] if name == "unfused" else 1.0

        return Timed()

    clock = {"now": 0.0}
    monkeypatch.setattr(fusion_choice, "_session", _real_inputs(sessions))
    monkeypatch.setattr(fusion_choice, "_clock", lambda: clock["now"])
    record = fusion_choice.calibrate(path, fused_path, config, threads=1)
    assert record["fused"] is fused, record
    assert record["short"] == pytest.approx(short) and record["long"] == pytest.approx(long)


def _real_inputs(fake):
    """``fake`` sessions, whose inputs are the real graph's (read once)."""
    real = fusion_choice._session

    def make(graph, threads):
        session = fake(graph, threads)
        inputs = real(graph, threads).get_inputs()
        session.get_inputs = lambda: inputs
        return session

    return make


def test_a_graph_whose_inputs_cannot_be_made_up_runs_unfused(fused_dir, tmp_path):
    import onnx

    path = tmp_path / "m" / "model.onnx"
    path.parent.mkdir()
    onnx.save(gelu_graph(0), str(path))  # one float input "x"
    config = bert_config(path.parent)
    assert fusion.fused_graph(path, config) is not None
    assert _source(path, config) == str(path)
    (record_path,) = fused_dir.glob("*.choice.json")
    record = json.loads(record_path.read_text())
    assert record["fused"] is False and "cannot make up values for input x" in record["error"]


def test_a_damaged_fused_file_is_dropped_while_measuring(minilm):
    path, config, fused = minilm
    fused.write_bytes(b"\x08\x07truncated")
    assert _source(path, config) == str(path)
    assert not fused.exists()  # fused afresh by the next load
    assert not list(fused.parent.glob("*.choice.json"))  # and measured then


def test_synthetic_batches_fit_the_model(minilm):
    path, config, _ = minilm
    feeds = fusion_choice._feeds(fusion_choice._session(path, 1), config)
    assert set(feeds) == {"short", "long"}
    for feed in feeds.values():
        ids = feed["input_ids"]
        assert ids.size <= fusion_choice.BATCH_TOKENS and ids.max() < 30522
        assert (feed["attention_mask"] == 1).all() and not feed["token_type_ids"].any()
    assert feeds["long"]["input_ids"].shape[1] == fusion_choice.LONG
    assert np.unique(feeds["short"]["input_ids"]).size > 100


def test_graph_fusion_takes_true_false_or_none():
    from dfembed.runtime.session import check_settings

    assert check_settings({"graph_fusion": None}) == (("graph_fusion", None),)
    with pytest.raises(ValueError, match=r"True or False or None \(measured on each machine\)"):
        check_settings({"graph_fusion": "auto"})
