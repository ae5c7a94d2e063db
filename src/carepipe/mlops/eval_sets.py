"""Versioned evaluation sets: what a model version is scored on.

Two kinds:

- ``scribe-clips``: the committed consultation clips (``manifest.json`` with reference
  transcripts and facts, ``cNN.wav``). The directory is, in order: the ``directory``
  argument, ``CAREPIPE_EVAL_SCRIBE_DIR``, or the repository's ``tests/data/scribe`` when
  CarePipe runs from a checkout (the clips are not in the installed package). Slices:
  ``voice`` (the espeak voice, i.e. accent), ``noise`` (clean / noisy) and ``length``
  (clip length bucket).
- ``corrections``: the clinicians' correction records (issue 14): each approved review's
  recording and the clinician-approved transcript as the reference, so a version's WER is
  measured against what clinicians signed. Slices: ``dialect`` and ``tenant``. The
  reference text is PHI: it is read in process and never written to an evaluation.

A set's version is the first 12 hex digits of a sha256 over its manifest entries and its
audio bytes (``scribe-clips@3f1c0a9b2d4e``): change a clip, a transcript or the selection
and it is a new version, so two evaluations compare only on the same content.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carepipe.core.auth import Principal
from carepipe.core.blobs import BlobStore
from carepipe.core.errors import InvalidRequest, NotFound
from carepipe.core.models import Job, Message
from carepipe.review.access import tenant_scope
from carepipe.review.models import ReviewCorrection

SCRIBE_CLIPS = "scribe-clips"
CORRECTIONS = "corrections"
KINDS = (SCRIBE_CLIPS, CORRECTIONS)
ENV_DIR = "CAREPIPE_EVAL_SCRIBE_DIR"
#: Clip length buckets (seconds, upper bound exclusive) for the ``length`` slice.
LENGTH_BUCKETS = ((22.0, "under 22 s"), (float("inf"), "22 s and over"))


@dataclass
class EvalItem:
    """One item of a set: id, reference transcript, reference facts (clips only), slices."""

    id: str
    reference: str
    audio: Callable[[], bytes]
    audio_seconds: float
    slices: dict[str, str]
    facts: dict[str, Any] | None = None
    # The reference text may be shown and stored (synthetic clips) or not (PHI).
    shareable_text: bool = True


@dataclass
class EvalSet:
    """A versioned set: ``label`` is ``name@version``."""

    name: str
    version: str
    items: list[EvalItem] = field(default_factory=list)
    source: str = ""

    @property
    def label(self) -> str:
        """``name@version``, as stored on evaluations."""
        return f"{self.name}@{self.version}"


def default_scribe_dir() -> Path | None:
    """``CAREPIPE_EVAL_SCRIBE_DIR`` or the checkout's ``tests/data/scribe`` (None if neither)."""
    env = os.environ.get(ENV_DIR)
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "tests" / "data" / "scribe"
        if (candidate / "manifest.json").is_file():
            return candidate
    return None


def _wav_seconds(data: bytes) -> float:
    try:
        with wave.open(io.BytesIO(data)) as w:
            return w.getnframes() / float(w.getframerate())
    except (wave.Error, EOFError):
        from carepipe.engines.asr import decode_audio

        return len(decode_audio(data)) / 16000.0


def _length_bucket(seconds: float) -> str:
    return next(label for limit, label in LENGTH_BUCKETS if seconds < limit)


def scribe_clips(directory: Path | str | None = None, ids: Sequence[str] | None = None) -> EvalSet:
    """The committed clips (all, or those in ``ids``) as a versioned set."""
    root = Path(directory) if directory else default_scribe_dir()
    if root is None or not (root / "manifest.json").is_file():
        raise NotFound(
            f"scribe clips not found (no manifest.json); set {ENV_DIR} to the clips' directory"
        )
    entries = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    if ids:
        wanted = set(ids)
        unknown = wanted - {e["id"] for e in entries}
        if unknown:
            raise NotFound(
                f"unknown clip ids: {', '.join(sorted(unknown))}",
                details={"unknown": sorted(unknown)},
            )
        entries = [e for e in entries if e["id"] in wanted]
    digest = hashlib.sha256()
    items = []
    for entry in sorted(entries, key=lambda e: e["id"]):
        path = root / entry["file"]
        data = path.read_bytes()
        digest.update(json.dumps(entry, sort_keys=True).encode())
        digest.update(hashlib.sha256(data).digest())
        seconds = _wav_seconds(data)
        items.append(
            EvalItem(
                id=entry["id"],
                reference=entry["transcript"],
                audio=path.read_bytes,
                audio_seconds=round(seconds, 3),
                facts=entry.get("facts") or {},
                slices={
                    "voice": str(entry.get("voice", "?")),
                    "noise": "noisy" if entry.get("noise") else "clean",
                    "length": _length_bucket(seconds),
                },
            )
        )
    if not items:
        raise InvalidRequest("the evaluation set is empty")
    return EvalSet(SCRIBE_CLIPS, digest.hexdigest()[:12], items, source=str(root))


def corrections(
    session: Session,
    blobs: BlobStore,
    principal: Principal,
    *,
    tenant: str | None = None,
    limit: int = 500,
) -> EvalSet:
    """The newest ``limit`` correction records the caller may see, as a versioned set."""
    stmt = (
        select(ReviewCorrection, Message.blob_key)
        .join(Job, Job.id == ReviewCorrection.job_id)
        .join(Message, Message.id == Job.message_id)
        .order_by(ReviewCorrection.created_at.desc(), ReviewCorrection.id)
        .limit(limit)
    )
    # A tenant-bound caller sees its tenant only. Staff with ``models.evaluate`` evaluate on
    # every tenant's records although they review none: the text is read here, in process,
    # and only counts and review ids leave (clinicians' own scope still applies to them).
    scope: frozenset[str] | None
    if principal.tenant is not None:
        scope = frozenset({principal.tenant})
    elif principal.can("models.evaluate"):
        scope = None
    else:
        scope = tenant_scope(session, principal)
    if scope is not None:
        stmt = stmt.where(ReviewCorrection.tenant.in_(sorted(scope)))
    if tenant:
        stmt = stmt.where(ReviewCorrection.tenant == tenant)
    digest = hashlib.sha256()
    items = []
    for c, audio_key in sorted(session.execute(stmt).all(), key=lambda row: row[0].review_id):
        texts = json.loads(blobs.get(c.content_key))
        reference = texts.get("approved_transcript") or ""
        if not reference.strip():
            continue
        digest.update(f"{c.review_id}:{audio_key}:".encode())
        digest.update(hashlib.sha256(reference.encode()).digest())
        items.append(
            EvalItem(
                id=c.review_id,
                reference=reference,
                audio=lambda key=audio_key: blobs.get(key),
                audio_seconds=float((c.audio or {}).get("duration_seconds") or 0.0),
                slices={"dialect": c.dialect or "unknown", "tenant": c.tenant},
                shareable_text=False,
            )
        )
    if not items:
        raise NotFound("no correction records to evaluate on (approve some reviews first)")
    return EvalSet(CORRECTIONS, digest.hexdigest()[:12], items, source="review_corrections")
