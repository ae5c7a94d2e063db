"""The drill itself (UC-OPS-006), layout independent: fence, restore, promote, start,
smoke tests, measure, findings, failback. Every step is written to the drill's
timeline as it happens, so a drill that dies leaves its partial timeline behind.

``service.run_drill`` checks the permission, opens the drill row and audits; this
module does the work for a drill row that exists.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

from carepipe.core import audit
from carepipe.core.auth import Principal
from carepipe.core.clock import utcnow
from carepipe.core.config import Settings
from carepipe.core.db import Database
from carepipe.core.maintenance.fence import lift_fence
from carepipe.core.maintenance.state import current_fence
from carepipe.observability.logging import get_logger
from carepipe.ops import maintenance
from carepipe.ops.dr import smoke, store
from carepipe.ops.dr.assess import DEFAULT_OWNER, DrillFacts, assess
from carepipe.ops.dr.census import (
    acknowledged_items,
    missing_items,
    referenced_blob_keys,
    table_census,
)
from carepipe.ops.dr.heartbeat import Heartbeat
from carepipe.ops.dr.layouts import standby_for
from carepipe.ops.dr.standby import Standby, StandbyEndpoints
from carepipe.ops.dr.views import SmokeResult, TimelineEvent

log = get_logger("carepipe.dr")

# Heartbeats written before the fence, so a few have had the chance to ship.
LEAD_IN_SECONDS = 3.0
# On PostgreSQL a heartbeat ships only with its WAL segment, which archive_timeout forces
# out: a lead-in shorter than that would leave the standby with no heartbeat at all and
# the RPO unmeasured, although the archive is doing exactly what it is configured to do.
PG_LEAD_IN_MARGIN_SECONDS = 3.0
# How long the fence may take to reach the primary's processes (they poll it).
FENCE_PROBE_EXTRA_SECONDS = 5.0
# Smoke tests at once: a CLI process, a browser and HTTP checks fit two cores.
SMOKE_PARALLEL = 4


@dataclass(frozen=True)
class DrillOptions:
    """What the operator chose for one drill."""

    rto_target: int
    rpo_target: int
    primary_url: str | None = None
    primary_mllp_port: int | None = None
    failback: bool = True
    keep_standby: bool = False
    work_dir: Path | None = None
    lead_in_seconds: float | None = None  # None: ``lead_in_seconds(settings)``


class _Run:
    """The state of one drill while it runs (the database row is the record)."""

    def __init__(self, settings: Settings, db: Database, principal: Principal, drill_id: str):
        self.settings, self.db, self.principal, self.drill_id = settings, db, principal, drill_id
        self.details: dict[str, Any] = {}
        self.fenced_at: datetime | None = None
        self.fenced = False  # set the moment the fence is written: failback must lift it
        self.beat: Heartbeat | None = None
        self.referenced_blobs: list[str] = []
        self.recent_blobs: list[str] = []
        self.standby: Standby | None = None
        self.endpoints: StandbyEndpoints | None = None
        self.step = "start"

    def event(self, step: str, detail: str = "") -> None:
        """One timeline entry, committed now."""
        self.step = step
        with self.db.transaction() as session:
            store.add_event(
                session, self.drill_id, TimelineEvent(at=utcnow(), step=step, detail=detail[:2000])
            )
        log.info("dr.step", drill_id=self.drill_id, step=step)

    def update(self, **fields: Any) -> None:
        with self.db.transaction() as session:
            store.update_drill(session, self.drill_id, **fields)


def lead_in_seconds(s: Settings) -> float:
    """How long heartbeats run before the fence: 3 s, or on PostgreSQL one forced WAL
    switch (``archive_timeout``, derived from the RPO target) and a margin."""
    if s.resolved_database_url.startswith("postgresql"):
        from carepipe.ops.backup.pgbackrest import archive_timeout_seconds

        return archive_timeout_seconds(s.backup_rpo_seconds) + PG_LEAD_IN_MARGIN_SECONDS
    return LEAD_IN_SECONDS


def _primary_url(s: Settings, given: str | None) -> str:
    if given:
        return given.rstrip("/")
    host = "127.0.0.1" if s.host in {"0.0.0.0", "::", ""} else s.host
    return f"http://{host}:{s.port}"


def _api_fenced(url: str) -> tuple[bool | None, str]:
    """A harmless write without credentials: 503 ``maintenance`` means fenced."""
    try:
        r = httpx.post(url + "/v1/jobs", json={}, timeout=3)
    except httpx.TransportError as exc:
        return None, f"not reachable ({type(exc).__name__})"
    code = ""
    with contextlib.suppress(ValueError):
        code = r.json().get("error", {}).get("code", "")
    if r.status_code == 503 and code == "maintenance":
        return True, f"503 maintenance, Retry-After {r.headers.get('retry-after')}"
    return False, f"{r.status_code} {code}".strip()


def _accepting(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def mllp_target(s: Settings, opts: DrillOptions) -> tuple[str, int]:
    """The primary's MLLP listener: ``--primary-mllp-port`` on the URL's host, else the
    settings' ``mllp_host``/``mllp_port``."""
    if opts.primary_mllp_port:
        host = urlparse(_primary_url(s, opts.primary_url)).hostname or "127.0.0.1"
        return host, opts.primary_mllp_port
    host = "127.0.0.1" if s.mllp_host in {"0.0.0.0", "::", ""} else s.mllp_host
    return host, s.mllp_port


