"""What the CPU is, read from ``/proc/cpuinfo``: :mod:`dfembed.runtime.cpu`."""

from __future__ import annotations

import pytest

from dfembed.runtime import cpu

X86 = (
    "processor\t: 0",
    "model name\t: AMD EPYC 7B13",
    "flags\t\t: fpu avx2 sse4_2 avx512_vnni",
)
ARM = ("processor\t: 0", "Features\t: fp asimd asimddp crc32")


@pytest.fixture
def cpuinfo(monkeypatch):
    def use(lines):
        monkeypatch.setattr(cpu, "_cpuinfo", lambda: tuple(lines))

    return use


def test_model_and_sorted_flags_of_an_x86_cpu(cpuinfo):
    cpuinfo(X86)
    assert cpu.cpu_model() == "AMD EPYC 7B13"
    assert cpu.cpu_flags() == ["avx2", "avx512_vnni", "fpu", "sse4_2"]
    assert cpu.int8_dot_products() == ["avx512_vnni"]


def test_arm_features_count_as_flags(cpuinfo):
    cpuinfo(ARM)
    assert cpu.int8_dot_products() == ["asimddp"]


def test_without_cpuinfo_there_are_no_flags_and_a_platform_name(cpuinfo, monkeypatch):
    cpuinfo(())
    monkeypatch.setattr(cpu.platform, "processor", lambda: "")
    monkeypatch.setattr(cpu.platform, "machine", lambda: "arm64")
    assert cpu.cpu_flags() == [] and cpu.int8_dot_products() == []
    assert cpu.cpu_model() == "arm64"
    assert not cpu.is_x86()
