"""Device placement per host and the CUDA libraries, decided without a GPU.

The driver's GPU count (:func:`devices.gpu_count`) and ONNX Runtime's ``preload_dlls`` are
replaced here, so the rules run on any machine: what a worker with a given local rank would
use, and what ``cuda=True`` / ``"auto"`` do when the CUDA libraries are missing.
"""

from __future__ import annotations

import logging
from pathlib import Path

import onnxruntime as ort
import pytest

from dfembed import DeviceUnavailableError
from dfembed.runtime import devices
from dfembed.runtime.session import SessionOptions, create_session

#: what ``preload_dlls`` of onnxruntime-gpu 1.31 printed on a machine without the libraries
PRINTED = (
    "Failed to load libcublasLt.so.13: libcublasLt.so.13: cannot open shared object file: "
    "No such file or directory\n"
    "Failed to load /site/nvidia/cu13/lib/libcublas.so.13: undefined symbol: x\n"
    "Failed to load libcublasLt.so.13: libcublasLt.so.13: cannot open shared object file\n"
    "Please follow https://onnxruntime.ai/docs/install/#cuda-and-cudnn to install CUDA.\n"
)


@pytest.fixture()
def gpus(monkeypatch):
    """Set how many GPUs the driver reports (and forget what was logged or preloaded)."""
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(devices, "_said", set())
    devices._preload.cache_clear()

    def set_count(n: int) -> None:
        monkeypatch.setattr(devices, "gpu_count", lambda: n)

    yield set_count
    devices._preload.cache_clear()


def _devices(cuda, device_ids, ranks, host="10.0.0.5"):
    return [devices.place(cuda, device_ids, host, r, f"w{r}").device_id for r in ranks]


def test_device_ids_round_robin_by_local_rank(gpus):
    gpus(2)
    assert _devices("auto", (0, 1), range(5)) == [0, 1, 0, 1, 0]
    assert _devices(True, (1,), range(3)) == [1, 1, 1]
    # without GPUs the plan is still what the worker would use (shown by devices())
    gpus(0)
    assert _devices("auto", (0, 1), range(3)) == [0, 1, 0]


def test_default_is_every_gpu_of_the_host(gpus, monkeypatch):
    gpus(4)
    assert _devices("auto", None, range(6)) == [0, 1, 2, 3, 0, 1]
    assert _devices(True, None, range(2)) == [0, 1]
    assert _devices(False, None, range(2)) == [None, None]  # no GPU planned on the CPU
    assert _devices(False, (0, 1), range(2)) == [None, None]
    # dask-cuda style: the worker's own CUDA_VISIBLE_DEVICES puts its GPU first
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,0,1,2")
    assert _devices("auto", None, range(3)) == [0, 0, 0]
    gpus(0)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert _devices("auto", None, range(2)) == [None, None]


def test_a_gpu_the_host_lacks_is_an_error_naming_worker_host_and_gpus(gpus, monkeypatch):
    gpus(2)
    with pytest.raises(DeviceUnavailableError) as info:
        devices.place("auto", (0, 3), "10.0.0.7", 0, "'a' (tcp://10.0.0.7:4000)")
    message = str(info.value)
    assert "GPU 3" in message and "'a' (tcp://10.0.0.7:4000)" in message
    assert "host 10.0.0.7 has 2 GPUs: GPUs [0, 1]" in message
    assert "leave device_ids out" in message
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5")
    gpus(1)
    with pytest.raises(DeviceUnavailableError, match=r"1 GPU \(CUDA_VISIBLE_DEVICES=5\)"):
        devices.place(True, (0, 1), "h", 1, "w")
    # cuda=False asks for no GPU: nothing to check
    assert devices.place(False, (0, 9), "h", 0, "w").device_id is None


def test_more_workers_than_gpus_share_and_it_is_said_once_per_host_and_gpus(gpus, caplog):
    gpus(2)
    with caplog.at_level(logging.WARNING, logger="dfembed"):
        first = [devices.place("auto", None, "hostA", r, f"a{r}") for r in range(4)]
        again = devices.place("auto", None, "hostA", 2, "a2-replacement")
        other = [devices.place("auto", (0, 0, 1), "hostB", r, f"b{r}") for r in range(3)]
    assert [p.shared for p in first] == [False, False, True, True] and again.shared
    assert [(p.device_id, p.shared) for p in other] == [(0, False), (0, True), (1, False)]
    said = [r.getMessage() for r in caplog.records if "more workers than GPUs" in r.getMessage()]
    assert len(said) == 2, said
    assert "host hostA" in said[0] and "GPUs [0, 1]" in said[0] and "a2" in said[0]
    assert "host hostB" in said[1] and "local rank 1" in said[1]


