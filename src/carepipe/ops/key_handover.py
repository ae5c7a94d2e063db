"""One-time links that hand a new API key to the partner (issue 16).

Staff request a key "by link": instead of the secret they get a link, valid for one view
within ``LINK_HOURS``. The link carries a random 256-bit token. The database keeps:

- the SHA-256 of the token (to find the link), and
- the key, AES-256-GCM encrypted under a *different* key derived from the token
  (SHA-256 of a label and the token), bound to the key id.

So the database alone cannot decrypt the key, and neither can anyone who saw a link id
in a log; the link alone reveals it once. The first view clears the ciphertext (a
conditional update: two views at once cannot both succeed); the scheduler clears it
when the link expires. Opening the link shows a "Reveal" button first, so chat and
mail link previews (which fetch the page) do not use up the single view. Creating and
viewing are audited, with the viewer's source address.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from carepipe.core import audit
from carepipe.core.auth import Principal, require
from carepipe.core.clock import utcnow
from carepipe.core.crypto import Cipher, sha256_hex
from carepipe.core.db import Database
from carepipe.core.errors import NotFound
from carepipe.ops.api_keys import IssuedKey, get_key
from carepipe.ops.key_models import ApiKeyHandover
from carepipe.ops.views import View

LINK_HOURS = 24
_KDF_LABEL = b"carepipe.api-key-handover.v1\x00"


class HandoverLink(View):
    """A one-time link to a staged key (the token is shown here only)."""

    key_id: str
    token: str
    path: str
    expires_at: datetime


def _cipher(token: str) -> Cipher:
    return Cipher(hashlib.sha256(_KDF_LABEL + token.encode()).digest())


def create_link(session: Session, actor: Principal, issued: IssuedKey) -> HandoverLink:
    """A link that shows ``issued``'s secret once, within ``LINK_HOURS``."""
    require(actor, "keys.manage")
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = ApiKeyHandover(
        token_sha256=sha256_hex(token.encode()),
        key_id=issued.id,
        ciphertext=_cipher(token).encrypt(issued.plaintext.encode(), aad=issued.id.encode()),
        created_at=now,
        created_by=actor.actor,
        expires_at=now + timedelta(hours=LINK_HOURS),
    )
    session.add(row)
    audit.record(
        session,
        actor=actor.actor,
        actor_role=actor.role,
        tenant=issued.tenant,
        action="api_key.handover_link",
        target_type="api_key",
        target_id=issued.id,
        after={"expires_at": row.expires_at.isoformat()},
    )
    return HandoverLink(
        key_id=issued.id,
        token=token,
        path=f"/console/keys/handover/{token}",
        expires_at=row.expires_at,
    )


def _usable(session: Session, token: str) -> ApiKeyHandover:
    row = session.get(ApiKeyHandover, sha256_hex(token.encode()))
    # One answer for unknown, used and expired links: the holder learns nothing more.
    if row is None or row.ciphertext is None or row.expires_at <= utcnow():
        raise NotFound("this link was used already, has expired, or never existed")
    return row


def check_link(session: Session, token: str) -> str:
    """The key id a usable link would reveal (the page before "Reveal"); else NotFound."""
    return _usable(session, token).key_id


def open_link(session: Session, token: str, *, source: str | None) -> str:
    """The key's plaintext, once: the ciphertext is cleared in the same transaction."""
    row = _usable(session, token)
    ciphertext, key_id = row.ciphertext, row.key_id
    assert ciphertext is not None  # _usable checked it
    now = utcnow()
    taken = session.execute(
        update(ApiKeyHandover)
        .where(
            ApiKeyHandover.token_sha256 == row.token_sha256,
            ApiKeyHandover.ciphertext.is_not(None),
        )
        .values(ciphertext=None, viewed_at=now, viewed_from=source)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:  # another view won the race
        raise NotFound("this link was used already, has expired, or never existed")
    key = get_key(session, key_id)
    audit.record(
        session,
        actor="link:" + row.token_sha256[:12],
        actor_role="partner",
        tenant=key.tenant,
        action="api_key.handover_viewed",
        target_type="api_key",
        target_id=key_id,
        after={"source": source, "key_status": key.status},
    )
    return _cipher(token).decrypt(ciphertext, aad=key_id.encode()).decode()


def purge_expired(db: Database) -> int:
    """Clear the ciphertext of links that expired unviewed (the scheduler)."""
    with db.transaction() as s:
        return int(
            s.execute(
                update(ApiKeyHandover)
                .where(ApiKeyHandover.ciphertext.is_not(None))
                .where(ApiKeyHandover.expires_at <= utcnow())
                .values(ciphertext=None)
            ).rowcount
            or 0
        )
