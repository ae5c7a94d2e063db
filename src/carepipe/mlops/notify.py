"""The notification hook: a JSON POST to ``CAREPIPE_MODEL_WEBHOOK_URL`` for promotions,
deployments, canary decisions, rollbacks and drift events.

Delivery is best effort and never blocks or fails the change it reports (the audit log is
the record; the hook is for people and chat-ops). Each event is sent once from a daemon
thread with a short timeout; failures are logged with the event type, never the body.
Events carry ids, names, stages and figures: no PHI, no secrets.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.event import listen
from sqlalchemy.orm import Session

from carepipe.observability.logging import get_logger

log = get_logger("carepipe.mlops.notify")
TIMEOUT_SECONDS = 5.0


def _post(url: str, body: dict[str, Any]) -> None:
    try:
        response = httpx.post(url, json=body, timeout=TIMEOUT_SECONDS)
        if response.status_code >= 400:
            log.warning(
                "model_webhook.refused", event_type=body["event"], status=response.status_code
            )
    except httpx.HTTPError as exc:
        log.warning("model_webhook.failed", event_type=body["event"], error=type(exc).__name__)


def notify(url: str | None, event: str, payload: dict[str, Any], *, wait: bool = False) -> None:
    """Send ``{"event": event, "at": ..., **payload}`` to ``url`` (nothing when ``url`` is
    empty). ``wait`` sends in the caller's thread (tests, the CLI before it exits)."""
    if not url:
        return
    body = {"event": event, "at": datetime.now(UTC).isoformat(), **payload}
    if wait:
        _post(url, body)
        return
    threading.Thread(target=_post, args=(url, body), name="model-webhook", daemon=True).start()


def notify_after_commit(
    session: Session, url: str | None, event: str, payload: dict[str, Any]
) -> None:
    """:func:`notify` once ``session``'s transaction commits (nothing if it rolls back): a
    change refused by a conflict after this call must not be announced."""
    if not url:
        return
    listen(session, "after_commit", lambda _s: notify(url, event, payload), once=True)
