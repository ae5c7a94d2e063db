"""Findings from a drill's results: one action item per failed smoke test, per target
missed, per class of missing item and per notable gap, each with a severity, an owner
and a due date. A drill that passed with no gaps has none.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from carepipe.ops.dr.views import SmokeResult

DUE_DAYS = {"critical": 7, "high": 14, "medium": 30, "low": 90}
DEFAULT_OWNER = "platform-ops"
# Smoke tests whose failure means data may be wrong, not just a service down.
DATA_CHECKS = {"audit_verify", "row_counts", "blob_hashes"}
# RPO above this share of its target is worth an action item even when met.
RPO_MARGIN = 0.5


@dataclass(frozen=True)
class Finding:
    """An action item before it is stored: what, why, how bad."""

    title: str
    detail: str
    severity: str

    def due(self, drill_day: date) -> date:
        """The due date: critical 7 days, high 14, medium 30, low 90 after the drill."""
        return drill_day + timedelta(days=DUE_DAYS[self.severity])


@dataclass
class DrillFacts:
    """What a drill measured, as the assessment needs it."""

    rto_target: int
    rpo_target: int
    rto_seconds: float | None = None
    rpo_seconds: float | None = None
    smoke: list[SmokeResult] = field(default_factory=list)
    missing: list[dict[str, Any]] = field(default_factory=list)
    # fence_effective: {"api": "503 maintenance" | ..., "mllp": "refused" | ..., "ok": bool|None}
    fence: dict[str, Any] = field(default_factory=dict)
    backup_verify: dict[str, Any] | None = None  # {"ok": bool, "verified_at": iso} or None
    blob_manifest: bool = True


def _smoke_finding(s: SmokeResult) -> Finding:
    if s.name == "console_signin" and "no headless browser" in s.detail:
        return Finding(
            "Drill could not check the console: no headless browser",
            f"{s.detail}. Install Chromium and Playwright where drills run.",
            "medium",
        )
    severity = "critical" if s.name in DATA_CHECKS else "high"
    return Finding(f"Smoke test {s.name} failed on the standby", s.detail, severity)


def assess(f: DrillFacts) -> list[Finding]:
    """The findings of a drill, most severe first."""
    out = [_smoke_finding(s) for s in f.smoke if not s.ok]
    if f.rpo_seconds is None:
        out.append(
            Finding(
                "RPO not measured: no drill heartbeat on the standby",
                "The restored database holds none of the heartbeats written before the "
                "fence: the backup is older than the drill's first seconds.",
                "critical",
            )
        )
    elif f.rpo_seconds > f.rpo_target:
        out.append(
            Finding(
                "RPO target missed",
                f"Measured RPO {f.rpo_seconds:.1f} s against a target of {f.rpo_target} s.",
                "critical",
            )
        )
    elif f.rpo_seconds > RPO_MARGIN * f.rpo_target:
        out.append(
            Finding(
                "RPO close to its target",
                f"Measured RPO {f.rpo_seconds:.1f} s is above half the {f.rpo_target} s target.",
                "medium",
            )
        )
    if f.rto_seconds is None:
        out.append(
            Finding(
                "RTO not measured: the standby never passed its smoke tests",
                "See the failed smoke tests.",
                "high",
            )
        )
    elif f.rto_seconds > f.rto_target:
        out.append(
            Finding(
                "RTO target missed",
                f"Measured RTO {f.rto_seconds:.1f} s against a target of {f.rto_target} s.",
                "high",
            )
        )
    for kind, n in sorted(Counter(m.get("kind", "item") for m in f.missing).items()):
        out.append(
            Finding(
                f"{n} acknowledged {kind}(s) missing on the standby",
                f"{n} {kind}(s) acknowledged on the primary more than the RPO target "
                f"({f.rpo_target} s) before the fence are not in the restored database.",
                "critical",
            )
        )
    out += _fence_findings(f.fence)
    if f.backup_verify is None:
        out.append(
            Finding(
                "Backup never verified",
                "No `carepipe backup verify` on record: schedule it weekly.",
                "low",
            )
        )
    elif not f.backup_verify.get("ok", False):
        out.append(
            Finding(
                "Last backup verification failed",
                f"Verification at {f.backup_verify.get('verified_at')} found the backup unsound.",
                "high",
            )
        )
    if not f.blob_manifest:
        out.append(
            Finding(
                "Blob store not covered by a CarePipe backup",
                "No blob backup manifest: payloads (messages, audio, documents) are restored "
                "only if the blob store has its own backup (bucket versioning/replication).",
                "medium",
            )
        )
    order = list(DUE_DAYS)
    return sorted(out, key=lambda x: order.index(x.severity))


def _fence_findings(fence: dict[str, Any]) -> list[Finding]:
    if not fence:
        return []
    if fence.get("ok") is False:
        return [
            Finding(
                "Fence did not stop writes on the primary",
                f"Probes after the fence: API {fence.get('api')}, MLLP {fence.get('mllp')}.",
                "critical",
            )
        ]
    if fence.get("ok") is None:
        return [
            Finding(
                "Fence not confirmed on the primary",
                f"The primary could not be probed (API {fence.get('api')}, MLLP "
                f"{fence.get('mllp')}): pass --primary-url and --primary-mllp-port.",
                "low",
            )
        ]
    return []