def probe_fence(s: Settings, opts: DrillOptions, mllp: tuple[str, int] | None) -> dict[str, Any]:
    """Poll the primary's API and MLLP listener until both show the fence (or time runs out).

    ``mllp`` is the listener that accepted connections before the fence (None: there was
    none, so a refusal now would prove nothing). ``ok``: True when every probed door is
    fenced, False when one still takes writes, None when neither could be probed.
    """
    url = _primary_url(s, opts.primary_url)
    deadline = time.monotonic() + s.maintenance_poll_seconds * 2 + FENCE_PROBE_EXTRA_SECONDS
    started = time.monotonic()
    while True:
        api_ok, api = _api_fenced(url)
        mllp_ok: bool | None = None
        mllp_text = "not probed (no listener accepted connections before the fence)"
        if mllp is not None:
            mllp_ok = not _accepting(*mllp)
            mllp_text = "refused" if mllp_ok else "still accepting connections"
            mllp_text += f" ({mllp[0]}:{mllp[1]})"
        probed = [x for x in (api_ok, mllp_ok) if x is not None]
        done = bool(probed) and all(probed)
        # Nothing answering at all will not start answering: no point waiting.
        if done or not probed or time.monotonic() > deadline:
            return {
                "ok": None if not probed else all(probed),
                "api": api,
                "mllp": mllp_text,
                "primary_url": url,
                "seconds": round(time.monotonic() - started, 2),
            }
        time.sleep(0.2)


def _promote(run: _Run, sdb: Database) -> str:
    """Lift the replicated fence in the standby's own database (it is the new primary)."""
    with sdb.transaction() as session:
        if current_fence(session) is None:
            return "no fence in the restored database (written after the last shipped change)"
        lift_fence(session, at=utcnow())
        audit.record(
            session,
            actor=run.principal.actor,
            actor_role=run.principal.role,
            action="maintenance.lift",
            target_type="maintenance",
            target_id="1",
            reason=f"promoted by drill {run.drill_id}",
        )
    return "fence lifted in the standby's database, audited maintenance.lift"


