"""The session factory: device policies and clear errors for files that do not load."""

from __future__ import annotations

from pathlib import Path

import pytest

from dfembed import DeviceUnavailableError, ModelLoadError
from dfembed.runtime import devices
from dfembed.runtime.session import SessionOptions, create_session

pytestmark = pytest.mark.skipif(devices.gpu_count() > 0, reason="checks the no-GPU behaviour")


def test_cuda_true_without_gpu_raises(minilm_int8):
    with pytest.raises(DeviceUnavailableError, match='cuda="auto"'):
        create_session(Path(minilm_int8) / "model.onnx", SessionOptions(cuda=True))


def test_cuda_auto_falls_back_to_cpu_quietly(minilm_int8):
    session = create_session(Path(minilm_int8) / "model.onnx", SessionOptions(cuda="auto"))
    assert session.get_providers() == ["CPUExecutionProvider"]


def test_threads_are_applied(minilm_int8):
    session = create_session(Path(minilm_int8) / "model.onnx", SessionOptions(threads=1))
    assert session.get_session_options().intra_op_num_threads == 1


def test_truncated_onnx_raises_model_load_error(tmp_path, minilm_int8):
    data = (Path(minilm_int8) / "model.onnx").read_bytes()
    bad = tmp_path / "model.onnx"
    bad.write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelLoadError, match="truncated or corrupt"):
        create_session(bad, SessionOptions())


def test_bad_policy_is_rejected():
    with pytest.raises(ValueError, match="cuda must be"):
        devices.use_cuda("yes")
