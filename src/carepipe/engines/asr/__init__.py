"""ASR engines: consultation audio (WAV, MP3, M4A, FLAC, OGG) in, a timed transcript out.

``load_asr_engine(settings)`` returns the configured engine (faster-whisper with the
bundled Whisper tiny.en by default, or any OpenAI-compatible server);
``engine.transcribe(audio_bytes)`` returns a :class:`Transcript`.
``word_error_rate`` is the number-normalised WER used by the tests and the benchmark.
"""

from carepipe.engines.asr.audio import SUPPORTED_FORMATS, decode_audio, probe_seconds
from carepipe.engines.asr.errors import AsrModelNotFound, AsrRequestRejected
from carepipe.engines.asr.loader import clear_engine_cache, load_asr_engine
from carepipe.engines.asr.types import (
    AsrEngine,
    Segment,
    Transcript,
    confidence_from_logprob,
    real_time_factor,
)
from carepipe.engines.asr.wer import normalise, word_error_rate

__all__ = [
    "SUPPORTED_FORMATS",
    "AsrEngine",
    "AsrModelNotFound",
    "AsrRequestRejected",
    "Segment",
    "Transcript",
    "clear_engine_cache",
    "confidence_from_logprob",
    "decode_audio",
    "load_asr_engine",
    "normalise",
    "probe_seconds",
    "real_time_factor",
    "word_error_rate",
]
