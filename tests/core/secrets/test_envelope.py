"""Envelope encryption, masking and log redaction, without a database (fast)."""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from pathlib import Path

import pytest
import structlog
from pydantic import SecretStr

from carepipe.core.config import Settings
from carepipe.core.errors import InvalidRequest, SecretKekMismatch
from carepipe.core.secrets import Kek, kek_from_settings, mask, write_kek_file
from carepipe.core.secrets.envelope import rewrap, seal, unseal
from carepipe.observability import redaction
from tests.support.debug_logging import debug_logging


def _kek() -> Kek:
    return Kek.from_bytes(os.urandom(32))


def test_a_value_decrypts_only_under_its_kek_name_and_version():
    kek = _kek()
    sealed = seal(kek, "emr.token", 3, "tok-0123456789abcdef")
    assert b"tok-0123456789abcdef" not in sealed.ciphertext + sealed.wrapped_dek
    assert unseal(kek, "emr.token", 3, sealed) == "tok-0123456789abcdef"
    # A row copied under another name or version (AAD binds both) does not decrypt.
    for name, version in (("llm.key", 3), ("emr.token", 2)):
        with pytest.raises(SecretKekMismatch):
            unseal(kek, name, version, sealed)
    # Another KEK, even when the stored fingerprint is faked to match it.
    other = _kek()
    with pytest.raises(SecretKekMismatch, match="wrapped under KEK"):
        unseal(other, "emr.token", 3, sealed)
    with pytest.raises(SecretKekMismatch, match="does not unwrap"):
        unseal(other, "emr.token", 3, replace(sealed, kek_id=other.id))
    # Every version gets its own data key: sealing twice gives unrelated ciphertexts.
    again = seal(kek, "emr.token", 3, "tok-0123456789abcdef")
    assert again.ciphertext[13:29] != sealed.ciphertext[13:29]


def test_rewrap_changes_only_the_wrapped_key_and_the_old_kek_stops_working():
    old, new = _kek(), _kek()
    sealed = seal(old, "llm.key", 1, "sk-live-abcdefghijklmnop")
    wrapped = rewrap(old, new, "llm.key", 1, sealed.wrapped_dek, sealed.kek_id)
    moved = replace(sealed, wrapped_dek=wrapped, kek_id=new.id)
    assert moved.ciphertext == sealed.ciphertext
    assert unseal(new, "llm.key", 1, moved) == "sk-live-abcdefghijklmnop"
    with pytest.raises(SecretKekMismatch):
        unseal(old, "llm.key", 1, moved)


def test_the_kek_comes_from_the_environment_a_file_or_a_0600_default(tmp_path: Path):
    base = Settings(data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]
    default = kek_from_settings(base)
    path = tmp_path / "secrets" / "kek.key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert kek_from_settings(base).id == default.id  # created once, then read
    other = write_kek_file(tmp_path / "new.key")
    from_file = base.model_copy(update={"secrets_kek_file": tmp_path / "new.key"})
    assert kek_from_settings(from_file).id == other.id
    env = from_file.model_copy(update={"secrets_kek": SecretStr(path.read_text())})
    assert kek_from_settings(env).id == default.id  # the variable wins over the file
    with pytest.raises(InvalidRequest, match="32 bytes"):
        kek_from_settings(base.model_copy(update={"secrets_kek": SecretStr("c2hvcnQ=")}))
    assert repr(default).count(default.key.hex()) == 0 and "key=" not in repr(default)


@pytest.mark.parametrize(
    ("value", "shown"),
    [("0123456789ab", "••••89ab"), ("0123456789a", "••••"), ("abcdefgh", "••••")],
)
def test_masks_show_the_last_four_only_of_long_values(value, shown):
    assert mask(value) == shown


def test_every_log_path_redacts_registered_values_and_key_shaped_strings(capsys, caplog):
    secret = "vault-" + os.urandom(8).hex()
    redaction.register(secret)
    key = "cp_prod_abcdefghijkl_" + "Z" * 40
    new_key = "cpk_prod_abcdefghijkl_" + "Y" * 40 + "_c0ffee"
    caplog.set_level(logging.DEBUG)
    with debug_logging():
        structlog.get_logger("t").debug(
            "call", url=f"https://x/?k={secret}", nested={"h": [f"Bearer {secret}"]}, k=key
        )
        try:
            raise RuntimeError(f"remote said: Incorrect API key provided: {secret}")
        except RuntimeError:
            structlog.get_logger("t").exception("failed")
            logging.getLogger("carepipe.test").exception("stdlib %s %s", new_key, secret)
    out = capsys.readouterr().err
    stdlib = "\n".join(
        r.getMessage() + (r.exc_text or "") for r in caplog.records if r.name == "carepipe.test"
    )
    assert out.count("[redacted]") >= 4 and "Incorrect API key provided" in out
    assert "stdlib [redacted] [redacted]" in stdlib and "Incorrect API key" in stdlib
    for text in (out, stdlib):
        assert secret not in text and key not in text and new_key not in text
    # Short values are not registered (they would blank out ordinary words).
    redaction.register("short")
    assert redaction.redact_text("a short word") == "a short word"
