"""OFREP: the real ``openfeature-provider-ofrep`` client against a live server of the app,
a partner's tenant pinned whatever it sends, and the bulk endpoint's ETag / 304."""

from __future__ import annotations

from openfeature import api
from openfeature.contrib.provider.ofrep import OFREPProvider
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason

from carepipe.app import create_app
from carepipe.core.auth import SYSTEM
from carepipe.ops import users
from tests.flags._support import (
    boolean_flag,
    define,
    engine_flag,
    partner_auth,
    redefine,
    released_provider,  # noqa: F401 - fixture
)
from tests.support.live_server import live_server
from tests.support.waiting import wait_until

BULK = "/ofrep/v1/evaluate/flags"


def _ofrep_client(base: str, headers: dict[str, str], domain: str):
    api.set_provider_and_wait(
        OFREPProvider(base, headers_factory=lambda: headers, timeout=10), domain=domain
    )
    return api.get_client(domain)


def _token(db, name: str, role: str) -> dict[str, str]:
    with db.transaction() as s:
        users.create_user(s, SYSTEM, username=name, roles=[role], password="a long test pw 123")
        return {"Authorization": f"Bearer {users.issue_token(s, SYSTEM, name).plaintext}"}


def test_ofrep_client_gets_the_targeted_variant_and_a_partner_only_its_tenant(
    db,
    settings,
    blobs,
    staff,
    released_provider,  # noqa: F811 - fixture
):
    define(db, "doc-summaries", boolean_flag(tenants=["acme"]))
    define(db, "note-engine", engine_flag(tenants=["acme"]))
    acme_key, globex_key = partner_auth(db, "acme"), partner_auth(db, "globex")
    clinician = _token(db, "cara", "clinician")
    with live_server(create_app(settings, db=db, blobs=blobs)) as base:
        acme = _ofrep_client(base, acme_key, "ofrep-acme")
        globex = _ofrep_client(base, globex_key, "ofrep-globex")
        ops = _ofrep_client(base, staff["olga"], "ofrep-ops")
        nobody = _ofrep_client(base, clinician, "ofrep-clinician")
        user = EvaluationContext("user-1", {"role": "doctor"})
        claims_acme = EvaluationContext("user-1", {"tenant": "acme"})

        on = acme.get_boolean_details("doc-summaries", False, user)
        assert (on.value, on.variant, on.reason) == (True, "on", Reason.TARGETING_MATCH)
        assert on.flag_metadata == {"version": 1}
        assert acme.get_string_value("note-engine", "none", user) == "openai"

        # A partner of globex saying tenant=acme still gets globex's answer.
        off = globex.get_boolean_details("doc-summaries", True, claims_acme)
        assert (off.value, off.variant, off.reason) == (False, "off", Reason.DEFAULT)
        assert globex.get_string_value("note-engine", "none", claims_acme) == "rules"

        # Staff with flags.read evaluate any context; a role without it gets the default.
        assert ops.get_boolean_value("doc-summaries", False, claims_acme) is True
        refused = nobody.get_boolean_details("doc-summaries", False, claims_acme)
        assert (refused.value, refused.error_code) == (False, ErrorCode.GENERAL)

        missing = acme.get_boolean_details("no-such-flag", True, user)
        assert (missing.value, missing.error_code) == (True, ErrorCode.FLAG_NOT_FOUND)
        wrong = acme.get_string_details("doc-summaries", "x", user)
        assert (wrong.value, wrong.error_code) == ("x", ErrorCode.TYPE_MISMATCH)


def test_bulk_answers_carry_etag_and_max_age_and_304_until_a_flag_changes(
    db,
    client,
    released_provider,  # noqa: F811 - fixture
):
    define(db, "doc-summaries", boolean_flag(tenants=["acme"]))
    acme = partner_auth(db, "acme")
    body = {"context": {"targetingKey": "user-1", "tenant": "globex"}}

    first = client.post(BULK, headers=acme, json=body)
    assert first.status_code == 200, first.text
    assert first.headers["cache-control"] == "private, max-age=60"
    assert first.json()["flags"] == [
        {
            "key": "doc-summaries",
            "value": True,
            "reason": "TARGETING_MATCH",
            "variant": "on",
            "metadata": {"version": 1},
        }
    ]
    etag = first.headers["etag"]
    again = client.post(BULK, headers={**acme, "If-None-Match": etag}, json=body)
    assert again.status_code == 304 and again.headers["etag"] == etag

    redefine(db, "doc-summaries", boolean_flag(tenants=["initech"]), based_on=1)

    def changed():
        r = client.post(BULK, headers={**acme, "If-None-Match": etag}, json=body)
        return r if r.status_code == 200 else None

    # The flag cache polls flag_state.revision every second (PostgreSQL also notifies).
    after = wait_until(changed, timeout=10, interval=0.2, what="a new ETag")
    assert after.headers["etag"] != etag
    assert after.json()["flags"][0]["value"] is False

    one = client.post(f"{BULK}/no-such-flag", headers=acme, json=body)
    assert one.status_code == 404
    assert one.json() == {
        "key": "no-such-flag",
        "errorCode": "FLAG_NOT_FOUND",
        "errorDetails": "no flag named 'no-such-flag'",
    }
    nested = {"context": {"targetingKey": "u", "address": {"city": "Pune"}}}
    bad = client.post(f"{BULK}/doc-summaries", headers=acme, json=nested)
    assert bad.status_code == 400 and bad.json()["errorCode"] == "INVALID_CONTEXT"
