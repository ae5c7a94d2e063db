"""Dead-letter queue services: list, inspect, reveal the raw payload, fix and replay.

Every function checks the roles table (``require``); the API, console and CLI
only translate refusals. Reading the raw payload is masked (structure only)
unless the caller holds ``payload.read_phi`` *and* asks to reveal it with a
reason; every reveal writes an audit event.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from carepipe.core import audit
from carepipe.core.auth import Principal, require
from carepipe.core.blobs import BlobNotFound, BlobStore
from carepipe.core.errors import Conflict, InvalidRequest, NotFound, ValidationFailed
from carepipe.core.models import Job, Message, Task, TaskAttempt
from carepipe.core.queue import TaskStatus, replay_task
from carepipe.ops.filters import FilterFields

MAX_PAGE = 500
MASK = "•••"


# -- listing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadLetterFilter(FilterFields):
    pipeline: str | None = None
    queue: str | None = None
    error_code: str | None = None
    tenant: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeadLetterFilter:
        kw: dict[str, Any] = {}
        for k in ("pipeline", "queue", "error_code", "tenant"):
            if data.get(k):
                kw[k] = str(data[k])
        for k in ("since", "until"):
            if data.get(k):
                value = data[k]
                kw[k] = value if isinstance(value, datetime) else _parse_time(str(value), k)
        return cls(**kw)


def _parse_time(value: str, name: str) -> datetime:
    from datetime import UTC

    try:
        ts = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(f"{name} is not an ISO 8601 time") from None
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _filtered(principal: Principal, f: DeadLetterFilter, *cols: Any) -> Any:
    stmt = (
        select(*(cols or (Task, Job)))
        .select_from(Task)
        .join(Job, Job.id == Task.job_id)
        .where(Task.status == TaskStatus.DEAD)
    )
    tenant = principal.tenant or f.tenant
    if tenant:
        stmt = stmt.where(Job.tenant == tenant)
    if f.pipeline:
        stmt = stmt.where(Job.pipeline == f.pipeline)
    if f.queue:
        stmt = stmt.where(Task.queue == f.queue)
    if f.error_code:
        stmt = stmt.where(Task.last_error_code == f.error_code)
    if f.since:
        stmt = stmt.where(Task.updated_at >= f.since)
    if f.until:
        stmt = stmt.where(Task.updated_at < f.until)
    return stmt


def encode_cursor(died_at: datetime, task_id: int) -> str:
    return base64.urlsafe_b64encode(f"{died_at.isoformat()}|{task_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        ts, tid = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(ts), int(tid)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidRequest("invalid cursor") from None


def _row(t: Task, j: Job) -> dict[str, Any]:
    return {
        "task_id": t.id,
        "job_id": j.id,
        "tenant": j.tenant,
        "pipeline": j.pipeline,
        "queue": t.queue,
        "stage": t.stage,
        "attempts": t.attempts,
        "replayed": t.replay,
        "error_code": t.last_error_code,
        "error_message": t.last_error_message,
        "died_at": t.updated_at,
        "message_id": j.message_id,
    }


def list_dead(
    session: Session,
    principal: Principal,
    f: DeadLetterFilter | None = None,
    *,
    after: tuple[datetime, int] | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Dead tasks, newest first; page with ``after`` = (died_at, id) of the last row (keyset).

    The order matches the ``ix_tasks_dead (status, updated_at, id)`` index, so a
    page costs the same at the 100,000th row as at the first.
    """
    require(principal, "dlq.read")
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE}")
    stmt = _filtered(principal, f or DeadLetterFilter())
    if after:
        stmt = stmt.where(tuple_(Task.updated_at, Task.id) < tuple_(after[0], after[1]))
    stmt = stmt.order_by(Task.updated_at.desc(), Task.id.desc()).limit(limit)
    return [_row(t, j) for t, j in session.execute(stmt).all()]


@dataclass(frozen=True)
class DeadLetterPage:
    items: list[dict[str, Any]]
    next_cursor: str | None


