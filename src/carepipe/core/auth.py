"""Who is acting (``Principal``) and what each role may do: one table, checked by services."""

from __future__ import annotations

from dataclasses import dataclass, field

from carepipe.core.errors import PermissionDenied

# product_ops (issue 16): runs feature flags (create, roll out, approve) and nothing else.
ROLES = (
    "admin",
    "ops",
    "ml_engineer",
    "data_scientist",
    "clinician",
    "compliance",
    "product_ops",
    "partner",
)

# The one table mapping roles to permissions. Services call ``require``; the API,
# console and CLI only translate the refusal.
PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset(
        {
            "jobs.submit",
            "jobs.read",
            "dlq.read",
            "dlq.replay",
            "payload.read_phi",
            "backfill.run",
            "backfill.read",
            "archive.read",
            "patients.read",
            "patients.map",
            "audit.read",
            "keys.manage",
            "users.manage",
            "queues.read",
            "queues.manage",
            "review.read",
            "review.approve",
            "models.manage",
            "models.read",
            "models.register",
            "models.evaluate",
            "models.promote",
            "models.deploy",
            "models.approve",
            "flags.manage",
            # Feature flags (issue 16): read, approve a second person's change, break glass.
            "flags.read",
            "flags.approve",
            "flags.break_glass",
            # Outbound credentials in the secrets store (issue 16): admin only.
            "secrets.manage",
            "tenants.read",
            "tenants.manage",
            # Backups, verification and restore (issue 17): admin only.
            "backup.manage",
            # Fence the platform, run disaster-recovery drills, own their findings.
            "dr.manage",
            "dr.read",
        }
    ),
    "ops": frozenset(
        {
            "jobs.submit",
            "jobs.read",
            "dlq.read",
            "dlq.replay",
            "payload.read_phi",
            "backfill.run",
            "backfill.read",
            "archive.read",
            "patients.read",
            "patients.map",
            "queues.read",
            "queues.manage",
            "keys.manage",
            "tenants.read",
            "models.read",
            "flags.read",
            "dr.read",
        }
    ),
    # models.read (issue 14): the "Model quality" page, per model version x dialect.
    # Registry (issue 15): data scientists register, evaluate and compare; ML engineers
    # also promote, deploy and roll back; compliance approves production (models.approve).
    "ml_engineer": frozenset(
        {
            "jobs.read",
            "dlq.read",
            "queues.read",
            "models.manage",
            "models.read",
            "models.register",
            "models.evaluate",
            "models.promote",
            "models.deploy",
            "flags.read",
        }
    ),
    "data_scientist": frozenset({"jobs.read", "models.read", "models.register", "models.evaluate"}),
    "clinician": frozenset({"jobs.read", "patients.read", "review.read", "review.approve"}),
    "compliance": frozenset(
        {
            "jobs.read",
            "dlq.read",
            "audit.read",
            "backfill.read",
            "archive.read",
            "tenants.read",
            "queues.read",
            "models.read",
            "models.approve",
            "flags.read",
            # Drill reports and their findings (issue 17): evidence for audits.
            "dr.read",
        }
    ),
    # Feature flags (issue 16): change, approve (four eyes: not their own change), read.
    "product_ops": frozenset({"flags.read", "flags.manage", "flags.approve"}),
    # A partner system holding an API key: submits and reads its own tenant's jobs.
    # keys.activate (issue 16): a staged key confirms its own cut-over (POST /api/keys/activate).
    # flags.evaluate (issue 16): OFREP evaluations, always for the key's own tenant.
    "partner": frozenset(
        {
            "jobs.submit",
            "jobs.read",
            "patients.read",
            "patients.map",
            "keys.activate",
            "flags.evaluate",
        }
    ),
}


@dataclass(frozen=True)
class Principal:
    """The actor of a service call. ``tenant`` None means all tenants (staff)."""

    kind: str  # "api_key", "user", "system"
    id: str
    roles: tuple[str, ...]
    tenant: str | None = None
    name: str = ""
    permissions: frozenset[str] = field(default=frozenset())

    def __post_init__(self) -> None:
        perms: set[str] = set(self.permissions)
        for r in self.roles:
            perms |= PERMISSIONS.get(r, frozenset())
        object.__setattr__(self, "permissions", frozenset(perms))

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def role(self) -> str:
        return ",".join(self.roles)

    def can(self, permission: str) -> bool:
        return permission in self.permissions

    def sees_tenant(self, tenant: str) -> bool:
        return self.tenant is None or self.tenant == tenant


def require(principal: Principal, permission: str) -> None:
    """Raise ``PermissionDenied`` unless the principal's roles grant ``permission``."""
    if not principal.can(permission):
        raise PermissionDenied(
            f"missing permission {permission}", details={"permission": permission}
        )


SYSTEM = Principal(kind="system", id="carepipe", roles=("admin",))
