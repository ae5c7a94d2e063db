"""What partner keys do: uses counted in memory and written in batches, refusals reported.

Uses: every authenticated request adds to an in-memory tally per key (count, last time,
last source address); a key's tally is written (one ``UPDATE``) when
``CAREPIPE_API_KEY_USAGE_FLUSH_SECONDS`` have passed since its last write, so a busy
partner costs one write a minute, not one per request. A crash loses at most that
window's counts (the figures are for operators, not billing).

Refusals of an identified key (revoked, expired, staged) are counted in
``carepipe_api_key_rejected_total`` every time. A revoked or expired key also gets an
audit event ``api_key.rejected`` (key id, source address, refusals since the last
event) and a webhook notification, at most once per key per minute per process: a
revoked key hammering the API must not write millions of audit rows.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update

from carepipe.core import audit
from carepipe.core.clock import utcnow
from carepipe.core.db import Database
from carepipe.core.models import ApiKey
from carepipe.mlops.notify import notify
from carepipe.observability.logging import get_logger
from carepipe.observability.metrics import API_KEY_REJECTED
from carepipe.ops.api_keys import VerifiedKey

log = get_logger("carepipe.api_keys")
REPORT_EVERY_SECONDS = 60.0  # audit events and notifications per refused key, at most


@dataclass
class _Tally:
    count: int = 0
    last_at: datetime | None = None
    last_ip: str | None = None
    written: float = 0.0  # monotonic time of the last write


_tallies: dict[str, _Tally] = {}
_reported: dict[str, tuple[float, int]] = {}  # key id -> (last report, refusals since)
_lock = threading.Lock()


def record_use(key_id: str, source: str | None, flush_every: float) -> bool:
    """Count one use of ``key_id``; True when its tally is due to be written."""
    now = time.monotonic()
    with _lock:
        tally = _tallies.setdefault(key_id, _Tally(written=now))
        tally.count += 1
        tally.last_at = utcnow()
        tally.last_ip = source
        return now - tally.written >= flush_every


def flush_usage(db: Database) -> int:
    """Write every key's pending tally (one ``UPDATE`` each); returns how many keys."""
    now = time.monotonic()
    with _lock:
        pending = {k: t for k, t in _tallies.items() if t.count}
        for key_id in pending:
            _tallies[key_id] = _Tally(written=now)
    if not pending:
        return 0
    with db.transaction() as s:
        for key_id, tally in pending.items():
            s.execute(
                update(ApiKey)
                .where(ApiKey.id == key_id)
                .values(
                    request_count=ApiKey.request_count + tally.count,
                    last_used_at=tally.last_at,
                    last_used_ip=tally.last_ip,
                )
            )
    return len(pending)


def record_refusal(
    db: Database,
    key: VerifiedKey | None,
    reason: str,
    source: str | None,
    webhook_url: str | None,
) -> None:
    """Count a refused key; audit and notify a revoked or expired one (throttled)."""
    API_KEY_REJECTED.labels(key.tenant if key else "unknown", reason).inc()
    if key is None or reason not in ("revoked", "expired"):
        return
    now = time.monotonic()
    with _lock:
        last, since = _reported.get(key.id, (-1e18, 0))
        if now - last < REPORT_EVERY_SECONDS:
            _reported[key.id] = (last, since + 1)
            return
        _reported[key.id] = (now, 0)
    details = {
        "reason": reason,
        "source": source,
        "refusals_since_last_event": since,
    }
    with db.transaction() as s:
        audit.record(
            s,
            actor=f"api_key:{key.id}",
            actor_role="partner",
            tenant=key.tenant,
            action="api_key.rejected",
            target_type="api_key",
            target_id=key.id,
            after=details,
        )
    log.warning("api_key.rejected", key_id=key.id, tenant=key.tenant, reason=reason)
    notify(
        webhook_url,
        "api_key.revoked_use",
        {"key_id": key.id, "tenant": key.tenant, **details},
    )


def forget_usage() -> None:
    """Drop pending tallies and report times (tests)."""
    with _lock:
        _tallies.clear()
        _reported.clear()
