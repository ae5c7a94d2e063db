"""The scribe's stage logic without the database: audio to a checked transcript, and a
transcript to a calibrated, flagged note. The stage handlers in :mod:`carepipe.pipelines.scribe`
and the accuracy benchmark (``benchmarks/bench_scribe_accuracy.py``) both call these, so the
benchmark scores the note the pipeline makes."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from carepipe.core.errors import AudioUnreadable
from carepipe.engines.asr import Transcript, load_asr_engine, slot_rescoring
from carepipe.engines.asr.audio_quality import LOW_SNR_DB, audio_features_of
from carepipe.engines.asr.quality import assess as assess_transcript
from carepipe.engines.asr.vocabulary import tenant_vocabulary
from carepipe.engines.nlp.correction import prepare, word_spans
from carepipe.engines.notes import SoapNote, load_note_engine
from carepipe.engines.notes.assessment import ItemEvidence
from carepipe.engines.notes.assessment import assess as assess_note


def transcribe(
    settings: Any, tenant: str, audio: bytes, *, filename: str | None = None
) -> Transcript:
    """The transcript of ``audio`` with the tenant's vocabulary, its quality in ``extra``."""
    engine = load_asr_engine(settings)
    t = engine.transcribe(audio, filename=filename, vocabulary=tenant_vocabulary(settings, tenant))
    extra = dict(t.extra)
    if "audio" not in extra:  # engines that never decode the audio (the remote one)
        # The engine read it; if we cannot, monitoring simply has no SNR for this recording.
        with suppress(AudioUnreadable):
            extra["audio"] = audio_features_of(audio)
    t = Transcript(**{**t.__dict__, "extra": extra})
    report = assess_transcript(t, low_snr_db=getattr(settings, "asr_low_snr_db", LOW_SNR_DB))
    t = Transcript(**{**t.__dict__, "extra": {**t.extra, "quality": report.to_dict()}})
    # Drug slots rescored on the loaded model (CAREPIPE_ASR_RESCORE_SLOTS; needs the audio).
    return slot_rescoring.rescore_transcript(settings, tenant, audio, t)


def prepared_text(transcript: Transcript) -> Any:
    """The transcript corrected before the note (number forms, drug names, rescored slots)."""
    rescored = transcript.extra.get("rescored") or ()
    return prepare(transcript.text, word_spans(transcript), rescored=rescored)


def draft_note(
    settings: Any, transcript: Transcript, *, age_years: float | None = None
) -> SoapNote:
    """Correct the transcript, draft the note, calibrate and flag its items."""
    return assessed_note(settings, transcript, age_years=age_years)[0]


def assessed_note(
    settings: Any, t: Transcript, *, age_years: float | None = None
) -> tuple[SoapNote, list[ItemEvidence]]:
    """:func:`draft_note` and each item's confidence evidence (the accuracy benchmark's)."""
    prepared, x = prepared_text(t), t.extra
    note = load_note_engine(settings).generate(prepared.text)
    tail, sounded = x.get("tail_from_seconds"), x.get("sounded_names") or ()
    return assess_note(
        note,
        prepared,
        asr_quality=x.get("quality"),
        age_years=age_years,
        redecoded_from=tail,
        sounded_names=sounded,
    )
