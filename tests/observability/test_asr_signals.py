"""The ASR's own quality signals (issue 14): SNR and speech ratio of the recording, the
hallucination and low-SNR flags, and where faster-whisper runs (CAREPIPE_ASR_DEVICE)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from carepipe.core.config import Settings
from carepipe.core.errors import EngineUnavailable
from carepipe.engines.asr import load_asr_engine
from carepipe.engines.asr.audio import SAMPLE_RATE, decode_audio
from carepipe.engines.asr.audio_quality import audio_features, speech_chunks
from carepipe.engines.asr.device import compute_type_for, cuda_device_count, resolve_device
from carepipe.engines.asr.quality import assess
from carepipe.engines.asr.types import Segment, Transcript, Word

DATA = Path(__file__).resolve().parents[1] / "data" / "scribe"


@pytest.fixture(scope="module")
def clean() -> np.ndarray:
    # c01: espeak-ng speech with digital silence between words (no noise of its own).
    return decode_audio((DATA / "c01.wav").read_bytes())


def _mix(speech: np.ndarray, snr_db: float, seed: int = 7) -> np.ndarray:
    """``speech`` plus white noise at ``snr_db`` below the speech's own power."""
    chunks = speech_chunks(speech)
    power = float(np.mean(np.concatenate([speech[c["start"] : c["end"]] for c in chunks]) ** 2))
    noise = np.random.default_rng(seed).standard_normal(speech.shape[0])
    return (speech + noise * np.sqrt(power / 10 ** (snr_db / 10))).astype(np.float32)


@pytest.mark.parametrize("snr_db", [5.0, 10.0, 20.0, 30.0])
def test_the_snr_estimate_tracks_a_known_mix(clean, snr_db):
    mixed = _mix(clean, snr_db)
    measured = audio_features(mixed, speech_chunks(mixed))["snr_db"]
    assert measured == pytest.approx(snr_db, abs=2.0)
    # Without VAD chunks (the energy fallback) it is rougher but still ordered.
    assert audio_features(mixed)["snr_db"] == pytest.approx(snr_db, abs=4.0)


def test_clean_speech_reads_high_and_noise_alone_reads_low(clean):
    assert audio_features(clean, speech_chunks(clean))["snr_db"] >= 40
    noise = np.random.default_rng(1).standard_normal(SAMPLE_RATE * 10).astype(np.float32) * 0.05
    assert audio_features(noise, speech_chunks(noise))["snr_db"] < 3


def test_speech_ratio_counts_the_silence_around_speech(clean):
    silence = np.zeros(SAMPLE_RATE * 10, dtype=np.float32)
    padded = np.concatenate([silence, clean, silence])
    f = audio_features(padded, speech_chunks(padded))
    expected = len(clean) / len(padded)  # ~0.51: 21 s of speech in 41 s
    assert f["speech_ratio"] == pytest.approx(expected, abs=0.08)
    assert f["duration_seconds"] == pytest.approx(len(padded) / SAMPLE_RATE, abs=0.01)
    assert audio_features(np.zeros(0, dtype=np.float32))["speech_ratio"] == 0.0


def _t(segments: list[Segment], *, snr: float | None = None) -> Transcript:
    extra = {"speech_seconds": 12.0, "speech_end": 12.0}
    if snr is not None:
        extra["audio"] = {"snr_db": snr, "speech_ratio": 0.8, "duration_seconds": 12.0}
    return Transcript(
        text=" ".join(s.text for s in segments),
        segments=segments,
        language="en",
        audio_seconds=12.0,
        processing_seconds=1.0,
        rtf=0.1,
        engine="test",
        model_version="test",
        extra=extra,
    )


def _seg(start, end, text, *, logprob=-0.2, **kw) -> Segment:
    words = tuple(Word(start + i * 0.3, start + i * 0.3 + 0.25, " " + w, 0.9)
                  for i, w in enumerate(text.split()))  # fmt: skip
    return Segment.from_logprob(start, end, text, logprob, words=words, **kw)