def test_two_models_over_different_gpus_each_say_that_they_share(gpus, caplog):
    """One worker sets up one plugin per model, in whatever order their rank replies come
    back: the first model's sharing line must not swallow the second's."""
    gpus(3)
    with caplog.at_level(logging.WARNING, logger="dfembed"):
        for pool in [(0, 2), (0, 1), (0, 2)]:
            assert devices.place("auto", pool, "hostC", 2, "c2").shared
    said = [r.getMessage() for r in caplog.records if "more workers than GPUs" in r.getMessage()]
    assert len(said) == 2, said
    assert "GPUs [0, 2]" in said[0] and "GPUs [0, 1]" in said[1]


def test_missing_library_names_are_read_from_preload_output():
    assert devices.missing_libraries(PRINTED) == ["libcublasLt.so.13", "libcublas.so.13"]
    assert devices.missing_libraries("") == []


def _fake_preload(monkeypatch, printed: str, calls: list):
    def preload_dlls(*args, **kwargs):
        calls.append("preload")
        print(printed, end="")

    monkeypatch.setattr(ort, "preload_dlls", preload_dlls)
    monkeypatch.setattr(devices, "_loads", lambda name: True)  # cuDNN: found
    providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]  # an onnxruntime-gpu build
    monkeypatch.setattr(ort, "get_available_providers", lambda: providers)


def test_missing_cuda_libraries_are_named_with_the_install_command(gpus, monkeypatch, caplog):
    gpus(1)
    calls: list = []
    _fake_preload(monkeypatch, PRINTED, calls)
    with pytest.raises(DeviceUnavailableError) as info:
        devices.use_cuda(True)
    message = str(info.value)
    assert "libcublasLt.so.13, libcublas.so.13" in message
    assert "pip install 'dfembed[gpu]'" in message and 'cuda="auto"' in message
    with caplog.at_level(logging.WARNING, logger="dfembed"):
        assert devices.use_cuda("auto") is False
        assert devices.use_cuda("auto") is False
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1 and "runs on the CPU although the driver reports 1 GPU" in said[0]
    assert "libcublasLt.so.13" in said[0] and "dfembed[gpu]" in said[0]
    assert calls == ["preload"]  # once per process


def test_missing_cudnn_is_named(gpus, monkeypatch):
    gpus(1)
    _fake_preload(monkeypatch, "", [])
    monkeypatch.setattr(devices, "_loads", lambda name: name != "libcudnn.so.9")
    if devices.platform.system() != "Linux":
        pytest.skip("cuDNN's file name is checked on Linux")
    with pytest.raises(DeviceUnavailableError, match=r"cannot find libcudnn\.so\.9 .*cuDNN 9"):
        devices.use_cuda(True)


def test_a_build_without_the_cuda_provider_says_how_to_get_it(gpus, monkeypatch):
    gpus(1)
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    with pytest.raises(DeviceUnavailableError, match=r"no CUDA provider.*dfembed\[gpu\]"):
        devices.use_cuda(True)


def test_cuda_true_without_a_gpu_says_so(gpus):
    gpus(0)
    with pytest.raises(DeviceUnavailableError, match="reports no GPU"):
        devices.use_cuda(True)


def test_libraries_are_preloaded_once_before_the_first_cuda_session(
    gpus, monkeypatch, caplog, minilm_int8
):
    """With a (pretended) GPU and the libraries found, the session asks for CUDA: here the
    provider then fails to load, so "auto" runs on the CPU and says so, once."""
    gpus(1)
    calls: list = []
    _fake_preload(monkeypatch, "", calls)
    real = ort.InferenceSession

    def session(*args, **kwargs):
        calls.append("session")
        return real(*args, **kwargs)

    monkeypatch.setattr(ort, "InferenceSession", session)
    path = Path(minilm_int8) / "model.onnx"
    with caplog.at_level(logging.WARNING, logger="dfembed"):
        first = create_session(path, SessionOptions(cuda="auto"))
        create_session(path, SessionOptions(cuda="auto"))
    assert calls == ["preload", "session", "session"]
    if devices.CUDA not in first.get_providers():  # no usable GPU here, as on CI
        said = [r.getMessage() for r in caplog.records]
        assert len(said) == 1 and "the CUDA provider did not load for GPU 0" in said[0]


def test_auto_on_a_machine_without_gpus_is_quiet(gpus, monkeypatch, caplog):
    gpus(0)
    calls: list = []
    _fake_preload(monkeypatch, PRINTED, calls)
    with caplog.at_level(logging.DEBUG, logger="dfembed"):
        assert devices.use_cuda("auto") is False
    assert calls == [] and not caplog.records
