"""Reading and writing secret versions (no permissions here: ``carepipe.ops.secrets`` checks
them and audits; engines and interop reach values only through ``resolve``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from carepipe.core.clock import utcnow
from carepipe.core.errors import InvalidSecret, SecretNotFound
from carepipe.core.secrets.envelope import Kek, Keyring, Sealed, rewrap, seal, unseal
from carepipe.core.secrets.models import SecretVersion
from carepipe.observability.redaction import MIN_REDACTED_LENGTH, register

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")
MAX_VALUE_LENGTH = 8192
MASK = "\u2022\u2022\u2022\u2022"


def mask(value: str) -> str:
    """``••••wxyz``: the last four characters only for values of 12 or more, else none."""
    return MASK + value[-4:] if len(value) >= 12 else MASK


def check_name(name: str) -> str:
    """``name`` if it is a valid secret name (lower case, digits, ``. _ -``; one URL
    path segment, so the API names it without escaping)."""
    if not NAME_RE.match(name):
        raise InvalidSecret(
            "a secret name is 1-128 characters: lower-case letters, digits and . _ - "
            "(starting with a letter or digit)"
        )
    return name


def put(session: Session, kek: Kek, name: str, value: str, *, actor: str) -> SecretVersion:
    """Store ``value`` as the next version of ``name`` (the first is 1); earlier ones stay."""
    check_name(name)
    if len(value) < MIN_REDACTED_LENGTH or len(value) > MAX_VALUE_LENGTH:
        # The length rule keeps redaction exact: shorter values would blank common words.
        raise InvalidSecret(
            f"a secret value is {MIN_REDACTED_LENGTH}-{MAX_VALUE_LENGTH} characters"
        )
    if value != value.strip():
        raise InvalidSecret("a secret value must not start or end with white space")
    register(value)
    current = session.execute(
        select(func.max(SecretVersion.version)).where(SecretVersion.name == name)
    ).scalar_one_or_none()
    version = (current or 0) + 1
    sealed = seal(kek, name, version, value)
    row = SecretVersion(
        name=name,
        version=version,
        ciphertext=sealed.ciphertext,
        wrapped_dek=sealed.wrapped_dek,
        kek_id=sealed.kek_id,
        masked=mask(value),
        created_at=utcnow(),
        created_by=actor,
    )
    session.add(row)
    session.flush()
    return row


def latest_versions(session: Session) -> list[SecretVersion]:
    """The version in use of every secret, by name."""
    newest = (
        select(SecretVersion.name, func.max(SecretVersion.version).label("v"))
        .group_by(SecretVersion.name)
        .subquery()
    )
    rows = session.execute(
        select(SecretVersion)
        .join(
            newest,
            (SecretVersion.name == newest.c.name) & (SecretVersion.version == newest.c.v),
        )
        .order_by(SecretVersion.name)
    )
    return list(rows.scalars())


def versions_of(session: Session, name: str) -> list[SecretVersion]:
    """Every kept version of ``name``, newest first (``SecretNotFound`` if none)."""
    rows = list(
        session.execute(
            select(SecretVersion)
            .where(SecretVersion.name == name)
            .order_by(SecretVersion.version.desc())
        ).scalars()
    )
    if not rows:
        raise SecretNotFound(f"no secret named {name!r}", details={"name": name})
    return rows


def _key(keys: Kek | Keyring, kek_id: str) -> Kek:
    return keys.for_id(kek_id) if isinstance(keys, Keyring) else keys


def reveal(session: Session, keys: Kek | Keyring, name: str, version: int | None = None) -> str:
    """The value of ``name`` (its newest version, or ``version``), registered for redaction
    before it is returned, so no later log line of this process can show it. With a
    ``Keyring`` the version's own KEK is used (current or previous)."""
    rows = versions_of(session, name)
    row = rows[0] if version is None else next((r for r in rows if r.version == version), None)
    if row is None:
        raise SecretNotFound(
            f"secret {name!r} has no version {version}", details={"name": name, "version": version}
        )
    sealed = Sealed(row.ciphertext, row.wrapped_dek, row.kek_id)
    value = unseal(_key(keys, row.kek_id), row.name, row.version, sealed)
    register(value)
    return value


def restore(
    session: Session, keys: Kek | Keyring, name: str, version: int, *, actor: str
) -> SecretVersion:
    """Roll back: store the value of ``version`` again as the newest version (the value
    never leaves this function; the versions in between stay, for the record)."""
    value = reveal(session, keys, name, version)
    current = keys.current if isinstance(keys, Keyring) else keys
    return put(session, current, name, value, actor=actor)


def remove(session: Session, name: str) -> int:
    """Delete every version of ``name``; how many there were (``SecretNotFound`` if none)."""
    count = len(versions_of(session, name))
    session.execute(delete(SecretVersion).where(SecretVersion.name == name))
    return count


@dataclass(frozen=True)
class RewrapReport:
    """What a rewrap did: versions rewrapped, versions already under the new KEK."""

    old_kek_id: str
    new_kek_id: str
    rewrapped: int
    already: int


def rewrap_all(session: Session, old: Kek | Keyring, new: Kek) -> RewrapReport:
    """Re-wrap every data key under ``new``, in the caller's one transaction; ciphertexts
    are not touched. Versions already under ``new`` are skipped (a rerun is harmless);
    any version that ``old`` (or, for a ``Keyring``, none of its KEKs) unwraps aborts
    the whole rewrap."""
    rows = session.execute(select(SecretVersion).order_by(SecretVersion.id)).scalars()
    done = already = 0
    for row in rows:
        if row.kek_id == new.id:
            already += 1
            continue
        source = _key(old, row.kek_id)
        row.wrapped_dek = rewrap(source, new, row.name, row.version, row.wrapped_dek, row.kek_id)
        row.kek_id = new.id
        done += 1
    session.flush()
    old_id = old.current.id if isinstance(old, Keyring) else old.id
    return RewrapReport(old_kek_id=old_id, new_kek_id=new.id, rewrapped=done, already=already)