NORMAL = (
    "Your blood pressure is one forty over ninety and your pulse is eighty eight. "
    "I'll start amlodipine five milligrams once a day. Come back in four weeks."
)


def test_low_snr_is_a_flag_not_a_suspect_transcript():
    noisy = assess(_t([_seg(0, 12, NORMAL)], snr=6.0), low_snr_db=10.0)
    assert noisy.flags == ["low_snr"] and not noisy.suspect
    assert noisy.metrics["snr_db"] == 6.0 and noisy.metrics["speech_ratio"] == 0.8
    assert assess(_t([_seg(0, 12, NORMAL)], snr=25.0), low_snr_db=10.0).flags == []
    # An engine that measured nothing: no SNR, no flag.
    assert "snr_db" not in assess(_t([_seg(0, 12, NORMAL)])).metrics


def test_loops_and_text_over_silence_are_suspected_hallucinations_with_their_segments():
    looped = "heart rate 1.10, " * 12
    report = assess(
        _t(
            [
                _seg(0, 6, NORMAL, compression_ratio=1.4, no_speech_prob=0.01),
                _seg(6, 9, looped, compression_ratio=3.1, no_speech_prob=0.02),
                _seg(9, 12, "thank you", logprob=-1.4, no_speech_prob=0.9),
            ]
        )
    )
    assert "hallucination_suspected" in report.flags and report.suspect
    by_index = {s["index"]: s for s in report.segments}
    assert set(by_index) == {1, 2}
    assert by_index[1]["reasons"] == ["high_compression_ratio"]
    assert by_index[2]["reasons"] == ["no_speech"] and by_index[2]["no_speech_prob"] == 0.9
    assert report.metrics["min_avg_logprob"] == -1.4
    assert report.metrics["max_no_speech_prob"] == 0.9
    # Segment entries are numbers and codes: the transcript's words stay out of job results.
    assert "heart" not in str(report.segments)


def test_device_selection():
    assert resolve_device("auto", count=lambda: 0) == "cpu"
    assert resolve_device("", count=lambda: 0) == "cpu"
    assert resolve_device("auto", count=lambda: 2) == "cuda"
    assert resolve_device("CPU", count=lambda: 2) == "cpu"
    assert resolve_device("cuda", count=lambda: 1) == "cuda"
    with pytest.raises(EngineUnavailable, match="no CUDA device"):
        resolve_device("cuda", count=lambda: 0)
    with pytest.raises(EngineUnavailable, match="unknown CAREPIPE_ASR_DEVICE"):
        resolve_device("tpu", count=lambda: 0)
    assert compute_type_for("cpu") == "int8" and compute_type_for("cuda") == "float16"


def test_auto_asks_ctranslate2():
    import ctranslate2

    assert cuda_device_count() == ctranslate2.get_cuda_device_count()
    expected = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    assert resolve_device("auto") == expected


def test_the_cpu_engine_names_its_device_and_measures_the_audio(tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path, asr_device="cpu")  # type: ignore[call-arg]
    engine = load_asr_engine(settings)
    assert engine.model_version.endswith("/cpu-int8")
    t = engine.transcribe((DATA / "c01.flac").read_bytes())
    assert t.model_version == engine.model_version
    assert t.extra["device"] == "cpu" and t.extra["compute_type"] == "int8"
    audio = t.extra["audio"]
    assert audio["snr_db"] >= 40 and 0.5 < audio["speech_ratio"] <= 1.0
    assert audio["duration_seconds"] == pytest.approx(t.audio_seconds, abs=0.05)


@pytest.mark.skipif(cuda_device_count() > 0, reason="this host has a CUDA device")
def test_asking_for_cuda_without_a_gpu_fails_at_load(tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path, asr_device="cuda")  # type: ignore[call-arg]
    with pytest.raises(EngineUnavailable, match="no CUDA device"):
        load_asr_engine(settings)
