"""The model registry: register models and versions, search, show, and aliases.

Artifacts are content-addressed: an uploaded one (a note config, a tar of a CTranslate2
Whisper directory) is put in the blob store (encrypted; its key is ``sha256/<hex>``); a
packaged Whisper model is recorded by the sha256 of its ``model.bin`` and the package it
comes from, never copied. Formats are checked by :mod:`carepipe.mlops.formats`.

A model's ``revision`` is bumped by every change to it (a new version, a stage change, an
alias move); an alias change names the revision it was based on and is refused with
``409 registry_conflict`` if another change came first (a conditional ``UPDATE``).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from carepipe.core import audit
from carepipe.core.auth import Principal, require
from carepipe.core.blobs import BlobStore
from carepipe.core.clock import utcnow
from carepipe.core.errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    RegistryConflict,
    ValidationFailed,
)
from carepipe.mlops import formats
from carepipe.mlops.models import (
    ENGINE_KINDS,
    STAGES,
    MlAlias,
    MlApproval,
    MlEvaluation,
    MlModel,
    MlModelVersion,
    MlStageChange,
)
from carepipe.mlops.refs import ALIAS_PATTERN, NAME_PATTERN, model_by_name
from carepipe.mlops.views import (
    AliasView,
    EvaluationPoint,
    ModelDetail,
    ModelPage,
    ModelView,
    VersionDetail,
    VersionView,
    approval_view,
    stage_change_view,
    version_view,
)

MAX_PAGE = 200
MAX_TAGS = 32
_NAME = re.compile(NAME_PATTERN)
_ALIAS = re.compile(ALIAS_PATTERN)


def _check_tags(tags: dict[str, Any] | None) -> dict[str, Any]:
    tags = dict(tags or {})
    if len(tags) > MAX_TAGS or any(not isinstance(k, str) or len(k) > 64 for k in tags):
        raise InvalidRequest(f"at most {MAX_TAGS} tags, names of at most 64 characters")
    return tags


def bump_model(session: Session, model: MlModel, expected: int | None = None) -> int:
    """Add one to the model's ``revision``; with ``expected``, only if it is still that
    (``RegistryConflict`` otherwise: another change came first). Returns the new revision."""
    stmt = update(MlModel).where(MlModel.id == model.id)
    if expected is not None:
        stmt = stmt.where(MlModel.revision == expected)
    done = session.execute(
        stmt.values(revision=MlModel.revision + 1).execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        session.refresh(model)
        raise RegistryConflict(
            f"model {model.name} changed since revision {expected} (now {model.revision}); "
            "read it again",
            details={"expected_revision": expected, "current_revision": model.revision},
        )
    session.refresh(model)
    return model.revision


def _aliases(session: Session, model_id: str) -> list[MlAlias]:
    return list(session.execute(select(MlAlias).where(MlAlias.model_id == model_id)).scalars())


def _versions(session: Session, model_id: str) -> list[MlModelVersion]:
    return list(
        session.execute(
            select(MlModelVersion)
            .where(MlModelVersion.model_id == model_id)
            .order_by(MlModelVersion.version.desc())
        ).scalars()
    )


def model_view(session: Session, model: MlModel) -> ModelView:
    versions = _versions(session, model.id)
    by_id = {v.id: v.version for v in versions}
    prod = next((v.version for v in versions if v.stage == "production"), None)
    return ModelView(
        id=model.id,
        name=model.name,
        kind=model.kind,
        description=model.description or "",
        tags=dict(model.tags or {}),
        created_at=model.created_at,
        created_by=model.created_by,
        revision=model.revision,
        aliases={a.alias: by_id[a.version_id] for a in _aliases(session, model.id)},
        version_count=len(versions),
        latest_version=versions[0].version if versions else None,
        production_version=prod,
    )


def view_of(session: Session, row: MlModelVersion, requested: int | None = None) -> VersionView:
    """The view of one version row (with its aliases)."""
    model = session.get(MlModel, row.model_id)
    assert model is not None
    return version_view(model, row, _aliases(session, model.id), requested=requested)


def register_model(
    session: Session,
    principal: Principal,
    *,
    name: str,
    kind: str,
    description: str = "",
    tags: dict[str, Any] | None = None,
) -> ModelView:
    """Register a model (``models.register``); 409 ``conflict`` if the name is taken."""
    require(principal, "models.register")
    if not _NAME.match(name or ""):
        raise InvalidRequest(f"bad model name {name!r}", details={"pattern": NAME_PATTERN})
    if kind not in ENGINE_KINDS:
        raise InvalidRequest(f"unknown engine kind {kind!r}", details={"kinds": list(ENGINE_KINDS)})
    if session.execute(select(MlModel.id).where(MlModel.name == name)).first():
        raise Conflict(f"a model named {name!r} exists", details={"name": name})
    model = MlModel(
        name=name,
        kind=kind,
        description=description,
        tags=_check_tags(tags),
        created_at=utcnow(),
        created_by=principal.actor,
        revision=1,
    )
    session.add(model)
    session.flush()
    audit.record(
        session,
        actor=principal.actor,
        actor_role=principal.role,
        action="model.register",
        target_type="ml_model",
        target_id=model.id,
        after={"name": name, "kind": kind},
    )
    return model_view(session, model)


def register_version(
    session: Session,
    blobs: BlobStore,
    principal: Principal,
    name: str,
    *,
    format: str,
    artifact: bytes | None = None,
    packaged: str | None = None,
    engine_config: dict[str, Any] | None = None,
    version: int | None = None,
    description: str = "",
    tags: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    dataset_version: str = "",
    code_version: str = "",
    source: str | None = None,
) -> VersionView:
    """Register a version of model ``name`` (``models.register``), in ``development``.

    ``version``: the number asked for; when taken (or absent) the next free one is used
    and the view says so (``requested_version``). ``engine_config`` is merged over what
    the artifact implies and checked against ``Settings`` (422 on a foreign or secret key).
    """
    require(principal, "models.register")
    # Lock the model row so that two registrations of the same model number in turn.
    model = session.execute(
        select(MlModel).where(MlModel.name == name).with_for_update()
    ).scalar_one_or_none()
    if model is None:
        raise NotFound(f"no model named {name!r}")
    art = formats.validate_artifact(model.kind, format, artifact, packaged=packaged)
    config = {**art.engine_config, **formats.check_engine_config(model.kind, engine_config or {})}
    for key, implied in art.engine_config.items():
        if key != "asr_engine" and config[key] != implied:
            raise ValidationFailed(
                f"engine_config {key}={config[key]!r} contradicts the artifact ({implied!r})",
                details={"field": key},
            )
    blob_key = blobs.put(art.data) if art.data is not None else None
    taken = set(
        session.execute(
            select(MlModelVersion.version).where(MlModelVersion.model_id == model.id)
        ).scalars()
    )
    if version is not None and version < 1:
        raise InvalidRequest("version numbers start at 1")
    number = version if version is not None and version not in taken else max(taken, default=0) + 1
    now = utcnow()
    row = MlModelVersion(
        model_id=model.id,
        version=number,
        stage="development",
        format=format,
        artifact_sha256=art.sha256,
        artifact_blob_key=blob_key,
        artifact_size=art.size,
        source=source or art.source,
        engine_config=config,
        description=description,
        tags=_check_tags(tags),
        params=dict(params or {}),
        metrics=dict(metrics or {}),
        dataset_version=dataset_version,
        code_version=code_version,
        created_at=now,
        created_by=principal.actor,
        stage_changed_at=now,
        revision=1,
    )
    session.add(row)
    session.flush()
    bump_model(session, model)
    audit.record(
        session,
        actor=principal.actor,
        actor_role=principal.role,
        action="model.version.register",
        target_type="ml_model_version",
        target_id=row.id,
        after={
            "model": name,
            "version": number,
            "format": format,
            "artifact_sha256": art.sha256,
            "source": row.source,
        },
    )
    requested = version if version is not None and version != number else None
    return view_of(session, row, requested)


def _matches_tag(tag: str, *bags: dict[str, Any]) -> bool:
    key, eq, value = tag.partition("=")
    return any(key in bag and (not eq or str(bag[key]) == value) for bag in bags)


def search_models(
    session: Session,
    principal: Principal,
    *,
    q: str | None = None,
    kind: str | None = None,
    stage: str | None = None,
    alias: str | None = None,
    tag: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> ModelPage:
    """Models (``models.read``) by name substring, kind, a version in ``stage``, an alias,
    a tag (``key`` or ``key=value`` on the model or one of its versions); by name."""
    require(principal, "models.read")
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise InvalidRequest(f"limit is 1..{MAX_PAGE}, offset >= 0")
    if stage is not None and stage not in STAGES:
        raise InvalidRequest(f"unknown stage {stage!r}", details={"stages": list(STAGES)})
    stmt = select(MlModel).order_by(MlModel.name)
    if q:
        stmt = stmt.where(func.lower(MlModel.name).contains(q.lower(), autoescape=True))
    if kind:
        stmt = stmt.where(MlModel.kind == kind)
    if stage:
        stmt = stmt.where(
            MlModel.id.in_(select(MlModelVersion.model_id).where(MlModelVersion.stage == stage))
        )
    if alias:
        stmt = stmt.where(MlModel.id.in_(select(MlAlias.model_id).where(MlAlias.alias == alias)))
    rows = list(session.execute(stmt).scalars())
    if tag:
        # Tags are JSON: matched here (a registry holds dozens of models, not millions).
        rows = [
            m
            for m in rows
            if _matches_tag(tag, m.tags or {}, *((v.tags or {}) for v in _versions(session, m.id)))
        ]
    page = rows[offset : offset + limit]
    return ModelPage(
        items=[model_view(session, m) for m in page], total=len(rows), limit=limit, offset=offset
    )


def get_model(session: Session, principal: Principal, name: str) -> ModelDetail:
    """A model with its versions, newest first (``models.read``)."""
    require(principal, "models.read")
    model = model_by_name(session, name)
    aliases = _aliases(session, model.id)
    base = model_view(session, model)
    return ModelDetail(
        **base.model_dump(),
        versions=[version_view(model, v, aliases) for v in _versions(session, model.id)],
    )


def version_detail(session: Session, row: MlModelVersion) -> VersionDetail:
    """A version with its stage history (newest first), approvals and evaluations."""
    base = view_of(session, row)
    history = session.execute(
        select(MlStageChange)
        .where(MlStageChange.version_id == row.id)
        .order_by(MlStageChange.at.desc(), MlStageChange.id.desc())
    ).scalars()
    approvals = session.execute(
        select(MlApproval).where(MlApproval.version_id == row.id).order_by(MlApproval.at)
    ).scalars()
    evaluations = session.execute(
        select(MlEvaluation)
        .where(MlEvaluation.version_id == row.id)
        .order_by(MlEvaluation.created_at)
    ).scalars()
    return VersionDetail(
        **base.model_dump(),
        history=[stage_change_view(h) for h in history],
        approvals=[approval_view(a) for a in approvals],
        evaluations=[
            EvaluationPoint(
                id=e.id,
                eval_set=e.eval_set,
                status=e.status,
                created_at=e.created_at,
                metrics=dict(e.metrics or {}),
            )
            for e in evaluations
        ],
    )


def find_version(session: Session, name: str, which: str) -> MlModelVersion:
    """Version ``which`` (a number or an alias) of model ``name``; ``NotFound`` if none."""
    from carepipe.mlops.refs import resolve_version

    return resolve_version(session, f"{name}@{which}")


def get_version(session: Session, principal: Principal, name: str, which: str) -> VersionDetail:
    """A version by number or alias, with history, approvals, evaluations (``models.read``)."""
    require(principal, "models.read")
    return version_detail(session, find_version(session, name, which))


def set_alias(
    session: Session,
    principal: Principal,
    name: str,
    alias: str,
    *,
    version: int,
    expected_revision: int,
    reason: str | None = None,
) -> AliasView:
    """Point ``alias`` at ``version`` (create or move it) if the model is still at
    ``expected_revision`` (``models.promote``; else 409 ``registry_conflict``)."""
    require(principal, "models.promote")
    if not _ALIAS.match(alias):
        raise InvalidRequest(f"bad alias {alias!r}", details={"pattern": ALIAS_PATTERN})
    model = model_by_name(session, name)
    target = find_version(session, name, str(version))
    row = session.get(MlAlias, (model.id, alias))
    before = None
    if row is not None:
        old = session.get(MlModelVersion, row.version_id)
        before = {"version": old.version if old else None}
    bump_model(session, model, expected_revision)
    now = utcnow()
    if row is None:
        row = MlAlias(model_id=model.id, alias=alias, version_id=target.id)
        session.add(row)
    row.version_id, row.updated_at, row.updated_by = target.id, now, principal.actor
    session.flush()
    audit.record(
        session,
        actor=principal.actor,
        actor_role=principal.role,
        action="model.alias.set",
        target_type="ml_model",
        target_id=model.id,
        before=before,
        after={"alias": alias, "version": target.version},
        reason=reason,
    )
    return AliasView(
        model=name,
        alias=alias,
        version=target.version,
        version_id=target.id,
        model_revision=model.revision,
        updated_at=now,
        updated_by=principal.actor,
    )


def delete_alias(
    session: Session,
    principal: Principal,
    name: str,
    alias: str,
    *,
    expected_revision: int,
    reason: str | None = None,
) -> AliasView:
    """Remove ``alias`` (``models.promote``; 409 ``registry_conflict`` on a stale revision)."""
    require(principal, "models.promote")
    model = model_by_name(session, name)
    row = session.get(MlAlias, (model.id, alias))
    if row is None:
        raise NotFound(f"model {name!r} has no alias {alias!r}")
    old = session.get(MlModelVersion, row.version_id)
    bump_model(session, model, expected_revision)
    session.delete(row)
    session.flush()
    audit.record(
        session,
        actor=principal.actor,
        actor_role=principal.role,
        action="model.alias.delete",
        target_type="ml_model",
        target_id=model.id,
        before={"alias": alias, "version": old.version if old else None},
        reason=reason,
    )
    return AliasView(
        model=name,
        alias=alias,
        version=None,
        version_id=None,
        model_revision=model.revision,
        updated_at=utcnow(),
        updated_by=principal.actor,
    )
