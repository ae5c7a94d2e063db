"""Per-tenant intake rate: a token bucket per tenant, answered 429 with Retry-After.

The rate is the tenant's ``ingest_rate_per_second`` setting (none: no limit) with
``ingest_burst`` requests of headroom. Buckets live in this API process: with N API
processes behind a load balancer a tenant gets up to N times the rate (say so when
sizing). Settings are re-read every ``ttl`` seconds, so a change bites within that.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from carepipe.core.db import Database
from carepipe.core.errors import RateLimited
from carepipe.core.tenants import tenant_settings
from carepipe.observability.metrics import API_REFUSED


@dataclass
class _Bucket:
    rate: float | None
    burst: float
    tokens: float
    stamp: float
    read_at: float


class TenantRateLimiter:
    """Admit or refuse one intake request of a tenant (``RateLimited`` with the wait)."""

    def __init__(self, db: Database, *, ttl: float = 5.0) -> None:
        self.db = db
        self.ttl = ttl
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    def _bucket(self, tenant: str, now: float) -> _Bucket:
        bucket = self._buckets.get(tenant)
        if bucket is not None and now - bucket.read_at < self.ttl:
            return bucket
        with self.db.session() as s:
            policy = tenant_settings(s, tenant)
        rate = policy.ingest_rate_per_second
        burst = float(policy.ingest_burst or max(1, math.ceil(rate or 1)))
        if bucket is None or bucket.rate != rate or bucket.burst != burst:
            bucket = _Bucket(rate, burst, burst, now, now)
        bucket.read_at = now
        self._buckets[tenant] = bucket
        return bucket

    def admit(self, tenant: str) -> None:
        """Take a token for ``tenant`` or raise ``RateLimited`` saying how long to wait."""
        now = time.monotonic()
        with self._lock:
            bucket = self._bucket(tenant, now)
            if bucket.rate is None:
                return
            bucket.tokens = min(bucket.burst, bucket.tokens + (now - bucket.stamp) * bucket.rate)
            bucket.stamp = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return
            wait = (1.0 - bucket.tokens) / bucket.rate
        API_REFUSED.labels("rate_limited").inc()
        raise RateLimited(
            f"tenant over its intake rate of {bucket.rate:g} per second; nothing was received",
            details={"retry_after_seconds": max(1, math.ceil(wait))},
        )
