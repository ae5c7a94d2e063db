"""Verifying the audit chain against its keys and its signed checkpoints.

``verify_chain`` walks every row in id order and reports, precisely, each row
whose content does not match its HMAC (edited, or rewritten without the key),
each broken link (rows deleted between two others), and, against every
checkpoint that applies to this database, each recorded head that changed,
each count that shrank and every row missing after the last one present
(truncation). The checkpoint log itself is checked too: forged or altered
lines, lines signed by an unknown key, and lines removed from its middle.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carepipe.core.audit.chain import GENESIS, KEYED_ACTION, canonical, legacy_hash
from carepipe.core.audit.checkpoints import (
    HEARTBEAT_SECONDS,
    Checkpoint,
    CheckpointStore,
    database_fingerprint,
)
from carepipe.core.audit.keys import AuditKey, Keyring
from carepipe.core.audit.setup import AuditSetup, current_setup
from carepipe.core.clock import utcnow
from carepipe.core.models import AuditEvent

MAX_PROBLEMS = 200  # problems listed in a report; ``problems_total`` counts them all
LEGACY = "legacy-sha256"


@dataclass(frozen=True)
class Problem:
    """One thing found wrong. ``row_id``..``last_row_id`` is the range of rows it concerns."""

    kind: str
    message: str
    row_id: int | None = None
    last_row_id: int | None = None
    checkpoint_seq: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CheckpointSummary:
    store: str | None
    lines: int  # checkpoints in the store (all databases)
    applicable: int  # those that apply to this database and are validly signed
    latest: dict[str, Any] | None  # the newest applicable checkpoint

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ChainReport:
    """The outcome of ``verify_chain``.

    ``first_bad_id``/``problem`` name the first problem (kept for callers that
    show one line); ``problems`` lists them all (up to ``MAX_PROBLEMS``).
    """

    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str | None = None
    problems: tuple[Problem, ...] = ()
    problems_total: int = 0
    last_id: int | None = None
    head: str | None = None
    keys_used: dict[str, int] = field(default_factory=dict)
    checkpoints: CheckpointSummary | None = None
    uncovered: int = 0  # rows newer than the latest applicable checkpoint
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["problems"] = [p.to_dict() for p in self.problems]
        return d


class _Problems:
    """Collects problems, merging runs of consecutive rows with the same fault into one
    (``total`` counts problems after merging, including those past ``MAX_PROBLEMS``)."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.total = 0

    def add(
        self, kind: str, message: str, row_id: int | None = None, seq: int | None = None
    ) -> None:
        self.total += 1
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(
                {
                    "kind": kind,
                    "message": message,
                    "row_id": row_id,
                    "last_row_id": row_id,
                    "checkpoint_seq": seq,
                }
            )

    def add_row_fault(self, kind: str, row_id: int, prev_id: int | None, message: str) -> None:
        last = self.items[-1] if self.items else None
        if (
            last is not None
            and last["kind"] == kind
            and last["last_row_id"] is not None
            and last["last_row_id"] == prev_id
            and last.get("_run")
        ):
            last["last_row_id"] = row_id
            last["_count"] += 1
            last["message"] = _RUN_MESSAGES[kind].format(
                first=last["row_id"], last=row_id, n=last["_count"]
            )
            return
        self.add(kind, message, row_id)
        if self.items and self.items[-1]["row_id"] == row_id:
            self.items[-1]["_run"] = True
            self.items[-1]["_count"] = 1

    def frozen(self) -> tuple[Problem, ...]:
        out = []
        for d in self.items:
            out.append(
                Problem(d["kind"], d["message"], d["row_id"], d["last_row_id"], d["checkpoint_seq"])
            )
        return tuple(out)


_RUN_MESSAGES = {
    "altered": (
        "rows {first}-{last} ({n} rows) do not match their hashes: edited, or the chain was "
        "recomputed without the key"
    ),
    "unkeyed": (
        "rows {first}-{last} ({n} rows) carry plain SHA-256 hashes where the chain is keyed: "
        "written or rewritten without the key"
    ),
}


