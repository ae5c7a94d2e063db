"""The secrets store's table: one row per version of a secret (migration 0012)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carepipe.core.models import Base, BigId


class SecretVersion(Base):
    """A version of a named secret, envelope-encrypted (``carepipe.core.secrets.envelope``).

    ``ciphertext`` is the value under a data key of its own (AES-256-GCM, the name and
    version bound as associated data); ``wrapped_dek`` is that data key under the
    key-encryption key whose fingerprint is ``kek_id``. A rewrap changes only
    ``wrapped_dek`` and ``kek_id``. ``masked`` is what lists show (``••••wxyz``).
    Earlier versions are kept for rollback; the highest version is the one in use.
    """

    __tablename__ = "secret_versions"
    __table_args__ = (
        UniqueConstraint("name", "version", name="uq_secret_versions_name_version"),
        Index("ix_secret_versions_kek", "kek_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    wrapped_dek: Mapped[bytes] = mapped_column(LargeBinary)
    kek_id: Mapped[str] = mapped_column(String(16))
    masked: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(128))
