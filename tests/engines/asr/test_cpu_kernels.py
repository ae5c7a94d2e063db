"""The int8 kernels are capped at AVX-512 unless the operator chose otherwise.

MKL picks AMX tiles for int8 products where the CPU has them, and their rounding changed
transcripts (and with them the audio regression tests) from an AVX-512 host to an AMX one;
:func:`carepipe.engines.asr.device.pin_cpu_kernels` caps it, and the engine calls it when it
loads its model, before the first decode.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from carepipe.engines.asr.device import CPU_KERNEL_CAP, pin_cpu_kernels

ROOT = Path(__file__).resolve().parents[3]
_LOAD = """
import os, sys
from carepipe.core.config import Settings
from carepipe.engines.asr.loader import load_asr_engine
load_asr_engine(Settings(_env_file=None, data_dir=sys.argv[1], asr_device="cpu"))
print(os.environ.get("MKL_ENABLE_INSTRUCTIONS"))
"""


def test_the_cap_is_a_default_an_operator_can_override(monkeypatch) -> None:
    monkeypatch.delenv("MKL_ENABLE_INSTRUCTIONS", raising=False)
    pin_cpu_kernels()
    assert os.environ["MKL_ENABLE_INSTRUCTIONS"] == CPU_KERNEL_CAP
    monkeypatch.setenv("MKL_ENABLE_INSTRUCTIONS", "AVX2")
    pin_cpu_kernels()
    assert os.environ["MKL_ENABLE_INSTRUCTIONS"] == "AVX2"


def test_loading_the_engine_caps_the_kernels_before_the_first_decode(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MKL_ENABLE_INSTRUCTIONS"}
    run = subprocess.run(
        [sys.executable, "-c", _LOAD, str(tmp_path / "var")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert run.stdout.strip().splitlines()[-1] == CPU_KERNEL_CAP
