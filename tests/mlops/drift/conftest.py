"""Fixtures of the drift tests: a deployed version (registry rows written through the ORM:
the registry's services belong to other parts of issue 15), served-job observations as the
worker writes them, and a real local HTTP server receiving the model webhook."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from carepipe.core.clock import utcnow
from carepipe.core.db import Database
from carepipe.mlops.models import MlDeployment, MlModel, MlModelVersion, MlServingObservation
from tests.support.webhook import webhook  # noqa: F401 - fixture


@pytest.fixture
def deploy(db: Database) -> Callable[..., str]:
    """``deploy(name, kind, tags=...)``: a model's version 1 in production, deployed for all
    tenants; returns the version id."""

    def make(name: str = "whisper-base", kind: str = "asr", tags: dict | None = None) -> str:
        now = utcnow()
        with db.transaction() as s:
            model = s.execute(select(MlModel).where(MlModel.name == name)).scalar_one_or_none()
            if model is None:
                model = MlModel(
                    name=name, kind=kind, tags=tags or {}, created_at=now, created_by="test"
                )
                s.add(model)
                s.flush()
            version = MlModelVersion(
                model_id=model.id,
                version=1,
                stage="production",
                format="packaged-whisper",
                artifact_sha256="0" * 64,
                artifact_blob_key=None,
                created_at=now,
                created_by="test",
                stage_changed_at=now,
            )
            s.add(version)
            s.flush()
            s.add(
                MlDeployment(
                    engine_kind=kind,
                    environment="production",
                    tenant="*",
                    stable_version_id=version.id,
                    created_at=now,
                    updated_at=now,
                    updated_by="test",
                )
            )
            return version.id

    return make


@pytest.fixture
def store(db: Database) -> Callable[[list[MlServingObservation]], None]:
    """Write observations as the worker does (one row per served job)."""

    def write(rows: list[MlServingObservation]) -> None:
        with db.transaction() as s:
            s.add_all(rows)

    return write


@pytest.fixture
def settings(settings, webhook):  # type: ignore[no-untyped-def]  # noqa: F811 - fixture
    return settings.model_copy(update={"model_webhook_url": webhook.url})
