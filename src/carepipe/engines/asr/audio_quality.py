"""How good is the recording itself? An SNR estimate and the share of it that is speech.

A noisy room or a phone in a pocket makes every recogniser worse; monitoring needs to tell
"the model got worse" from "the audio got worse". Both figures come from the decoded
16 kHz samples with numpy, in about a millisecond per minute of audio:

- ``speech_ratio``: seconds of speech (the Silero VAD chunks faster-whisper already
  computes, or, without them, frames well above the noise floor) over the duration;
- ``snr_db``: ``10 log10((P_speech - P_noise) / P_noise)`` with ``P_speech`` the mean
  power of the 30 ms frames inside speech and ``P_noise`` the median power of the frames
  outside it. With less than :data:`MIN_NOISE_SECONDS` of non-speech (someone talked
  throughout) the noise floor is the 10th percentile of all frame powers instead. The
  result is clamped to ``[MIN_SNR_DB, MAX_SNR_DB]``: digital silence between words would
  otherwise read as infinite;
- ``bandwidth_hz``: the frequency under which 99.5 % of the speech's spectral energy lies.
  A telephone line passes 300-3400 Hz, so a call (or a recording made from one) reads
  about 3.1-3.4 kHz, and a room microphone 4.5-6 kHz or more (measured on the scribe
  evaluation's clean, noisy and telephone clips). Under :data:`NARROWBAND_HZ` the
  recording is *narrowband*: the recogniser loses the consonants that tell "fifteen" from
  "fifty", so the scribe sends every heard number to review (``narrowband_audio``).

It is an estimate (speech and noise overlap in the speech frames), good for trends and for
flagging bad recordings, not a lab measurement; the tests check it tracks a known mix of speech
and white noise within a few dB.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from carepipe.engines.asr.audio import SAMPLE_RATE

FRAME_SECONDS = 0.03
MIN_NOISE_SECONDS = 0.5
MIN_SNR_DB = -10.0
MAX_SNR_DB = 60.0
#: Without VAD chunks, frames this many dB over the noise floor count as speech.
ENERGY_SPEECH_DB = 10.0
#: Default for "low SNR" (CAREPIPE_ASR_LOW_SNR_DB overrides it in the scribe pipeline).
LOW_SNR_DB = 10.0
#: Under this bandwidth (99.5 % of the speech energy) a recording is narrowband.
NARROWBAND_HZ = 4000.0
_BANDWIDTH_ENERGY = 0.995
_FFT = 512
_EPS = 1e-12


def _frame_powers(samples: np.ndarray, frame: int) -> np.ndarray:
    n = samples.shape[0] // frame
    if n == 0:
        return np.zeros(0, dtype=np.float64)
    frames = samples[: n * frame].astype(np.float64).reshape(n, frame)
    return np.mean(frames * frames, axis=1)


def _speech_mask(
    n_frames: int, frame: int, chunks: Sequence[dict[str, Any]], sampling_rate: int
) -> np.ndarray:
    """Frames overlapping a VAD chunk (``{"start": sample, "end": sample}``) are speech."""
    mask = np.zeros(n_frames, dtype=bool)
    for c in chunks:
        lo = max(0, int(c["start"]) // frame)
        hi = min(n_frames, -(-int(c["end"]) // frame))
        if hi > lo:
            mask[lo:hi] = True
    return mask


def _bandwidth_hz(samples: np.ndarray, mask: np.ndarray, frame: int, sampling_rate: int) -> float:
    """Frequency under which :data:`_BANDWIDTH_ENERGY` of the speech frames' energy lies."""
    speech = (
        samples[: mask.size * frame].reshape(mask.size, frame)[mask].ravel()
        if mask.any()
        else samples
    )
    n = speech.shape[0] // _FFT
    if n == 0:
        return 0.0
    frames = speech[: n * _FFT].astype(np.float64).reshape(n, _FFT) * np.hanning(_FFT)
    power = np.mean(np.abs(np.fft.rfft(frames, axis=1)) ** 2, axis=0)
    total = float(np.sum(power))
    if total <= _EPS:
        return 0.0
    cumulative = np.cumsum(power) / total
    return float(np.searchsorted(cumulative, _BANDWIDTH_ENERGY)) * sampling_rate / _FFT


def audio_features(
    samples: np.ndarray,
    speech_chunks: Sequence[dict[str, Any]] | None = None,
    *,
    sampling_rate: int = SAMPLE_RATE,
) -> dict[str, float]:
    """``duration_seconds``, ``speech_seconds``, ``speech_ratio``, ``snr_db`` and
    ``bandwidth_hz`` of ``samples``.

    ``speech_chunks`` are VAD chunks in samples (Silero's ``get_speech_timestamps``
    output); ``None`` falls back to an energy threshold. Empty audio gives zeros.
    """
    frame = max(1, int(FRAME_SECONDS * sampling_rate))
    powers = _frame_powers(np.asarray(samples), frame)
    duration = float(np.asarray(samples).shape[0]) / float(sampling_rate)
    if powers.size == 0:
        return {
            "duration_seconds": round(duration, 3),
            "speech_seconds": 0.0,
            "speech_ratio": 0.0,
            "snr_db": 0.0,
            "bandwidth_hz": 0.0,
        }
    floor = float(np.percentile(powers, 10))
    if speech_chunks is None:
        mask = powers > max(floor, _EPS) * 10 ** (ENERGY_SPEECH_DB / 10)
    else:
        mask = _speech_mask(powers.size, frame, speech_chunks, sampling_rate)
    speech_frames, other = powers[mask], powers[~mask]
    frame_seconds = frame / float(sampling_rate)
    enough_noise = other.size * frame_seconds >= MIN_NOISE_SECONDS
    noise = float(np.median(other)) if enough_noise else floor
    # No frame stood out as speech: noise as loud as the speech, or no speech at all.
    # The mean power over the floor still says how loud the loudest part is.
    signal = float(np.mean(speech_frames)) if speech_frames.size else float(np.mean(powers))
    snr = 10.0 * np.log10(max(signal - noise, _EPS) / max(noise, _EPS))
    speech_seconds = min(duration, float(mask.sum()) * frame_seconds)
    return {
        "duration_seconds": round(duration, 3),
        "speech_seconds": round(speech_seconds, 3),
        "speech_ratio": round(speech_seconds / duration, 4) if duration > 0 else 0.0,
        "snr_db": round(float(np.clip(snr, MIN_SNR_DB, MAX_SNR_DB)), 2),
        "bandwidth_hz": round(_bandwidth_hz(np.asarray(samples), mask, frame, sampling_rate)),
    }


def audio_features_of(audio: bytes) -> dict[str, float]:
    """:func:`audio_features` of encoded ``audio`` (decoded here; Silero VAD chunks).

    For engines that never decode the audio themselves (the remote one). Raises
    ``AudioUnreadable`` like :func:`carepipe.engines.asr.audio.decode_audio`.
    """
    from carepipe.engines.asr.audio import decode_audio

    samples = decode_audio(audio)
    return audio_features(samples, speech_chunks(samples))


def speech_chunks(samples: np.ndarray) -> list[dict[str, Any]]:
    """Silero VAD speech chunks (in samples), as faster-whisper computes them."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    return list(get_speech_timestamps(samples, VadOptions()))