def page_dead(
    session: Session,
    principal: Principal,
    f: DeadLetterFilter | None = None,
    *,
    cursor: str | None = None,
    limit: int = 50,
) -> DeadLetterPage:
    """One page of ``list_dead`` with an opaque cursor for the next one."""
    after = decode_cursor(cursor) if cursor else None
    rows = list_dead(session, principal, f, after=after, limit=min(limit + 1, MAX_PAGE + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = encode_cursor(rows[-1]["died_at"], rows[-1]["task_id"]) if more and rows else None
    return DeadLetterPage(rows, nxt)


def count_dead(
    session: Session,
    principal: Principal,
    f: DeadLetterFilter | None = None,
    *,
    died_before: datetime | None = None,
) -> int:
    """How many dead tasks match (what "replay all matching" would touch)."""
    require(principal, "dlq.read")
    stmt = _filtered(principal, f or DeadLetterFilter(), func.count())
    if died_before is not None:
        stmt = stmt.where(Task.updated_at <= died_before)
    return int(session.execute(stmt).scalar_one())


def count_by_error(
    session: Session, principal: Principal, f: DeadLetterFilter | None = None
) -> dict[str, int]:
    """Dead tasks per error code (the chips above the list)."""
    require(principal, "dlq.read")
    stmt = _filtered(
        principal, f or DeadLetterFilter(), Task.last_error_code, func.count()
    ).group_by(Task.last_error_code)
    rows = session.execute(stmt).all()
    return dict(sorted(((code or "unknown", n) for code, n in rows), key=lambda kv: -kv[1]))


def facets(session: Session, principal: Principal) -> dict[str, list[str]]:
    """Distinct pipelines, queues and tenants among dead tasks (filter drop-downs)."""
    require(principal, "dlq.read")
    out: dict[str, list[str]] = {}
    for name, col in (("pipeline", Job.pipeline), ("queue", Task.queue), ("tenant", Job.tenant)):
        stmt = _filtered(principal, DeadLetterFilter(), col).distinct().order_by(col).limit(200)
        out[name] = [v for (v,) in session.execute(stmt).all() if v]
    return out


# -- one dead letter -----------------------------------------------------------------------


def _visible(session: Session, principal: Principal, task_id: int) -> tuple[Task, Job]:
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound("no such task")
    job = session.get(Job, task.job_id)
    if job is None or not principal.sees_tenant(job.tenant):
        raise NotFound("no such task")
    return task, job


def dead_letter_detail(session: Session, principal: Principal, task_id: int) -> dict[str, Any]:
    """The error, the attempts history (replays included) and the job's other stages."""
    require(principal, "dlq.read")
    task, job = _visible(session, principal, task_id)
    msg = session.get(Message, job.message_id)
    attempts = session.execute(
        select(TaskAttempt).where(TaskAttempt.task_id == task.id).order_by(TaskAttempt.id)
    ).scalars()
    history = [
        {
            "attempt": a.attempt,
            "worker_id": a.worker_id,
            "started_at": a.started_at,
            "finished_at": a.finished_at,
            "outcome": a.outcome,
            "error_code": a.error_code,
            "error_message": a.error_message,
            "replay": a.replay,
        }
        for a in attempts
    ]
    stages = session.execute(select(Task).where(Task.job_id == job.id).order_by(Task.id)).scalars()
    return {
        "task_id": task.id,
        "status": task.status,
        "queue": task.queue,
        "stage": task.stage,
        # ``attempts`` counts the current run (a replay starts again from 0, with
        # ``max_attempts`` more); ``attempts_in_all`` every run, as in ``history``.
        "attempts": task.attempts,
        "max_attempts": task.max_attempts,
        "attempts_in_all": len(history),
        "replayed": task.replay,
        "replay_requested_at": task.replay_requested_at,
        "error_code": task.last_error_code,
        "error_message": task.last_error_message,
        "died_at": task.updated_at if task.status == TaskStatus.DEAD else None,
        "created_at": task.created_at,
        "job": {
            "id": job.id,
            "tenant": job.tenant,
            "pipeline": job.pipeline,
            "status": job.status,
            "replay": job.replay,
            "idempotency_key_set": job.idempotency_key is not None,
            "created_at": job.created_at,
        },
        "message": {
            "id": msg.id,
            "source": msg.source,
            "content_type": msg.kind,
            "size_bytes": msg.size_bytes,
            "sha256": msg.content_sha256,
            "received_at": msg.received_at,
        }
        if msg is not None
        else None,
        "history": history,
        "stages": [
            {"task_id": t.id, "stage": t.stage, "status": t.status, "attempts": t.attempts}
            for t in stages
        ],
        "can_replay": task.status == TaskStatus.DEAD and principal.can("dlq.replay"),
        "can_reveal": principal.can("payload.read_phi"),
        "can_map_patient": task.last_error_code == "patient_not_found"
        and task.status == TaskStatus.DEAD
        and principal.can("patients.map")
        and principal.can("dlq.replay"),
    }


# -- the raw payload -----------------------------------------------------------------------


@dataclass
class PayloadView:
    """The archived message as the console shows it: masked unless ``revealed``."""

    kind: str  # hl7, json, text, audio, image, pdf, binary
    content_type: str
    size_bytes: int
    sha256: str
    revealed: bool
    can_reveal: bool
    filename: str | None = None
    hl7_segments: list[dict[str, Any]] = field(default_factory=list)
    json_text: str | None = None
    text: str | None = None
    summary: str = ""
    # Why the view is not what the content type promised (e.g. JSON that does not parse).
    note: str | None = None
    content: bytes | None = field(default=None, repr=False)  # revealed binary media only

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("content")
        if self.content is not None:
            out["content_base64"] = base64.b64encode(self.content).decode()
        return out


_HL7_TYPES = ("x-application/hl7-v2+er7", "application/hl7-v2", "text/hl7")
# HL7 fields that describe the message itself, not the patient: kept when masking.
_HL7_KEEP = {("MSH", 1), ("MSH", 2), ("MSH", 9), ("MSH", 10), ("MSH", 11), ("MSH", 12)}
_SEGMENT_RE = re.compile(r"^[A-Z][A-Z0-9]{2}$")


def _classify(content_type: str, raw: bytes) -> str:
    base = content_type.split(";", 1)[0].strip().lower()
    if base in _HL7_TYPES or raw.lstrip()[:4] == b"MSH|":
        return "hl7"
    if base.startswith("audio/"):
        return "audio"
    if base.startswith("image/"):
        return "image"
    if base == "application/pdf":
        return "pdf"
    if base == "application/json" or base.endswith("+json"):
        return "json"
    if base.startswith("text/"):
        return "text"
    try:
        json.loads(raw)
        return "json"
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        pass
    try:
        raw.decode("utf-8")
        return "text"
    except UnicodeDecodeError:
        return "binary"


def _mask_value(value: str, seps: str) -> str:
    """Keep the component/repetition separators (structure), hide every value."""
    if not value:
        return ""
    parts = re.split(f"([{re.escape(seps)}])", value)
    return "".join(p if (p in seps and len(p) == 1) else (MASK if p else "") for p in parts)


def render_hl7(text: str, *, masked: bool) -> list[dict[str, Any]]:
    """Segment by segment, field by field (``PID-3``), values masked unless revealed."""
    segments: list[dict[str, Any]] = []
    lines = [ln for ln in re.split(r"\r\n|\r|\n", text) if ln.strip()]
    field_sep = "|"
    comp_seps = "^~\\&"
    if lines and lines[0].startswith("MSH") and len(lines[0]) > 8:
        field_sep = lines[0][3]
        comp_seps = lines[0][4:8]
    for line in lines:
        parts = line.split(field_sep)
        seg_id = parts[0][:3] if _SEGMENT_RE.match(parts[0][:3]) else "???"
        fields = []
        # MSH-1 is the field separator itself, MSH-2 the encoding characters.
        values = [field_sep, *parts[1:]] if seg_id == "MSH" else parts[1:]
        for i, value in enumerate(values, start=1):
            if value == "":
                continue
            keep = (seg_id, i) in _HL7_KEEP
            shown = value if (not masked or keep) else _mask_value(value, comp_seps)
            fields.append({"pos": f"{seg_id}-{i}", "value": shown})
        segments.append({"id": seg_id, "fields": fields})
    return segments


def mask_json(value: Any) -> Any:
    """Keys and shape kept; every scalar value replaced (null stays null)."""
    if isinstance(value, dict):
        return {k: mask_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_json(v) for v in value]
    if value is None:
        return None
    return MASK


# Tokens of JSON-looking text: strings (closed or cut off), numbers and literals,
# punctuation, whitespace, and anything else as one run.
_JSON_TOKEN = re.compile(
    r'(?P<str>"(?:[^"\\]|\\.)*(?:"|$))'
    r"|(?P<lit>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)"
    r"|(?P<punct>[{}\[\]:,])"
    r"|(?P<ws>\s+)"
    r'|(?P<other>[^"{}\[\]:,\s]+)'
)
_KEY_LIKE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,63}$")


def mask_json_text(text: str) -> str:
    """Mask text that should have been JSON but does not parse.

    Like ``mask_json``: the structure stays (brackets, colons, commas, line breaks,
    ``null``) and so do object keys that look like identifiers (``"pipeline":``);
    every value, and anything unrecognisable, becomes ``•••``. Where the text was
    cut off stays visible, which is usually why it failed.
    """
    out: list[str] = []
    tokens = list(_JSON_TOKEN.finditer(text))
    for i, m in enumerate(tokens):
        kind, value = m.lastgroup, m.group()
        if kind in ("punct", "ws") or value == "null":
            out.append(value)
        elif kind == "str":
            nxt = next((t for t in tokens[i + 1 :] if t.lastgroup != "ws"), None)
            inner = value[1:-1] if value.endswith('"') and len(value) > 1 else value[1:]
            is_key = nxt is not None and nxt.group() == ":" and value.endswith('"')
            if is_key and _KEY_LIKE.match(inner):
                out.append(value)
            else:
                out.append('"' + MASK + ('"' if value.endswith('"') and len(value) > 1 else ""))
        else:
            out.append(MASK)
    return "".join(out)


def _json_error(raw: bytes) -> str:
    """Why ``raw`` is not JSON, without quoting any of it."""
    try:
        json.loads(raw)
    except json.JSONDecodeError as exc:
        return f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
    except UnicodeDecodeError:
        return "not UTF-8 text"
    except RecursionError:
        return "nested too deeply to display"
    except ValueError:
        return "not valid JSON"
    return ""


def _human_size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"


def _load_payload(
    session: Session, blobs: BlobStore, principal: Principal, task_id: int
) -> tuple[Task, Job, Message, bytes]:
    require(principal, "dlq.read")
    task, job = _visible(session, principal, task_id)
    msg = session.get(Message, job.message_id)
    if msg is None:
        raise NotFound("the job has no archived message")
    try:
        raw = blobs.get(msg.blob_key)
    except BlobNotFound:
        raise NotFound("the archived payload is missing from the blob store") from None
    return task, job, msg, raw


def payload_view(
    session: Session,
    blobs: BlobStore,
    principal: Principal,
    task_id: int,
    *,
    reveal: bool = False,
    reason: str | None = None,
) -> PayloadView:
    """The raw payload of a dead letter, rendered for people.

    Masked (structure without values) by default. ``reveal=True`` needs
    ``payload.read_phi`` and a reason, and writes a ``payload.reveal`` audit event.
    """
    task, job, msg, raw = _load_payload(session, blobs, principal, task_id)
    if reveal:
        require(principal, "payload.read_phi")
        if not (reason or "").strip():
            raise ValidationFailed("a reason (ticket or justification) is required to reveal")
        audit.record(
            session,
            actor=principal.actor,
            actor_role=principal.role,
            tenant=job.tenant,
            action="payload.reveal",
            target_type="task",
            target_id=str(task.id),
            after={"message_id": msg.id, "content_type": msg.kind},
            reason=reason.strip() if reason else None,
        )
    kind = _classify(msg.kind, raw)
    view = PayloadView(
        kind=kind,
        content_type=msg.kind,
        size_bytes=len(raw),
        sha256=msg.content_sha256,
        revealed=reveal,
        can_reveal=principal.can("payload.read_phi"),
        filename=msg.filename if reveal else (MASK if msg.filename else None),
    )
    masked = not reveal
    if kind == "hl7":
        text = raw.decode("utf-8", errors="replace")
        view.hl7_segments = render_hl7(text, masked=masked)
        view.summary = f"HL7 v2, {len(view.hl7_segments)} segments"
    elif kind == "json":
        try:
            doc = json.loads(raw)
            view.json_text = json.dumps(
                mask_json(doc) if masked else doc, indent=2, ensure_ascii=False, sort_keys=False
            )
            view.summary = f"JSON, {_human_size(len(raw))}"
        except (ValueError, RecursionError):
            _not_json(view, raw, masked=masked)
    elif kind == "text":
        text = raw.decode("utf-8", errors="replace")
        view.summary = f"text, {len(text.splitlines())} lines, {len(text)} characters"
        view.text = text if reveal else None
    else:
        view.summary = f"{kind}, {msg.kind}, {_human_size(len(raw))}"
        if reveal:
            view.content = raw
    return view


def _not_json(view: PayloadView, raw: bytes, *, masked: bool) -> None:
    """Declared JSON but not JSON (the ``validation_failed`` letters people need to read):
    shown as text (masked keeps the structure) or, if it is not even UTF-8, as bytes."""
    reason = _json_error(raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        view.kind = "binary"
        view.note = f"Declared {view.content_type} but not valid JSON ({reason}): shown as bytes."
        view.summary = f"binary, {_human_size(len(raw))}"
        if not masked:
            view.content = raw
        return
    view.kind = "text"
    view.note = f"Declared {view.content_type} but not valid JSON ({reason}): shown as text."
    view.summary = f"text, {len(text.splitlines())} lines, {len(text)} characters"
    view.text = text if not masked else mask_json_text(text)


def payload_media(
    session: Session, blobs: BlobStore, principal: Principal, task_id: int
) -> tuple[bytes, str]:
    """Raw bytes and media type (audio player, image): for holders of ``payload.read_phi``.

    Callers serve it only after an audited reveal (the console hands out a
    short-lived grant when the reveal is recorded).
    """
    require(principal, "payload.read_phi")
    _task, _job, msg, raw = _load_payload(session, blobs, principal, task_id)
    return raw, msg.kind.split(";", 1)[0].strip() or "application/octet-stream"


def mrn_hint(
    session: Session, blobs: BlobStore, principal: Principal, task_id: int
) -> dict[str, str] | None:
    """The MRN and assigning authority of an HL7 dead letter (PID-3), to prefill the
    mapping form. The MRN is PHI: only for ``payload.read_phi`` holders."""
    require(principal, "payload.read_phi")
    _task, _job, msg, raw = _load_payload(session, blobs, principal, task_id)
    if _classify(msg.kind, raw) != "hl7":
        return None
    found = _pid3(raw)
    return {"mrn": found[0], "assigning_authority": found[1]} if found else None


def mapping_hint(
    session: Session, blobs: BlobStore, principal: Principal, task_id: int
) -> dict[str, Any] | None:
    """What the MRN -> ABHA mapping form needs from a ``patient_not_found`` dead letter:
    the MRN and assigning authority from PID-3, and whether the index maps it by now.

    For whoever may map patients (``patients.map``): the MRN alone is shown, not the
    payload (no ``payload.read_phi`` reveal needed), and each view is audited as
    ``payload.view_mrn``. ``None`` when there is nothing to prefill (the payload is
    not HL7 or has no PID-3); no audit event then, since nothing was shown.
    """
    require(principal, "patients.map")
    task, job, msg, raw = _load_payload(session, blobs, principal, task_id)
    if task.last_error_code != "patient_not_found":
        raise Conflict("this dead letter did not fail with patient_not_found")
    if _classify(msg.kind, raw) != "hl7":
        return None
    found = _pid3(raw)
    if found is None:
        return None
    mrn, authority = found
    from carepipe.interop.identity.service import lookup

    link = lookup(session, job.tenant, mrn, authority or None)
    audit.record(
        session,
        actor=principal.actor,
        actor_role=principal.role,
        tenant=job.tenant,
        action="payload.view_mrn",
        target_type="task",
        target_id=str(task.id),
        after={"message_id": msg.id, "fields": ["PID-3.1", "PID-3.4"]},
        reason="prefill the MRN -> ABHA mapping of a patient_not_found dead letter",
    )
    return {"mrn": mrn, "assigning_authority": authority, "mapped": link is not None}


def _pid3(raw: bytes) -> tuple[str, str] | None:
    """(MRN, assigning authority) of the first PID-3 repetition, or None."""
    for seg in render_hl7(raw.decode("utf-8", errors="replace"), masked=False):
        if seg["id"] != "PID":
            continue
        for f in seg["fields"]:
            if f["pos"] == "PID-3":
                comps = f["value"].split("~", 1)[0].split("^")
                authority = comps[3].split("&", 1)[0] if len(comps) > 3 else ""
                return comps[0], authority
    return None


# -- fix and replay ------------------------------------------------------------------------


def replay_dead_task(
    session: Session, principal: Principal, task_id: int, *, reason: str | None = None
) -> Task:
    """Re-queue one dead task (``replay=true``); the audit log records who and why.

    ``Conflict`` when it is no longer dead (someone replayed it already).
    """
    require(principal, "dlq.replay")
    task, job = _visible(session, principal, task_id)
    before = {"status": task.status, "error_code": task.last_error_code, "attempts": task.attempts}
    task = replay_task(session, task_id)
    audit.record(
        session,
        actor=principal.actor,
        actor_role=principal.role,
        tenant=job.tenant,
        action="dlq.replay",
        target_type="task",
        target_id=str(task_id),
        before=before,
        after={"status": task.status, "replay": True},
        reason=reason,
    )
    return task


def map_patient(
    session: Session,
    principal: Principal,
    task_id: int,
    *,
    mrn: str,
    abha_number: str,
    assigning_authority: str | None = None,
    reason: str | None = None,
    replay: bool = True,
) -> dict[str, Any]:
    """Fix a ``patient_not_found`` dead letter: link the MRN to an ABHA number in the
    patient index, then (by default) replay the task, in one transaction."""
    require(principal, "patients.map")
    if replay:
        require(principal, "dlq.replay")
    task, job = _visible(session, principal, task_id)
    if task.last_error_code != "patient_not_found":
        raise Conflict("this dead letter did not fail with patient_not_found")
    if replay and task.status != TaskStatus.DEAD:
        raise Conflict(f"task is {task.status}, only dead tasks can be replayed")
    from carepipe.interop.identity.abha import mask_abha
    from carepipe.interop.identity.service import upsert

    link, before = upsert(
        session,
        tenant=job.tenant,
        mrn=mrn,
        assigning_authority=assigning_authority,
        abha_number=abha_number,
        source="console",
        actor=principal.actor,
    )
    # Identifiers are PHI: the audit keeps the link id and a masked ABHA number only.
    audit.record(
        session,
        actor=principal.actor,
        actor_role=principal.role,
        tenant=job.tenant,
        action="patient.map",
        target_type="patient_link",
        target_id=link.id,
        before={"abha": mask_abha(before["abha_number"])} if before else None,
        after={"abha": mask_abha(link.abha_number), "from_task": task.id},
        reason=reason,
    )
    replayed = None
    if replay:
        replayed = replay_dead_task(session, principal, task.id, reason=reason)
    return {
        "link_id": link.id,
        "created": before is None,
        "abha_masked": mask_abha(link.abha_number),
        "replayed": replayed is not None,
        "task_status": replayed.status if replayed is not None else task.status,
    }