def _measure_standby(
    run: _Run, sdb: Database, cutoff: datetime, items: dict[str, list[str]]
) -> tuple[dict[str, Any], float | None, list[dict[str, Any]]]:
    census = table_census(sdb, cutoff)
    # Payloads of messages older than the RPO window must be there; younger ones may wait
    # for the next blob sync (``backup_blob_sync_seconds``), like younger rows.
    run.referenced_blobs = referenced_blob_keys(sdb, cutoff)
    recent = referenced_blob_keys(sdb, run.fenced_at or utcnow())
    run.recent_blobs = sorted(set(recent) - set(run.referenced_blobs))
    with sdb.session() as session:
        newest = store.newest_heartbeat(session, run.drill_id)
    assert run.fenced_at is not None
    rpo = None if newest is None else round((run.fenced_at - newest).total_seconds(), 3)
    run.details["newest_heartbeat_on_standby"] = newest.isoformat() if newest else None
    return census, rpo, missing_items(sdb, items)


def _backup_facts(s: Settings) -> dict[str, Any] | None:
    """The backup's last verification (None: never), from ``backup status``."""
    from carepipe.ops.backup.service import backend_for

    try:
        status = backend_for(s).status()
    except Exception as exc:  # the drill reports it; the restore will say more
        return {"ok": False, "verified_at": None, "status_error": type(exc).__name__}
    v = status.last_verify
    return None if v is None else {"ok": v.ok, "verified_at": v.verified_at.isoformat()}


def _blob_manifest(s: Settings) -> dict[str, str] | None:
    from carepipe.core.errors import BackupNotConfigured
    from carepipe.ops.backup.blobs import read_manifest, source_dir

    try:
        source_dir(s)
        return read_manifest(s)
    except BackupNotConfigured:
        return None


def _smoke(
    run: _Run,
    ep: StandbyEndpoints,
    primary: dict[str, Any],
    standby: dict[str, Any],
    manifest: dict[str, str] | None,
) -> list[SmokeResult]:
    """Every smoke test, the independent slow ones (a CLI process, a browser) side by
    side: the RTO should measure the standby, not the order the checks ran in."""
    checks: list[Callable[[], SmokeResult]] = [
        lambda: smoke.health(ep),
        lambda: smoke.api_job(ep, run.drill_id),
        lambda: smoke.mllp(ep, run.drill_id),
        lambda: smoke.console_signin(ep),
        lambda: smoke.audit_verify(ep),
        lambda: smoke.row_counts(primary, standby),
        lambda: smoke.blob_hashes(ep, manifest, run.referenced_blobs, run.recent_blobs),
    ]
    with ThreadPoolExecutor(max_workers=SMOKE_PARALLEL, thread_name_prefix="dr-smoke") as pool:
        return list(pool.map(lambda check: check(), checks))


def execute(
    settings: Settings, db: Database, principal: Principal, drill_id: str, opts: DrillOptions
) -> str:
    """Run the drill ``drill_id`` to its end; returns its status (passed, failed, error)."""
    run = _Run(settings, db, principal, drill_id)
    root = opts.work_dir or settings.dr_work_dir or settings.data_dir / "dr"
    work_dir = Path(root) / drill_id
    serving = False
    status = "error"
    try:
        status = _drive(run, opts, work_dir)
        serving = not opts.failback and run.endpoints is not None
    except BaseException as exc:
        run.details["failed_step"] = run.step
        _record_error(run, opts, exc)
        if not isinstance(exc, Exception):
            raise
    finally:
        _wind_down(run, opts, serving=serving)
        with db.transaction() as session:
            store.prune_heartbeats(session, drill_id)
    return status


