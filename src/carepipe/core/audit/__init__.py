"""Append-only audit log, chained with a keyed hash and anchored by signed checkpoints.

Each row stores the previous row's hash and its own ``HMAC-SHA256(key, row)``;
the key lives outside the database (``carepipe.core.audit.keys``). Signed
checkpoints of the chain's head go to a second place
(``carepipe.core.audit.checkpoints``). ``verify_chain`` (``carepipe audit
verify``) reports every edited, inserted or deleted row, including rows deleted
from the end once a checkpoint has seen them. See docs/security.md.
"""

from __future__ import annotations

from carepipe.core.audit.chain import (
    GENESIS,
    KEYED_ACTION,
    canonical,
    compute_hash,
    legacy_hash,
    record,
)
from carepipe.core.audit.setup import AuditSetup, configure, current_setup, setup_from_settings
from carepipe.core.audit.verify import (
    ChainReport,
    CheckpointSummary,
    Problem,
    verify_chain,
    verify_segment,
)

__all__ = [
    "GENESIS",
    "KEYED_ACTION",
    "AuditSetup",
    "ChainReport",
    "CheckpointSummary",
    "Problem",
    "canonical",
    "compute_hash",
    "configure",
    "current_setup",
    "legacy_hash",
    "record",
    "setup_from_settings",
    "verify_chain",
    "verify_segment",
]
