"""The correction signal of an approval: what the clinician changed, as data for the models.

A correction record holds the word diff of the draft transcript against the approved one
and its word error rate (the approved text is the reference: what was really said, as
the clinician signed it), the note's edits by item type, the model versions, the tenant,
the dialect and the recording's features (duration, SNR estimate, speech ratio,
bandwidth: a telephone recording reads under 4 kHz). The
counts go into the ``review_corrections`` row; the texts and the diff (PHI) into the
encrypted blob store, for the dataset export.

WER is computed with ``jiwer`` on the same normalised form the ASR benchmark scores
(:func:`carepipe.engines.asr.wer.normalise`: case, punctuation and number forms do not
count as errors).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jiwer

from carepipe.engines.asr import Transcript
from carepipe.engines.asr.wer import normalise
from carepipe.review.content import Content, DraftItem, item_edit_counts
from carepipe.review.diff import word_diff


@dataclass
class CorrectionRecord:
    """What :func:`correction_record` computes (``texts`` hold PHI; the rest does not)."""

    wer: float
    reference_words: int
    substitutions: int
    insertions: int
    deletions: int
    item_edits: dict[str, int]
    item_edits_by_kind: dict[str, dict[str, int]]
    model_versions: dict[str, str]
    dialect: str
    audio: dict[str, float | None]
    texts: dict[str, Any] = field(default_factory=dict)

    def edits_for_metrics(self) -> dict[str, int]:
        """Edited items per item type (added + removed + changed): the metric's input."""
        return {k: sum(v.values()) for k, v in self.item_edits_by_kind.items() if sum(v.values())}


def transcript_wer(
    draft: str, approved: str, *, draft_normalised: str | None = None
) -> tuple[float, int, int, int, int]:
    """``(wer, reference words, substitutions, insertions, deletions)`` of ``draft`` against
    ``approved`` after normalisation (``draft_normalised``: the draft's, if already known).
    An empty approved transcript scores 0 if the draft is empty too, else 1 (everything
    recognised was wrong)."""
    ref = normalise(approved)
    hyp = draft_normalised if draft_normalised is not None else normalise(draft)
    if not ref.split():
        n = len(hyp.split())
        return (0.0 if n == 0 else 1.0), 0, 0, n, 0
    if not hyp.split():
        n = len(ref.split())
        return 1.0, n, 0, 0, n
    out = jiwer.process_words(ref, hyp)
    n = out.substitutions + out.deletions + out.hits
    return float(out.wer), n, out.substitutions, out.insertions, out.deletions


def audio_features(transcript: Transcript, raw: bytes | None = None) -> dict[str, float | None]:
    """Duration, SNR estimate, speech ratio and bandwidth: as the ASR stage measured them
    (``extra["audio"]``), else measured here from ``raw`` when given, else what is known."""
    measured = dict(transcript.extra.get("audio") or {})
    if not measured_fully(transcript) and raw is not None:
        from carepipe.core.errors import AudioUnreadable
        from carepipe.engines.asr.audio_quality import audio_features_of

        try:
            measured = audio_features_of(raw)
        except AudioUnreadable:
            measured = {}
    speech = transcript.extra.get("speech_seconds")
    duration = float(transcript.audio_seconds or measured.get("duration_seconds") or 0.0)
    ratio = measured.get("speech_ratio")
    if ratio is None and speech is not None and duration > 0:
        ratio = round(min(1.0, float(speech) / duration), 4)
    snr = measured.get("snr_db")
    bandwidth = measured.get("bandwidth_hz")
    return {
        "duration_seconds": round(duration, 3),
        "snr_db": None if snr is None else float(snr),
        "speech_ratio": None if ratio is None else float(ratio),
        "bandwidth_hz": None if bandwidth is None else float(bandwidth),
    }


def measured_fully(transcript: Transcript) -> bool:
    """Whether the ASR stage measured every recording feature a correction record keeps
    (transcripts made before the bandwidth was measured lack it: the audio is read again)."""
    measured = transcript.extra.get("audio") or {}
    return "snr_db" in measured and "bandwidth_hz" in measured


def correction_record(
    transcript: Transcript,
    draft_items: list[DraftItem],
    content: Content,
    *,
    note_model_version: str,
    dialect: str,
    raw_audio: bytes | None = None,
) -> CorrectionRecord:
    """The correction record of approving ``content`` over the draft."""
    wer, n, subs, ins, dels = transcript_wer(
        transcript.text, content.transcript, draft_normalised=content.draft_normalised
    )
    totals, by_kind = item_edit_counts(draft_items, content)
    diff = word_diff(transcript.text, content.transcript)
    return CorrectionRecord(
        wer=round(wer, 4),
        reference_words=n,
        substitutions=subs,
        insertions=ins,
        deletions=dels,
        item_edits=totals,
        item_edits_by_kind=by_kind,
        model_versions={"asr": transcript.model_version, "note": note_model_version},
        dialect=dialect,
        audio=audio_features(transcript, raw_audio),
        texts={
            "draft_transcript": transcript.text,
            "approved_transcript": content.transcript,
            "language": transcript.language,
            "diff": [op.model_dump() for op in diff if op.op != "equal"],
        },
    )