def _match(ev: Any, body: bytes, keys: list[AuditKey]) -> AuditKey | None:
    for k in keys:
        if hmac.compare_digest(k.mac(body), ev.hash):
            return k
    return None


def _anchor(session: Session, keyring: Keyring) -> dict[str, Any] | None:
    """The validly signed ``audit.chain_keyed`` row, if any: where unkeyed rows end."""
    rows = session.execute(
        select(AuditEvent).where(AuditEvent.action == KEYED_ACTION).order_by(AuditEvent.id)
    ).scalars()
    for ev in rows:
        if _match(ev, canonical(ev), list(keyring.keys)) is None:
            continue
        after = ev.after or {}
        try:
            return {
                "id": ev.id,
                "through": int(after["legacy_through_id"]),
                "head": str(after["legacy_head"]),
                "count": int(after["legacy_count"]),
            }
        except (KeyError, TypeError, ValueError):
            continue
    return None


def _read_checkpoints(
    store: CheckpointStore, keyring: Keyring, problems: _Problems
) -> tuple[list[Checkpoint], int]:
    """Validly signed checkpoints in file order; problems for forged, unknown-key,
    unreadable and missing lines."""
    try:
        lines = store.read()
    except OSError as exc:
        problems.add(
            "checkpoint_unreadable",
            f"the checkpoint log {store.path} cannot be read ({type(exc).__name__}): "
            "truncation cannot be checked",
        )
        return [], 0
    valid: list[Checkpoint] = []
    prev: Checkpoint | None = None
    for line in lines:
        cp = line.checkpoint
        if cp is None:
            problems.add("checkpoint_unreadable", f"checkpoint line {line.number} is {line.error}")
            continue
        ok = cp.signature_ok(keyring)
        if ok is None:
            problems.add(
                "checkpoint_unknown_key",
                f"checkpoint #{cp.seq} (line {line.number}) is signed by key {cp.key_id}, which is "
                "not in the keyring: forged, or a retired key was dropped",
                seq=cp.seq,
            )
            continue
        if not ok:
            problems.add(
                "checkpoint_forged",
                f"checkpoint #{cp.seq} (line {line.number}) has an invalid signature: "
                "forged or altered",
                seq=cp.seq,
            )
            continue
        if prev is None and (cp.seq != 1 or cp.prev is not None) and not valid:
            problems.add(
                "checkpoint_gap",
                f"checkpoint #{cp.seq} (line {line.number}) is the first in the store: "
                f"checkpoints #1-#{cp.seq - 1} were removed",
                seq=cp.seq,
            )
        elif prev is not None and (cp.seq != prev.seq + 1 or cp.prev != prev.mac):
            missing = (
                f"#{prev.seq + 1}-#{cp.seq - 1}" if cp.seq > prev.seq + 2 else f"#{prev.seq + 1}"
            )
            problems.add(
                "checkpoint_gap",
                f"checkpoint #{cp.seq} (line {line.number}) does not follow #{prev.seq}: "
                + (
                    f"checkpoint {missing} was removed from the store"
                    if cp.seq > prev.seq + 1
                    else "the store was edited"
                ),
                seq=cp.seq,
            )
        valid.append(cp)
        prev = cp
    return valid, len(lines)


def _rows(session: Session, after_id: int, batch: int) -> Iterable[Any]:
    """Rows as plain tuples (not ORM objects: a long walk keeps one batch in memory)."""
    table = AuditEvent.__table__
    last = after_id
    while True:
        rows = list(
            session.execute(
                select(table).where(table.c.id > last).order_by(table.c.id).limit(batch)
            )
        )
        if not rows:
            return
        yield from rows
        last = rows[-1].id


@dataclass
class _Expectation:
    """A recorded state of the log (a checkpoint, or the keying anchor) to compare with."""

    last_id: int
    head: str
    count: int
    label: str
    seq: int | None


