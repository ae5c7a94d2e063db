"""The sticky canary split and the serving cache.

- The same routing key always gets the same arm; raising the share 10 -> 50 keeps every
  key that was in the canary; the share over many keys is within a tolerance.
- ``served_version`` (on both databases) picks the tenant's own deployment over ``*``,
  splits by the plan's sticky key, answers None without a deployment, and a change made
  by another process reaches it within ``model_serving_refresh_seconds``, not before.
"""

from __future__ import annotations

import time

from sqlalchemy import update

from carepipe.core.auth import SYSTEM
from carepipe.mlops import canary, deployments
from carepipe.mlops.models import MlDeployment, MlModelVersion
from carepipe.mlops.refs import resolve_version
from carepipe.mlops.serving import arm_for, bucket, clear_cache, served_version
from tests.mlops.factories import make_ref

KEYS = [f"job-{i}" for i in range(20000)]


def test_the_same_key_always_gets_the_same_arm_and_raising_the_share_keeps_the_canary():
    at10 = {k for k in KEYS if arm_for(k, 10) == "canary"}
    at50 = {k for k in KEYS if arm_for(k, 50) == "canary"}
    assert at10 == {k for k in KEYS if arm_for(k, 10) == "canary"}  # deterministic
    assert at10 <= at50  # nobody leaves the canary when its share grows
    assert abs(len(at10) / len(KEYS) - 0.10) < 0.01
    assert abs(len(at50) / len(KEYS) - 0.50) < 0.015
    assert not any(arm_for(k, 0) == "canary" for k in KEYS[:1000])
    assert all(arm_for(k, 100) == "canary" for k in KEYS[:1000])
    assert bucket("job-1") == bucket("job-1") and 0 <= bucket("job-1") < 100


def test_served_version_splits_prefers_the_tenant_and_refreshes_within_the_ttl(db, settings):
    settings = settings.model_copy(update={"model_serving_refresh_seconds": 1.0})
    with db.transaction() as s:
        v1 = make_ref(s, "note-rules", "note", {"note_engine": "rules"})
        v2 = make_ref(s, "note-rules", "note", {"note_engine": "rules"})
        v3 = make_ref(s, "note-rules", "note", {"note_engine": "rules"})
    assert served_version(db, settings, "note", "t1", "k") is None  # nothing deployed yet
    time.sleep(1.05)
    dep = deployments.deploy(db, settings, SYSTEM, engine_kind="note", version_ref=v1)
    deployments.deploy(db, settings, SYSTEM, engine_kind="note", version_ref=v3, tenant="t9")
    with db.transaction() as s:
        canary.start_canary(
            s, SYSTEM, settings, dep.id, v2, steps=[10, 50], analysis={"interval_seconds": 3600}
        )
    arms = {k: served_version(db, settings, "note", "t1", k) for k in KEYS[:2000]}
    assert {a.label for a in arms.values() if a.arm == "canary"} == {v2}
    assert {a.label for a in arms.values() if a.arm == "stable"} == {v1}
    share = sum(a.arm == "canary" for a in arms.values()) / len(arms)
    assert 0.07 < share < 0.13
    assert served_version(db, settings, "note", "t9", "k").label == v3  # most specific wins

    # Another process moves the share to 50 % behind this one's back: the cache answers the
    # old split until the refresh interval passes, then the new one. (The cache is filled
    # afresh first, so a slow machine cannot use up the interval before the change.)
    clear_cache()
    served_version(db, settings, "note", "t1", "k")
    with db.transaction() as s:
        s.execute(update(MlDeployment).where(MlDeployment.id == dep.id).values(canary_percent=50))
    moved = next(k for k in KEYS if 10 <= bucket(k) < 50)
    assert served_version(db, settings, "note", "t1", moved).arm == "stable"
    time.sleep(1.05)
    assert served_version(db, settings, "note", "t1", moved).arm == "canary"

    # Sticky by tenant: every job of a tenant in the same arm.
    with db.transaction() as s:
        row = s.get(MlDeployment, dep.id)
        row.plan = {**row.plan, "sticky": "tenant"}
        assert resolve_version(s, v2).id == row.canary_version_id
        assert s.get(MlModelVersion, row.stable_version_id) is not None
    time.sleep(1.05)
    assert len({served_version(db, settings, "note", "t1", k).arm for k in KEYS[:200]}) == 1
