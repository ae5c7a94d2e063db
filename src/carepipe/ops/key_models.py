"""Tables of API key rotation (issue 16, migration 0011) beside ``core.models.ApiKey``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from carepipe.core.models import Base


class ApiKeyTombstone(Base):
    """The digest of every revoked key's secret, kept forever (never deleted).

    Key rows are not deleted today, but a tombstone keeps a revoked key recognised
    (401 ``api_key_revoked``, alert) even if its row is ever removed by hand.
    """

    __tablename__ = "api_key_tombstones"

    secret_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32))
    tenant: Mapped[str] = mapped_column(String(64))
    revoked_at: Mapped[datetime]


class ApiKeyHandover(Base):
    """A one-time link that hands a new key's secret to the partner (single view, expires).

    Keyed by the SHA-256 of the link's token; the key is encrypted under another key
    derived from that token, so neither the database nor a log of link ids reveals it.
    The ciphertext is cleared on the first view and when the link expires.
    """

    __tablename__ = "api_key_handovers"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), index=True)
    ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime]
    viewed_at: Mapped[datetime | None]
    viewed_from: Mapped[str | None] = mapped_column(String(64))
