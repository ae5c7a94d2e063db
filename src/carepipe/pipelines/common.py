"""Pieces shared by the clinical pipelines: patient context, bundle output, the EMR stage."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from carepipe.core.errors import PatientUnidentified
from carepipe.core.tenants import TenantSettings, tenant_settings
from carepipe.interop.fhir.bundle import carepipe_system
from carepipe.interop.fhir.client import FhirRestClient
from carepipe.interop.fhir.inputs import BundleContext, IdentifierInput, PatientInput, PatientRef
from carepipe.interop.fhir.validate import ensure_valid
from carepipe.interop.identity.service import lookup
from carepipe.pipelines.context import ArtifactOut, StageContext, StageOutput
from carepipe.pipelines.patient_context import PatientContext, open_context

BUNDLE = "fhir_bundle"
# The identifier kind of the stand-in patient of a job whose submitter named none.
UNIDENTIFIED_KIND = "job-patient"
# The stand-in's identifier system, and a reference to it, whatever the tenant (its
# slug is percent-encoded, so it holds no ':' or '|').
_STAND_IN_SYSTEM = re.compile(rf"urn:carepipe:[^:|]*:{UNIDENTIFIED_KIND}$")
_STAND_IN_REF = re.compile(rf"Patient\?identifier=urn:carepipe:[^:|]*:{UNIDENTIFIED_KIND}\|")


def bundle_context(ctx: StageContext) -> BundleContext:
    """Ids derive from the job's idempotency key (or id), so a replay rebuilds the same bundle."""
    return BundleContext(tenant=ctx.tenant, job_key=ctx.task.idempotency_key or ctx.job_id)


def job_context(ctx: StageContext) -> PatientContext | None:
    """What the submitter told us about the patient (the job's ``context``), if anything."""
    return open_context(ctx.blobs, ctx.message.meta)


def job_tenant_settings(ctx: StageContext) -> TenantSettings:
    """The job's tenant's policies (``allow_unidentified_patients``, ``review_required`` ...)."""
    return ctx.read(lambda s: tenant_settings(s, ctx.tenant))


def patient_ref(ctx: StageContext) -> PatientRef | PatientInput:
    """The patient a document/consultation belongs to, from the job context.

    Order of preference: an EMR server id, an ABHA number, an MRN looked up in
    the patient index (its FHIR id or ABHA), the bare MRN. With nothing given, a
    stand-in patient of this job (created by the EMR if it is ever pushed: the
    EMR stage refuses that unless the tenant allows unidentified patients).
    """
    c = job_context(ctx)
    if c is None:
        stand_in = IdentifierInput(
            carepipe_system(ctx.tenant, UNIDENTIFIED_KIND), bundle_context(ctx).job_key
        )
        return PatientInput(other_identifiers=(stand_in,))
    if c.patient_id:
        return PatientRef.by_id(c.patient_id)
    if c.abha:
        return PatientRef.by_abha(c.abha)
    assert c.mrn is not None  # PatientContext names at least one of the three
    mrn, authority = c.mrn, c.assigning_authority
    link = ctx.read(lambda s: lookup(s, ctx.tenant, mrn, authority))
    if link is not None and link.fhir_patient_id:
        return PatientRef.by_id(link.fhir_patient_id)
    if link is not None:
        return PatientRef.by_abha(link.abha_number)
    system = carepipe_system(ctx.tenant, f"mrn:{authority}" if authority else "mrn")
    return PatientRef.by_identifier(system, mrn)


def _stand_in(node: Any) -> bool:
    """A Patient with a stand-in identifier, or a reference to one, anywhere in ``node``."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("reference")
            if isinstance(ref, str) and _STAND_IN_REF.match(ref):
                return True
            if item.get("resourceType") == "Patient" and any(
                _STAND_IN_SYSTEM.match(str(i.get("system", "")))
                for i in item.get("identifier", [])
                if isinstance(i, dict)
            ):
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def unidentified_patient(bundle: dict[str, Any]) -> bool:
    """True if the bundle's patient is a per-job stand-in instead of a real one."""
    return _stand_in(bundle.get("entry", []))


def _patient_summary(bundle: dict[str, Any]) -> dict[str, Any]:
    if unidentified_patient(bundle):
        return {
            "identified": False,
            "message": "no patient context was given: the bundle names a stand-in patient "
            "and is not pushed to the EMR unless the tenant allows unidentified patients",
        }
    return {"identified": True}


def bundle_output(bundle: dict[str, Any], *, result: dict[str, Any] | None = None) -> StageOutput:
    """Validate ``bundle`` (``FhirInvalid`` with the problems if not) and record it.

    The result says whether the bundle names a real patient or only a stand-in.
    """
    ensure_valid(bundle)
    patient = _patient_summary(bundle)
    entries = bundle.get("entry", [])
    counts: dict[str, int] = {}
    for e in entries:
        rtype = e.get("resource", {}).get("resourceType", "?")
        counts[rtype] = counts.get(rtype, 0) + 1
    return StageOutput(
        artifacts=[
            ArtifactOut(
                kind=BUNDLE,
                content=json.dumps(bundle, separators=(",", ":"), sort_keys=True).encode(),
                content_type="application/fhir+json",
                data={"entries": len(entries), "resources": counts, "patient": patient},
                engine="carepipe.fhir",
                model_version="fhir-r4/1",
            )
        ],
        result={
            "bundle": {"entries": len(entries), "resources": counts},
            "patient": patient,
            **(result or {}),
        },
    )


@lru_cache(maxsize=4)
def _emr_client(url: str, timeout: float, token: str | None = None) -> FhirRestClient:
    # The token is part of the key (in memory only) so a rotated one gets a new client.
    headers = {"Authorization": f"Bearer {token}"} if token else None
    return FhirRestClient(url, timeout=timeout, headers=headers)


def emr_stage(ctx: StageContext) -> StageOutput:
    """Push the job's bundle to the EMR, or keep it as the job's result when none is configured."""
    art = ctx.artifact(BUNDLE)
    assert art is not None, "emr stage without a bundle"
    url = ctx.settings.emr_fhir_url
    bundle = json.loads(ctx.artifact_bytes(art))
    # Checked on the bundle about to leave, not on how it was built: whatever the
    # pipeline, nothing reaches a patient's record under a stand-in patient.
    if (
        url
        and unidentified_patient(bundle)
        and not job_tenant_settings(ctx).allow_unidentified_patients
    ):
        raise PatientUnidentified(
            "the bundle names no patient (the job was submitted without context); "
            "resubmit with context, or allow unidentified patients for this tenant and replay"
        )
    if not url:
        return StageOutput(
            result={
                "emr": {
                    "status": "kept",
                    "message": "no EMR configured: the bundle is kept, "
                    f"download it from /v1/jobs/{ctx.job_id}/bundle",
                }
            }
        )
    secret = getattr(ctx.settings, "emr_auth_token", None)
    token = secret.get_secret_value() if hasattr(secret, "get_secret_value") else secret
    client = _emr_client(url, ctx.settings.emr_timeout_seconds, token)
    pushed = client.push(bundle, idempotency_key=bundle_context(ctx).job_key)
    summary = {
        "status": "pushed",
        "http_status": pushed.status_code,
        "resources": pushed.references,
        "created": pushed.created,
    }
    return StageOutput(
        artifacts=[
            ArtifactOut(
                kind="emr_response", data=summary, engine="fhir-rest", model_version="fhir-r4"
            )
        ],
        result={"emr": summary},
    )