def verify_chain(
    session: Session,
    *,
    batch: int = 5000,
    setup: AuditSetup | None = None,
    checkpoints: bool = True,
) -> ChainReport:
    """Check every row's HMAC and link, and the log against its signed checkpoints.

    ``ok`` is False when anything is missing or altered; ``problems`` says what.
    ``checkpoints=False`` checks the chain alone (rows deleted from the end then
    go unnoticed).
    """
    setup = setup or current_setup()
    keyring = setup.keyring
    problems = _Problems()
    notes: list[str] = []

    anchor = _anchor(session, keyring)
    first = session.execute(
        select(AuditEvent.id, AuditEvent.prev_hash, AuditEvent.hash)
        .order_by(AuditEvent.id)
        .limit(1)
    ).first()
    genesis_hash = first.hash if first is not None and first.prev_hash == GENESIS else None

    applicable: list[Checkpoint] = []
    summary: CheckpointSummary | None = None
    if checkpoints:
        store = CheckpointStore(setup.checkpoint_dir)
        valid, nlines = _read_checkpoints(store, keyring, problems)
        fp = database_fingerprint(session.get_bind().url)
        applicable = [
            c for c in valid if (genesis_hash is not None and c.chain == genesis_hash) or c.db == fp
        ]
        latest = max(applicable, key=lambda c: c.seq) if applicable else None
        summary = CheckpointSummary(
            str(store.path), nlines, len(applicable), latest.to_dict() if latest else None
        )
        if not store.path.exists():
            notes.append(f"no checkpoint store at {store.path}")
        elif not applicable:
            notes.append("no checkpoint covers this database yet (run `carepipe audit checkpoint`)")

    expect: dict[int, list[_Expectation]] = {}
    for c in applicable:
        expect.setdefault(c.last_id, []).append(
            _Expectation(c.last_id, c.head, c.count, f"checkpoint #{c.seq} ({c.at})", c.seq)
        )
    if anchor is not None:
        expect.setdefault(anchor["through"], []).append(
            _Expectation(
                anchor["through"],
                anchor["head"],
                anchor["count"],
                f"the keying record (row {anchor['id']})",
                None,
            )
        )
    latest_cp = max(applicable, key=lambda c: c.seq) if applicable else None

    keys = list(keyring.keys)
    keys_used: dict[str, int] = {}
    legacy_through = anchor["through"] if anchor is not None else 0
    prev_hash, prev_id, count, uncovered = GENESIS, None, 0, 0
    seen: set[int] = set()
    for ev in _rows(session, 0, batch):
        count += 1
        body = canonical(ev)
        if ev.prev_hash != prev_hash:
            if prev_id is None:
                problems.add(
                    "start_missing",
                    f"the log does not begin with its first row: row {ev.id} follows a row that "
                    "is gone (the oldest rows were deleted)",
                    ev.id,
                )
            else:
                problems.add(
                    "link_broken",
                    f"row {ev.id} does not follow row {prev_id}: the row(s) between them were "
                    "deleted, or a row was inserted",
                    ev.id,
                )
        key = _match(ev, body, keys)
        if key is not None:
            keys_used[key.id] = keys_used.get(key.id, 0) + 1
            if keys[0] is not key:  # try this key first for the next row (rotation boundary)
                keys.remove(key)
                keys.insert(0, key)
        elif hmac.compare_digest(legacy_hash(ev), ev.hash):
            if ev.id <= legacy_through:
                keys_used[LEGACY] = keys_used.get(LEGACY, 0) + 1
            else:
                problems.add_row_fault(
                    "unkeyed",
                    ev.id,
                    prev_id,
                    f"row {ev.id} carries a plain SHA-256 hash where the chain is keyed: written "
                    "or rewritten without the key",
                )
        else:
            problems.add_row_fault(
                "altered",
                ev.id,
                prev_id,
                f"row {ev.id} does not match its hash: edited, or rewritten without the key",
            )
        for e in expect.get(ev.id, ()):
            seen.add(ev.id)
            if not hmac.compare_digest(e.head, ev.hash):
                problems.add(
                    "checkpoint_mismatch",
                    f"row {ev.id} is not the row {e.label} recorded (hash {e.head[:12]}… then, "
                    f"{ev.hash[:12]}… now): rewritten",
                    ev.id,
                    e.seq,
                )
            if e.count != count:
                gone = e.count - count
                what = f"{gone} deleted" if gone > 0 else f"{-gone} inserted"
                problems.add(
                    "count_mismatch",
                    f"{e.label} recorded {e.count} rows through id {ev.id}; {count} are there "
                    f"({what})",
                    ev.id,
                    e.seq,
                )
        if latest_cp is not None and ev.id > latest_cp.last_id:
            uncovered += 1
        prev_hash, prev_id = ev.hash, ev.id

    last_id = prev_id
    missing = sorted(
        (e for lid, es in expect.items() if lid not in seen for e in es),
        key=lambda e: (e.last_id, e.count),
    )
    beyond = [e for e in missing if last_id is None or e.last_id > last_id]
    for e in missing:
        if e not in beyond:
            problems.add(
                "row_missing",
                f"row {e.last_id}, which {e.label} recorded as the newest then, is missing",
                e.last_id,
                e.seq,
            )
    if beyond:
        e = beyond[-1]
        now_ends = f"ends at id {last_id} with {count} rows" if last_id else "is empty"
        problems.add(
            "truncated",
            f"rows after id {last_id or 0} are missing: {e.label} recorded {e.count} rows through "
            f"id {e.last_id}; the log now {now_ends} ({max(e.count - count, 0)} rows deleted "
            "from the end)",
            e.last_id,
            e.seq,
        )
    if latest_cp is not None:
        age = (utcnow() - datetime.fromisoformat(latest_cp.at)).total_seconds()
        if age > HEARTBEAT_SECONDS + 2 * setup.checkpoint_interval_seconds:
            notes.append(
                f"the latest checkpoint #{latest_cp.seq} is {age / 3600:.1f} h old: the "
                "checkpoint writer is not running (no `carepipe up`), or newer checkpoints "
                "were removed"
            )
    if latest_cp is not None and uncovered:
        notes.append(
            f"{uncovered} row(s) after id {latest_cp.last_id} are newer than the latest "
            f"checkpoint #{latest_cp.seq} ({latest_cp.at}); until the next checkpoint, deleting "
            "them from the end would go unnoticed"
        )
    items = problems.frozen()
    row_problems = [p for p in items if p.row_id is not None]
    first_bad = min(row_problems, key=lambda p: p.row_id or 0) if row_problems else None
    head_problem = first_bad or (items[0] if items else None)
    return ChainReport(
        ok=problems.total == 0,
        checked=count,
        first_bad_id=first_bad.row_id if first_bad else None,
        problem=head_problem.message if head_problem else None,
        problems=items,
        problems_total=problems.total,
        last_id=last_id,
        head=prev_hash if last_id is not None else None,
        keys_used=keys_used,
        checkpoints=summary,
        uncovered=uncovered,
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class SegmentCheck:
    ok: bool
    rows: int
    problems: tuple[Problem, ...]


def verify_segment(
    session: Session, *, after_id: int, after_hash: str, setup: AuditSetup | None = None
) -> SegmentCheck:
    """Check only the rows after ``after_id`` (links from ``after_hash``, and HMACs):
    what a scheduled checkpoint checks before it signs the new head."""
    setup = setup or current_setup()
    anchor = _anchor(session, setup.keyring)
    legacy_through = anchor["through"] if anchor is not None else 0
    problems = _Problems()
    keys = list(setup.keyring.keys)
    prev_hash, prev_id, n = after_hash, after_id, 0
    for ev in _rows(session, after_id, 5000):
        n += 1
        if ev.prev_hash != prev_hash:
            problems.add("link_broken", f"row {ev.id} does not follow row {prev_id}", ev.id)
        body = canonical(ev)
        if _match(ev, body, keys) is None and not (
            ev.id <= legacy_through and hmac.compare_digest(legacy_hash(ev), ev.hash)
        ):
            problems.add_row_fault(
                "altered", ev.id, prev_id, f"row {ev.id} does not match its hash"
            )
        prev_hash, prev_id = ev.hash, ev.id
    return SegmentCheck(problems.total == 0, n, problems.frozen())
