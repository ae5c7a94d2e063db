"""The store on SQLite and PostgreSQL: versions, reveal, rewrap in one transaction."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select

from carepipe.core.errors import InvalidSecret, SecretKekMismatch, SecretNotFound
from carepipe.core.secrets import Kek, Keyring
from carepipe.core.secrets import store as secret_store
from carepipe.core.secrets.models import SecretVersion


def _kek() -> Kek:
    return Kek.from_bytes(os.urandom(32))


def test_versions_are_kept_the_newest_is_used_and_rewrap_moves_them_all(db):
    old, new = _kek(), _kek()
    with db.transaction() as s:
        for value in ("first-value-0001", "second-value-0002"):
            secret_store.put(s, old, "emr.token", value, actor="user:ada")
        secret_store.put(s, old, "llm.key", "sk-abcdefghijkl", actor="user:ada")
    with db.session() as s:
        latest = {r.name: (r.version, r.masked) for r in secret_store.latest_versions(s)}
        assert latest == {"emr.token": (2, "••••0002"), "llm.key": (1, "••••ijkl")}
        assert secret_store.reveal(s, old, "emr.token") == "second-value-0002"
        assert secret_store.reveal(s, old, "emr.token", version=1) == "first-value-0001"
        ciphertexts = dict(s.execute(select(SecretVersion.id, SecretVersion.ciphertext)).all())

    with db.transaction() as s:
        report = secret_store.rewrap_all(s, old, new)
    assert (report.rewrapped, report.already) == (3, 0)
    with db.session() as s:
        assert secret_store.reveal(s, new, "emr.token") == "second-value-0002"
        assert secret_store.reveal(s, new, "emr.token", version=1) == "first-value-0001"
        with pytest.raises(SecretKekMismatch):
            secret_store.reveal(s, old, "llm.key")
        # Ciphertexts untouched: only the wrapped data keys moved.
        assert dict(s.execute(select(SecretVersion.id, SecretVersion.ciphertext)).all()) == (
            ciphertexts
        )
    with db.transaction() as s:  # a rerun finds nothing left to do
        assert secret_store.rewrap_all(s, old, new).already == 3
    with db.transaction() as s:  # rollback: version 1's value, current again as version 3
        assert secret_store.restore(s, new, "emr.token", 1, actor="user:ada").version == 3
    with db.session() as s:
        assert secret_store.reveal(s, new, "emr.token") == "first-value-0001"


def test_a_rewrap_with_the_wrong_old_kek_changes_nothing(db):
    a, b, new = _kek(), _kek(), _kek()
    with db.transaction() as s:
        secret_store.put(s, a, "one.secret", "value-one-0001", actor="t")
        secret_store.put(s, b, "two.secret", "value-two-0002", actor="t")
    with pytest.raises(SecretKekMismatch), db.transaction() as s:
        secret_store.rewrap_all(s, a, new)  # the first row moves, the second refuses
    with db.session() as s:
        kek_ids = set(s.execute(select(SecretVersion.kek_id)).scalars())
    assert kek_ids == {a.id, b.id}  # rolled back as one transaction


def test_names_values_and_missing_secrets_are_refused_with_codes(db):
    kek = _kek()
    with db.transaction() as s:
        for name, value in (("Emr Token", "long-enough-1"), ("ok", "short"), ("ok", " padded-1 ")):
            with pytest.raises(InvalidSecret) as err:
                secret_store.put(s, kek, name, value, actor="t")
            assert value not in err.value.message
        with pytest.raises(SecretNotFound):
            secret_store.reveal(s, kek, "nothing.here")
        secret_store.put(s, kek, "gone.soon", "value-to-delete", actor="t")
        assert secret_store.remove(s, "gone.soon") == 1
        with pytest.raises(SecretNotFound):
            secret_store.remove(s, "gone.soon")


def test_a_rotation_rolled_out_before_the_rewrap_reads_under_both_keks(db):
    """Zero-downtime order: every host gets the new KEK as current and the old one as
    ``secrets_old_kek_file`` first; then the rewrap; then the old one goes."""
    old, new = _kek(), _kek()
    ring = Keyring(new, (old,))
    with db.transaction() as s:
        secret_store.put(s, old, "a.secret", "value-a-00000001", actor="t")
        secret_store.put(s, ring.current, "b.secret", "value-b-00000002", actor="t")
    with db.session() as s:
        assert secret_store.reveal(s, ring, "a.secret") == "value-a-00000001"
        assert secret_store.reveal(s, ring, "b.secret") == "value-b-00000002"
    with db.transaction() as s:
        report = secret_store.rewrap_all(s, ring, new)
    assert (report.rewrapped, report.already) == (1, 1)
    with db.session() as s:
        assert secret_store.reveal(s, Keyring(new), "a.secret") == "value-a-00000001"
        with pytest.raises(SecretKekMismatch):
            secret_store.reveal(s, old, "a.secret")
