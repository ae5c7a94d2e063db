"""Issue 10 F10: API key verification must not tell an existing key id from an unknown one.

Through HTTP with real keys: the same answer, the same SQL, and comparable time
(150 requests of each kind). ``benchmarks/bench_key_timing.py`` measures the same
against the verification as it was before the fix.
"""

from __future__ import annotations

import secrets
import statistics
import time

from sqlalchemy import event

from tests.api.conftest import make_key

URL = "/v1/jobs/00000000-0000-0000-0000-000000000000"


def _probes(real_key: str) -> tuple[str, str]:
    _, env, key_id, secret = real_key.split("_", 3)
    wrong = secrets.token_urlsafe(32)[: len(secret)]
    return f"cp_{env}_{key_id}_{wrong}", f"cp_{env}_z{secrets.token_hex(6)[:11]}_{wrong}"


def _statements(db, client, key: str) -> list[str]:
    seen: list[str] = []

    def listen(conn, cursor, statement, params, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", listen)
    try:
        r = client.get(URL, headers={"Authorization": f"Bearer {key}"})
    finally:
        event.remove(db.engine, "before_cursor_execute", listen)
    assert r.status_code == 401
    return seen


def test_existing_and_unknown_key_ids_get_the_same_answer_and_work(client, db):
    existing, unknown = _probes(make_key(db))
    answers = {
        kind: client.get(URL, headers={"Authorization": f"Bearer {key}"})
        for kind, key in (("existing", existing), ("unknown", unknown))
    }
    assert {(r.status_code, r.text) for r in answers.values()} == {
        (401, '{"error":{"code":"invalid_api_key","message":"invalid API key"}}')
    }
    # The same statements run for both (one lookup that returns a row either way, no write).
    assert _statements(db, client, existing) == _statements(db, client, unknown)
    lookups = [q for q in _statements(db, client, unknown) if q.startswith("SELECT")]
    assert len(lookups) == 1 and "JOIN api_keys" in lookups[0]


def test_no_short_cut_for_unknown_ids(client, db, monkeypatch):
    """The same comparisons run, and no ORM row is built, whether or not the id exists
    (before the fix an unknown id skipped both: the timing difference of F10)."""
    from carepipe.core.models import ApiKey
    from carepipe.ops import api_keys

    existing, unknown = _probes(make_key(db))
    compared: list[int] = []
    loaded: list[str] = []
    real = api_keys.constant_time_equal
    monkeypatch.setattr(
        api_keys, "constant_time_equal", lambda a, b: compared.append(1) or real(a, b)
    )

    def on_load(target, context):
        loaded.append(target.id)

    event.listen(ApiKey, "load", on_load)
    try:
        work = {}
        for kind, key in (("existing", existing), ("unknown", unknown)):
            compared.clear()
            loaded.clear()
            assert client.get(URL, headers={"Authorization": f"Bearer {key}"}).status_code == 401
            work[kind] = (len(compared), len(loaded))
    finally:
        event.remove(ApiKey, "load", on_load)
    assert work["existing"] == work["unknown"] == (2, 0)


def test_existing_and_unknown_key_ids_take_comparable_time(client, db):
    existing, unknown = _probes(make_key(db))
    times: dict[str, list[float]] = {"existing": [], "unknown": []}
    for i in range(20 + 150):
        order = ("existing", "unknown") if i % 2 else ("unknown", "existing")
        for kind in order:
            key = existing if kind == "existing" else unknown
            t0 = time.perf_counter()
            r = client.get(URL, headers={"Authorization": f"Bearer {key}"})
            dt = time.perf_counter() - t0
            assert r.status_code == 401
            if i >= 20:
                times[kind].append(dt)
    med = {k: statistics.median(v) for k, v in times.items()}
    gap = abs(med["existing"] - med["unknown"])
    # Loose on purpose (a shared 2-core machine): catches a path that skips or adds work
    # (a hash, a query, an ORM load), not the microseconds the benchmark reports.
    assert gap < max(0.0015, 0.3 * min(med.values())), med
