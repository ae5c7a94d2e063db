"""Decoding: the formats we accept, and the ones we must refuse as AudioUnreadable."""

from __future__ import annotations

import io
import wave

import av
import numpy as np
import pytest

from carepipe.core.errors import AudioUnreadable
from carepipe.engines.asr.audio import decode_audio, probe_seconds
from tests.engines.asr.conftest import clip

SR = 16000


def _wav_first_seconds(seconds: float) -> np.ndarray:
    return decode_audio(clip("c01.wav"))[: int(seconds * SR)]


def _encode_m4a(samples: np.ndarray) -> bytes:
    """AAC in an MP4 container, written with PyAV's bundled FFmpeg (what phones record)."""
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("aac", rate=SR, layout="mono")
        pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = SR
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def _aligned_similarity(decoded: np.ndarray, reference: np.ndarray) -> float:
    """Correlation of ``decoded`` with ``reference`` after removing the codec's delay.

    Lossy encoders prepend up to ~0.2 s (MP3: ~1100 samples); the delay is found by FFT
    cross-correlation, then the aligned signals are compared.
    """
    n = len(reference)
    size = 1 << (2 * n).bit_length()
    xcorr = np.fft.irfft(np.fft.rfft(decoded[:n], size) * np.conj(np.fft.rfft(reference, size)))
    lag = int(np.argmax(xcorr[: SR // 5]))  # delays of 0..200 ms only
    shifted = decoded[lag:]
    m = min(len(shifted), n)
    return float(np.corrcoef(shifted[:m], reference[:m])[0, 1])


def test_wav_decodes_to_16k_mono_float() -> None:
    samples = decode_audio(clip("c01.wav"))
    with wave.open(io.BytesIO(clip("c01.wav"))) as w:
        frames = w.getnframes()
    assert samples.dtype == np.float32
    assert samples.shape == (frames,)
    assert 0.3 < float(np.abs(samples).max()) <= 1.0


def test_flac_is_lossless_copy_of_the_wav_opening() -> None:
    flac = decode_audio(clip("c01.flac"))
    wav = _wav_first_seconds(10.0)
    assert flac.shape == wav.shape
    assert np.array_equal(flac, wav)


@pytest.mark.parametrize("name", ["c01.ogg", "c01.mp3"])
def test_lossy_containers_decode_to_the_same_speech(name: str) -> None:
    decoded = decode_audio(clip(name))
    assert abs(len(decoded) / SR - 10.0) < 0.2
    wav = _wav_first_seconds(10.0)
    assert _aligned_similarity(decoded, wav) > 0.9


def test_m4a_decodes() -> None:
    wav = _wav_first_seconds(5.0)
    decoded = decode_audio(_encode_m4a(wav))
    assert abs(len(decoded) - len(wav)) < SR * 0.25  # AAC pads to whole frames
    assert _aligned_similarity(decoded, wav) > 0.9


def test_stereo_44k_is_downmixed_and_resampled() -> None:
    t = np.arange(44100) / 44100
    tone = (0.5 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes(np.repeat(tone, 2).tobytes())
    samples = decode_audio(buf.getvalue())
    assert abs(len(samples) - SR) <= 16
    # 440 Hz survives resampling: the spectrum peaks there.
    spectrum = np.abs(np.fft.rfft(samples))
    peak_hz = np.argmax(spectrum) * SR / len(samples)
    assert abs(peak_hz - 440) < 5


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(clip("corrupt.wav"), id="corrupt-file"),
        pytest.param(b"", id="empty"),
        pytest.param(clip("c01.wav")[:44], id="header-only"),
        pytest.param(b"this is a text file, not audio\n" * 20, id="text"),
        pytest.param(b"%PDF-1.4\n" + bytes(range(256)) * 8, id="pdf-like"),
    ],
)
def test_unreadable_input_raises_audio_unreadable(payload: bytes) -> None:
    with pytest.raises(AudioUnreadable) as info:
        decode_audio(payload)
    assert info.value.retryable is False
    assert info.value.code == "audio_unreadable"


def test_probe_seconds_reads_the_container() -> None:
    assert probe_seconds(clip("c01.flac")) == pytest.approx(10.0, abs=0.05)
    with wave.open(io.BytesIO(clip("c02.wav"))) as w:
        expected = w.getnframes() / w.getframerate()
    assert probe_seconds(clip("c02.wav")) == pytest.approx(expected, abs=0.05)
    with pytest.raises(AudioUnreadable):
        probe_seconds(clip("corrupt.wav"))


def test_similarity_check_tells_different_speech_apart() -> None:
    # Guards the two tests above: another consultation's opening must not pass as c01's.
    other = decode_audio(clip("c02.wav"))[: 10 * SR]
    assert _aligned_similarity(decode_audio(clip("c01.ogg")), other) < 0.5
