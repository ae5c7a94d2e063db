"""The patient a job is about, as its submitter named it (the job's ``context``).

A scribe recording, a scanned page or a free-text order does not say whose it
is; the submitter does, in ``context``. It is PHI, so it is kept encrypted in
the blob store (only its blob key sits in the message row's metadata), and it
travels with the archived message: replays and backfills of that message see
the same patient.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from carepipe.core.blobs import BlobStore
from carepipe.core.errors import InvalidAbha, ValidationFailed
from carepipe.core.json_schema import IDENTIFIER_PATTERN, omit_null
from carepipe.interop.identity.abha import ABHA_PATTERN, normalize_abha

_META_KEY = "context_blob"
DIALECT_PATTERN = r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$"


class PatientContext(BaseModel):
    """Who the job is about. Give at least one of ``patient_id``, ``abha`` or ``mrn``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            # "At least one of patient_id, abha, mrn", said without anyOf (which fuzzers
            # negate wrongly): assigning_authority needs an mrn, and dialect, the only
            # other key, needs one more key beside it (so one of the three).
            "minProperties": 1,
            "dependentRequired": {"assigning_authority": ["mrn"]},
            "dependentSchemas": {"dialect": {"minProperties": 2}},
        },
    )

    patient_id: str | None = Field(
        None,
        json_schema_extra=omit_null,
        pattern=r"^[A-Za-z0-9\-.]{1,64}$",
        description="The patient's id on the EMR: the bundle references Patient/<patient_id>.",
    )
    abha: str | None = Field(
        None,
        json_schema_extra=omit_null,
        pattern=ABHA_PATTERN,
        description="ABHA number, 14 digits (hyphens or spaces allowed between the groups).",
    )
    mrn: str | None = Field(
        None,
        json_schema_extra=omit_null,
        min_length=1,
        max_length=64,
        pattern=IDENTIFIER_PATTERN,
        description="Medical record number, looked up in the patient index.",
    )
    assigning_authority: str | None = Field(
        None,
        json_schema_extra=omit_null,
        min_length=1,
        max_length=128,
        pattern=IDENTIFIER_PATTERN,
        description="The authority that issued the MRN (PID-3.4 in HL7 terms).",
    )
    # Model quality monitoring (issue 14): metrics and corrections per dialect.
    dialect: str | None = Field(
        None,
        json_schema_extra=omit_null,
        pattern=DIALECT_PATTERN,
        max_length=16,
        description="The speakers' dialect as a BCP 47 language-region tag (en-IN, en-GB); "
        "default: the tenant's 'dialect' setting.",
    )

    @field_validator("*", mode="before")
    @classmethod
    def _given_or_absent(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("leave the key out instead of sending null")
        return value

    @field_validator("abha")
    @classmethod
    def _abha(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return normalize_abha(value)
        except InvalidAbha:
            raise ValueError("abha must be 14 digits (hyphens allowed)") from None

    @model_validator(mode="after")
    def _names_a_patient(self) -> PatientContext:
        if not (self.patient_id or self.abha or self.mrn):
            raise ValueError("context needs at least one of patient_id, abha or mrn")
        if self.assigning_authority and not self.mrn:
            raise ValueError("assigning_authority is given only with an mrn")
        return self


def parse_context(value: Any) -> PatientContext | None:
    """``value`` (a dict, a model or None) as a ``PatientContext``; ``ValidationFailed`` if bad."""
    if value is None or isinstance(value, PatientContext):
        return value
    try:
        return PatientContext.model_validate(value)
    except ValidationError as exc:
        raise ValidationFailed(
            "context is not valid",
            details=[
                {"loc": ["context", *(str(p) for p in e["loc"])], "msg": e["msg"]}
                for e in exc.errors()
            ],
        ) from None


def seal_context(blobs: BlobStore, context: PatientContext) -> dict[str, str]:
    """Store ``context`` encrypted; returns the metadata entry that points to it.

    A random nonce goes into the stored document: blob keys are the sha256 of
    the plaintext, and the key of a bare ``{"mrn": "123"}`` could be guessed.
    """
    doc = {"nonce": secrets.token_hex(16), "context": context.model_dump(exclude_none=True)}
    return {_META_KEY: blobs.put(json.dumps(doc, separators=(",", ":")).encode())}


def has_context(meta: dict[str, Any] | None) -> bool:
    """Whether a message's metadata points to a sealed context."""
    return bool((meta or {}).get(_META_KEY))


def open_context(blobs: BlobStore, meta: dict[str, Any] | None) -> PatientContext | None:
    """The context sealed into a message's metadata, or None if the submitter gave none."""
    key = (meta or {}).get(_META_KEY)
    if not key:
        return None
    doc = json.loads(blobs.get(str(key)))
    return PatientContext.model_validate(doc["context"])