def _drive(run: _Run, opts: DrillOptions, work_dir: Path) -> str:
    s, db = run.settings, run.db
    run.details["backup_verify"] = backup_verify = _backup_facts(s)
    run.beat = beat = Heartbeat(db, run.drill_id).start()
    run.event("heartbeat", "heartbeat started on the primary (one row a second)")
    time.sleep(opts.lead_in_seconds if opts.lead_in_seconds is not None else lead_in_seconds(s))
    target = mllp_target(s, opts)
    mllp_door = target if _accepting(*target) else None
    beats = beat.stop()
    maintenance.fence(db, run.principal, reason=f"dr drill {run.drill_id}", drill_id=run.drill_id)
    run.fenced = True
    with db.session() as session:
        state = current_fence(session)
    run.fenced_at = state.fenced_at if state is not None else utcnow()
    run.update(fenced_at=run.fenced_at)
    run.event(
        "fence",
        f"primary fenced; {beats} heartbeats written, last at "
        f"{beat.last_at.isoformat() if beat.last_at else '-'}",
    )
    run.step = "fence_effective"
    fence = probe_fence(s, opts, mllp_door)
    run.details["fence"] = fence
    run.event(
        "fence_effective", f"after {fence['seconds']} s: API {fence['api']}; MLLP {fence['mllp']}"
    )

    cutoff = run.fenced_at - timedelta(seconds=opts.rpo_target)
    fenced_at = run.fenced_at
    # The primary's side, as of the fence (it takes no writes now), counted while the
    # restore runs: on a large database the counts are drill overhead, not recovery time.
    counting = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dr-census")
    primary_side = counting.submit(
        lambda: (table_census(db, cutoff), acknowledged_items(db, fenced_at, cutoff))
    )
    counting.shutdown(wait=False)

    run.step = "restore"  # what is being attempted, should it die here
    run.standby = standby = standby_for(s, work_dir)
    started = time.monotonic()
    restored = standby.restore()
    extra = getattr(standby, "details", {})
    run.details["restore"] = {
        "seconds": round(time.monotonic() - started, 3),
        "rows": sum(restored.tables.values()),
        **extra,
    }
    run.event(
        "restore",
        f"latest backup restored in {run.details['restore']['seconds']} s "
        f"({run.details['restore']['rows']} rows, {restored.backend})",
    )

    primary_census, items = primary_side.result()
    run.details["acknowledged_compared"] = {k: len(v) for k, v in items.items()}
    run.step = "promote"
    if restored.database_url:  # measure and promote before anything runs on it
        sdb = Database(restored.database_url)
        try:
            census, rpo, missing = _measure_standby(run, sdb, cutoff, items)
            run.event("promote", _promote(run, sdb))
        finally:
            sdb.dispose()
        run.step = "standby_up"
        run.endpoints = ep = standby.start()
    else:  # a database server the standby starts: reachable only once started
        run.endpoints = ep = standby.start()
        sdb = Database(ep.database_url)
        try:
            census, rpo, missing = _measure_standby(run, sdb, cutoff, items)
            run.event("promote", _promote(run, sdb))
        finally:
            sdb.dispose()
        time.sleep(s.maintenance_poll_seconds + 0.5)  # its processes see the lift
    run.details["standby"] = {
        "base_url": ep.base_url,
        "mllp_port": ep.mllp_port,
        "data_dir": str(ep.data_dir),
        "pid": ep.pid,
    }
    run.event("standby_up", f"standby answering at {ep.base_url}, MLLP port {ep.mllp_port}")

    run.step = "smoke"
    manifest = _blob_manifest(s)
    results = _smoke(run, ep, primary_census, census, manifest)
    passed_at = utcnow()
    all_ok = all(r.ok for r in results)
    rto = round((passed_at - run.fenced_at).total_seconds(), 3) if all_ok else None
    run.update(
        smoke=results,
        rpo_seconds=rpo,
        rto_seconds=rto,
        missing=missing,
        standby_ready_at=passed_at if all_ok else None,
    )
    run.event("smoke", ", ".join(f"{r.name} {'ok' if r.ok else 'FAILED'}" for r in results))
    run.event(
        "measure",
        f"RTO {rto if rto is not None else '-'} s (target {opts.rto_target}), "
        f"RPO {rpo if rpo is not None else '-'} s (target {opts.rpo_target}), "
        f"{len(missing)} acknowledged items missing",
    )

    facts = DrillFacts(
        rto_target=opts.rto_target,
        rpo_target=opts.rpo_target,
        rto_seconds=rto,
        rpo_seconds=rpo,
        smoke=results,
        missing=missing,
        fence=fence,
        backup_verify=backup_verify,
        blob_manifest=manifest is not None,
    )
    findings = assess(facts)
    _store_findings(run, findings)
    passed = (
        all_ok
        and not missing
        and rpo is not None
        and rpo <= opts.rpo_target
        and rto is not None
        and rto <= opts.rto_target
    )
    status = "passed" if passed else "failed"
    run.update(details=run.details)
    with db.transaction() as session:
        store.finish_drill(session, run.drill_id, status=status, finished_at=utcnow())
    run.event("finish", f"{status}; {len(findings)} finding(s)")
    return status


