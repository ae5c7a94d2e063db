"""The corrections as a dataset a training or evaluation job can read.

``export_corrections`` writes one directory per export, named for its dataset version
(``corrections-<UTC time>``)::

    <out>/corrections-20261127T180000Z/
        dataset.json          schema version, dataset version, record count, manifest sha256
        manifest.jsonl        one JSON object per approved note (see below)
        audio/<review>.<ext>  the consultation recording, as received
        text/<review>.draft.txt, text/<review>.approved.txt

A manifest line: ``review_id``, ``job_id``, ``tenant``, ``approved_at``, ``audio``,
``draft_transcript``, ``approved_transcript`` (paths relative to the directory), ``wer``,
``reference_words``, ``substitutions``, ``insertions``, ``deletions``, ``item_edits``,
``model_versions``, ``dialect``, ``language``, ``audio_features`` and ``sha256`` of the
audio. The files hold PHI: exporting needs ``payload.read_phi`` and is audited.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from carepipe.core import audit
from carepipe.core.auth import Principal, require
from carepipe.core.blobs import BlobStore
from carepipe.core.clock import utcnow
from carepipe.core.models import Job, Message
from carepipe.review.access import tenant_scope
from carepipe.review.models import ReviewCorrection
from carepipe.review.views import ExportSummary

SCHEMA_VERSION = 1
_EXTENSIONS = {"audio/wav": ".wav", "audio/x-wav": ".wav", "audio/mpeg": ".mp3"}


def _extension(media_type: str) -> str:
    base = media_type.split(";", 1)[0].strip().lower()
    return _EXTENSIONS.get(base) or mimetypes.guess_extension(base) or ".bin"


def export_corrections(
    session: Session,
    blobs: BlobStore,
    principal: Principal,
    out: Path,
    *,
    tenant: str | None = None,
) -> ExportSummary:
    """Write every correction record (of ``tenant``, or all the caller sees) to ``out``."""
    require(principal, "payload.read_phi")
    now = utcnow()
    version = f"corrections-{now.strftime('%Y%m%dT%H%M%SZ')}"
    root = Path(out) / version
    (root / "audio").mkdir(parents=True, exist_ok=True)
    (root / "text").mkdir(parents=True, exist_ok=True)
    stmt = (
        select(ReviewCorrection, Message.blob_key, Message.kind)
        .join(Job, Job.id == ReviewCorrection.job_id)
        .join(Message, Message.id == Job.message_id)
        .order_by(ReviewCorrection.created_at, ReviewCorrection.id)
    )
    scope = tenant_scope(session, principal)
    if scope is not None:
        stmt = stmt.where(ReviewCorrection.tenant.in_(sorted(scope)))
    if tenant:
        stmt = stmt.where(ReviewCorrection.tenant == tenant)
    lines: list[str] = []
    for c, audio_key, media_type in session.execute(stmt).all():
        texts = json.loads(blobs.get(c.content_key))
        audio = blobs.get(audio_key)
        audio_path = f"audio/{c.review_id}{_extension(media_type)}"
        (root / audio_path).write_bytes(audio)
        draft_path = f"text/{c.review_id}.draft.txt"
        approved_path = f"text/{c.review_id}.approved.txt"
        (root / draft_path).write_text(texts.get("draft_transcript") or "", encoding="utf-8")
        (root / approved_path).write_text(texts.get("approved_transcript") or "", encoding="utf-8")
        record = {
            "review_id": c.review_id,
            "job_id": c.job_id,
            "tenant": c.tenant,
            "approved_at": c.created_at.isoformat(),
            "audio": audio_path,
            "audio_media_type": media_type,
            "audio_sha256": hashlib.sha256(audio).hexdigest(),
            "draft_transcript": draft_path,
            "approved_transcript": approved_path,
            "language": texts.get("language"),
            "dialect": c.dialect,
            "wer": c.wer,
            "reference_words": c.reference_words,
            "substitutions": c.substitutions,
            "insertions": c.insertions,
            "deletions": c.deletions,
            "item_edits": c.item_edits,
            "model_versions": c.model_versions,
            "audio_features": c.audio,
        }
        lines.append(json.dumps(record, sort_keys=True, separators=(",", ":")))
    manifest = "\n".join(lines) + ("\n" if lines else "")
    (root / "manifest.jsonl").write_text(manifest, encoding="utf-8")
    (root / "dataset.json").write_text(
        json.dumps(
            {
                "schema_version": SCHEMA_VERSION,
                "dataset_version": version,
                "created_at": now.isoformat(),
                "records": len(lines),
                "manifest": "manifest.jsonl",
                "manifest_sha256": hashlib.sha256(manifest.encode()).hexdigest(),
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    audit.record(
        session,
        actor=principal.actor,
        actor_role=principal.role,
        tenant=tenant,
        action="review.export",
        target_type="dataset",
        target_id=version,
        after={"records": len(lines), "schema_version": SCHEMA_VERSION},
    )
    return ExportSummary(
        out_dir=str(root),
        dataset_version=version,
        records=len(lines),
        manifest=str(root / "manifest.jsonl"),
    )
