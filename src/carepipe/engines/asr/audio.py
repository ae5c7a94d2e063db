"""Decode consultation audio bytes to 16 kHz mono float32 samples with PyAV (FFmpeg).

Every engine shares this so that "unreadable audio" means the same thing everywhere, and
so that the error raised is :class:`AudioUnreadable` with a PHI-free message (FFmpeg's
own messages can quote file names or metadata, so they are never passed on).
"""

from __future__ import annotations

import io

import numpy as np

from carepipe.core.errors import AudioUnreadable

SAMPLE_RATE = 16000
#: Formats we promise to accept (PyAV reads far more; these are the tested ones).
SUPPORTED_FORMATS = ("wav", "mp3", "m4a", "flac", "ogg")


def decode_audio(audio: bytes, *, sampling_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Decode ``audio`` (any container/codec FFmpeg knows) to mono float32 in [-1, 1].

    Raises :class:`AudioUnreadable` for empty input, input FFmpeg cannot open or decode,
    or input that decodes to no samples at all (e.g. a header with no audio frames).
    """
    if not audio:
        raise AudioUnreadable("audio is empty (0 bytes)")
    # Imported here: PyAV pulls in FFmpeg, which the HTTP-only engine does not need.
    import av
    from faster_whisper.audio import decode_audio as _fw_decode

    try:
        samples = _fw_decode(io.BytesIO(audio), sampling_rate=sampling_rate)
    except (av.FFmpegError, ValueError, IndexError, OSError, EOFError) as exc:
        raise AudioUnreadable(
            f"audio could not be decoded ({type(exc).__name__}); "
            f"supported formats: {', '.join(SUPPORTED_FORMATS)}"
        ) from None
    if not isinstance(samples, np.ndarray) or samples.size == 0:
        raise AudioUnreadable("audio contains no decodable samples")
    return np.ascontiguousarray(samples, dtype=np.float32)


def audio_seconds(samples: np.ndarray, *, sampling_rate: int = SAMPLE_RATE) -> float:
    """Duration of decoded ``samples`` in seconds."""
    return float(samples.shape[0]) / float(sampling_rate)


def probe_seconds(audio: bytes) -> float:
    """Duration of encoded ``audio`` from its container, decoding only if it must.

    For engines that send the bytes elsewhere but still report a real-time factor.
    Raises :class:`AudioUnreadable` like :func:`decode_audio`.
    """
    if not audio:
        raise AudioUnreadable("audio is empty (0 bytes)")
    import av

    try:
        with av.open(io.BytesIO(audio), mode="r", metadata_errors="ignore") as container:
            if container.duration and container.duration > 0:
                return float(container.duration) / float(av.time_base)
    except (av.FFmpegError, ValueError, IndexError, OSError, EOFError):
        pass  # fall through: decode_audio raises the one error callers expect
    return audio_seconds(decode_audio(audio))
