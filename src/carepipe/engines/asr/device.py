"""Where faster-whisper runs: ``CAREPIPE_ASR_DEVICE`` = auto | cpu | cuda.

CTranslate2 decides what hardware exists; CarePipe only asks it. ``auto`` picks ``cuda``
when ``ctranslate2.get_cuda_device_count()`` reports at least one device (the CUDA build
of CTranslate2 and its cuBLAS/cuDNN libraries are installed and a GPU is visible), else
``cpu``. An explicit ``cuda`` on a host without a device is an error at start-up, not a
silent fall-back to a CPU that would run ten times slower than planned.

The compute type follows the device: ``int8`` on CPU (the speed/accuracy point measured on
the scribe clips), ``float16`` on GPU (tensor cores; int8 on GPU saves memory, not time).
The device and compute type are part of the model version (``.../cpu-int8``): the same
weights decode slightly differently on each, and monitoring compares like with like.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from carepipe.core.errors import EngineUnavailable

DEVICES = ("auto", "cpu", "cuda")
#: The widest instruction set MKL may use for CTranslate2's int8 products on a CPU. On hosts
#: with AMX (Intel Sapphire Rapids and newer) MKL otherwise runs them on AMX tiles, whose
#: rounding differs from AVX-512's: the same recording gave another transcript there (the
#: "montasonne" that the drug-slot rescoring tests rely on became "mometasone"), so figures
#: measured on an AVX-512 host did not hold on the next. Capped, an AMX host decodes as an
#: AVX-512 host does, for about 10 % more decoding time. (AVX2-only hosts still differ in
#: small ways, and other numerics, such as the VAD's, are not capped: transcripts are
#: reproducible on one host, not across every CPU.) An operator who prefers the speed sets
#: ``MKL_ENABLE_INSTRUCTIONS`` to a wider value (MKL's own names) before starting CarePipe.
CPU_KERNEL_CAP = "AVX512"
COMPUTE_TYPES = {"cpu": "int8", "cuda": "float16"}


def cuda_device_count() -> int:
    """CUDA devices CTranslate2 can use (0 when its CPU-only build or no GPU)."""
    try:
        import ctranslate2

        return int(ctranslate2.get_cuda_device_count())
    except Exception:  # an odd build or a broken driver reads as "no GPU"
        return 0


def resolve_device(requested: str | None, *, count: Callable[[], int] = cuda_device_count) -> str:
    """``cpu`` or ``cuda`` for the setting ``requested`` (auto | cpu | cuda; empty is auto).

    ``count`` tells how many CUDA devices there are (CTranslate2's answer by default).
    Raises :class:`EngineUnavailable` for an unknown value, or ``cuda`` without a device.
    """
    value = (requested or "auto").strip().lower()
    if value not in DEVICES:
        raise EngineUnavailable(
            f"unknown CAREPIPE_ASR_DEVICE {requested!r}; expected one of {', '.join(DEVICES)}"
        )
    if value == "auto":
        return "cuda" if count() > 0 else "cpu"
    if value == "cuda" and count() <= 0:
        raise EngineUnavailable(
            "CAREPIPE_ASR_DEVICE=cuda but CTranslate2 sees no CUDA device "
            "(see docs/monitoring.md, 'ASR on a GPU host')"
        )
    return value


def pin_cpu_kernels() -> None:
    """Cap MKL at :data:`CPU_KERNEL_CAP` unless the operator chose a value; call it before
    the first model runs on the CPU (MKL reads the variable on its first product)."""
    os.environ.setdefault("MKL_ENABLE_INSTRUCTIONS", CPU_KERNEL_CAP)


def compute_type_for(device: str) -> str:
    """The compute type for ``device``: int8 on CPU, float16 on CUDA."""
    return COMPUTE_TYPES[device]
