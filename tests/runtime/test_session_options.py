"""``session_options=``: ONNX Runtime memory settings, checked early and applied."""

from __future__ import annotations

import pytest

from dfembed.runtime.session import check_settings


def test_session_options_reach_onnxruntime(minilm_int8):
    import pandas as pd

    from dfembed.encoders.load import get_encoder
    from dfembed.spec import ModelSpec

    settings = check_settings({"cpu_mem_arena": False, "gpu_mem_limit": 2**30})
    encoder = get_encoder(ModelSpec(model=minilm_int8, session_options=settings))
    assert encoder.session.get_session_options().enable_cpu_mem_arena is False
    default = get_encoder(ModelSpec(model=minilm_int8))
    assert default.session.get_session_options().enable_cpu_mem_arena is True
    df = pd.DataFrame({"t": ["a sentence", "another one"]})
    off = df.embed.text("t", model=minilm_int8, session_options={"cpu_mem_arena": False})
    on = df.embed.text("t", model=minilm_int8)
    assert off.tolist() == on.tolist()


@pytest.mark.parametrize(
    "settings, error, message",
    [
        ({"cpu_arena": False}, TypeError, "Unknown session option"),
        ({"cpu_mem_arena": "no"}, ValueError, "True or False"),
        ({"gpu_mem_limit": -1}, ValueError, "positive number of bytes"),
        ({"arena_extend_strategy": "fast"}, ValueError, "kNextPowerOfTwo"),
    ],
)
def test_bad_session_options_fail_at_call_time(minilm_int8, settings, error, message):
    import pandas as pd

    with pytest.raises(error, match=message):
        pd.DataFrame({"t": ["x"]}).embed.text("t", model=minilm_int8, session_options=settings)
