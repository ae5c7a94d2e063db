"""Naming a model version: by id, ``name@3`` (a version number) or ``name@champion`` (an
alias). Every door (API, console, CLI) accepts the same forms."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from carepipe.core.errors import InvalidRequest, NotFound
from carepipe.mlops.models import MlAlias, MlModel, MlModelVersion

#: A model name: letters, digits, dot, dash, underscore (``whisper-base``, ``note-rules``).
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
#: An alias: lower-case word (``champion``, ``challenger``, ``shadow-2``).
ALIAS_PATTERN = r"^[a-z][a-z0-9_-]{0,63}$"
#: What every door accepts as a version reference (an id, ``name@<1-9 digits>``, ``name@alias``).
REF_PATTERN = (
    r"^([0-9a-f]{32}|[A-Za-z0-9][A-Za-z0-9._-]{0,127}@([0-9]{1,9}|[a-z][a-z0-9_-]{0,63}))$"
)
_REF = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]{0,127})@(?P<which>[A-Za-z0-9_-]{1,64})$")
_ID = re.compile(r"^[0-9a-f]{32}$")


def model_by_name(session: Session, name: str) -> MlModel:
    """The model called ``name``; ``NotFound`` (404 ``not_found``) when there is none."""
    model = session.execute(select(MlModel).where(MlModel.name == name)).scalar_one_or_none()
    if model is None:
        raise NotFound(f"no model named {name!r}")
    return model


def resolve_version(session: Session, ref: str) -> MlModelVersion:
    """The version ``ref`` names: a version id, ``name@<number>`` or ``name@<alias>``.

    Raises ``InvalidRequest`` for a malformed reference and ``NotFound`` for one that
    names nothing.
    """
    ref = ref.strip()
    if _ID.match(ref):
        version = session.get(MlModelVersion, ref)
        if version is None:
            raise NotFound(f"no model version {ref}")
        return version
    m = _REF.match(ref)
    if m is None:
        raise InvalidRequest(
            f"bad model version reference {ref!r}: expected an id, name@<version> or name@<alias>",
            details={"ref": ref},
        )
    model = model_by_name(session, m["name"])
    which = m["which"]
    if which.isdigit():
        if len(which) > 9:  # beyond any version number (and a database integer)
            raise NotFound(f"model {model.name!r} has no version {which}")
        version = session.execute(
            select(MlModelVersion).where(
                MlModelVersion.model_id == model.id, MlModelVersion.version == int(which)
            )
        ).scalar_one_or_none()
    else:
        alias = session.get(MlAlias, (model.id, which))
        version = session.get(MlModelVersion, alias.version_id) if alias else None
    if version is None:
        raise NotFound(f"model {model.name!r} has no version or alias {which!r}")
    return version


def label(session: Session, version: MlModelVersion) -> str:
    """``name@version`` for people and logs (ids are for machines)."""
    model = session.get(MlModel, version.model_id)
    return f"{model.name if model else '?'}@{version.version}"