def _store_findings(run: _Run, findings: list[Any]) -> None:
    owner = run.settings.dr_owner or DEFAULT_OWNER
    now = utcnow()
    with run.db.transaction() as session:
        for f in findings:
            store.add_finding(
                session,
                run.drill_id,
                title=f.title,
                detail=f.detail,
                severity=f.severity,
                owner=owner,
                due_date=f.due(now.date()),
                created_at=now,
            )
    if findings:
        run.event("findings", "; ".join(f"{f.severity}: {f.title}" for f in findings))


def _record_error(run: _Run, opts: DrillOptions, exc: BaseException) -> None:
    text = f"{type(exc).__name__}: {getattr(exc, 'message', None) or exc}"[:1000]
    log.error("dr.drill_error", drill_id=run.drill_id, step=run.step, error=type(exc).__name__)
    try:
        run.event("error", f"at step {run.step}: {text}")
        output = getattr(exc, "details", None) or {}
        if output.get("output"):
            run.details["error_output"] = output["output"][-20:]
        run.update(details=run.details)
        _store_findings(run, [_error_finding(run.step, text)])
        with run.db.transaction() as session:
            store.finish_drill(
                session, run.drill_id, status="error", finished_at=utcnow(), error=text
            )
    except Exception:  # the primary's database itself failing: the log has it
        log.exception("dr.drill_error_not_recorded", drill_id=run.drill_id)


def _error_finding(step: str, text: str) -> Any:
    from carepipe.ops.dr.assess import Finding

    return Finding(f"Drill could not run to the end (step {step})", text, "critical")


def _wind_down(run: _Run, opts: DrillOptions, *, serving: bool) -> None:
    """Failback (stop the standby, lift the primary's fence), or leave the standby
    serving and the primary fenced (``--no-failback`` after a standby came up)."""
    if run.beat is not None:
        run.beat.stop()
    standby = run.standby
    if serving and run.endpoints is not None:
        _mirror_to_standby(run, run.endpoints)
        run.event(
            "failover",
            f"standby serves at {run.endpoints.base_url} (MLLP port "
            f"{run.endpoints.mllp_port}, data {run.endpoints.data_dir}); the primary "
            "stays fenced",
        )
        return
    if standby is not None:
        try:
            standby.stop()
            if not opts.keep_standby:
                standby.discard()
        except Exception as exc:
            log.warning("dr.standby_stop_failed", drill_id=run.drill_id, error=str(exc))
    if run.fenced:
        maintenance.lift(run.db, run.principal)
        kept = (
            f"; standby files kept in {standby.work_dir}" if opts.keep_standby and standby else ""
        )
        run.event("failback", f"standby stopped, primary unfenced{kept}")


def _mirror_to_standby(run: _Run, ep: StandbyEndpoints) -> None:
    """The drill's record into the standby too: it is the new primary (its restored copy
    of this drill still says ``running``)."""
    sdb = Database(ep.database_url)
    try:
        with run.db.session() as session:
            view = store.get_drill(session, run.drill_id)
        with sdb.transaction() as session:
            store.update_drill(
                session,
                run.drill_id,
                fenced_at=view.fenced_at,
                rto_seconds=view.rto_seconds,
                rpo_seconds=view.rpo_seconds,
                smoke=list(view.smoke),
                missing=view.missing,
                details=view.details,
            )
            store.finish_drill(
                session, run.drill_id, status=view.status, finished_at=view.finished_at or utcnow()
            )
    except Exception as exc:
        log.warning("dr.mirror_failed", drill_id=run.drill_id, error=type(exc).__name__)
    finally:
        sdb.dispose()
