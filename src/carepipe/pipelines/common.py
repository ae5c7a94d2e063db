"""Pieces shared by the clinical pipelines: patient context, bundle output, the EMR stage."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from carepipe.core.errors import InvalidAbha
from carepipe.interop.fhir.bundle import carepipe_system
from carepipe.interop.fhir.client import FhirRestClient
from carepipe.interop.fhir.inputs import BundleContext, PatientRef
from carepipe.interop.fhir.validate import ensure_valid
from carepipe.pipelines.context import ArtifactOut, StageContext, StageOutput

BUNDLE = "fhir_bundle"


def bundle_context(ctx: StageContext) -> BundleContext:
    """Ids derive from the job's idempotency key (or id), so a replay rebuilds the same bundle."""
    return BundleContext(tenant=ctx.tenant, job_key=ctx.task.idempotency_key or ctx.job_id)


def job_context(ctx: StageContext) -> dict[str, Any]:
    """What the submitter told us about the patient and encounter (``context`` of the job)."""
    meta = ctx.message.meta or {}
    value = meta.get("context") or {}
    return value if isinstance(value, dict) else {}


def patient_ref(ctx: StageContext) -> PatientRef:
    """The patient a document/consultation belongs to, from the job context.

    Order of preference: an EMR server id, an ABHA number, an MRN looked up in
    the patient index (its FHIR id or ABHA), the bare MRN; with nothing given,
    a per-job CarePipe identifier (the EMR must then match or create it).
    """
    from carepipe.interop.identity.abha import normalize_abha
    from carepipe.interop.identity.service import lookup

    c = job_context(ctx)
    if c.get("patient_id"):
        return PatientRef.by_id(str(c["patient_id"]))
    if c.get("abha"):
        try:
            return PatientRef.by_abha(normalize_abha(str(c["abha"])))
        except InvalidAbha:
            raise InvalidAbha("job context has an invalid ABHA number") from None
    if c.get("mrn"):
        mrn, authority = str(c["mrn"]), c.get("assigning_authority")
        link = ctx.read(lambda s: lookup(s, ctx.tenant, mrn, authority))
        if link is not None and link.fhir_patient_id:
            return PatientRef.by_id(link.fhir_patient_id)
        if link is not None:
            return PatientRef.by_abha(link.abha_number)
        system = carepipe_system(ctx.tenant, f"mrn:{authority}" if authority else "mrn")
        return PatientRef.by_identifier(system, mrn)
    return PatientRef.by_identifier(
        carepipe_system(ctx.tenant, "job-patient"), bundle_context(ctx).job_key
    )


def bundle_output(bundle: dict[str, Any], *, result: dict[str, Any] | None = None) -> StageOutput:
    """Validate ``bundle`` (``FhirInvalid`` with the problems if not) and record it."""
    ensure_valid(bundle)
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
                data={"entries": len(entries), "resources": counts},
                engine="carepipe.fhir",
                model_version="fhir-r4/1",
            )
        ],
        result={"bundle": {"entries": len(entries), "resources": counts}, **(result or {})},
    )


@lru_cache(maxsize=4)
def _emr_client(url: str, timeout: float) -> FhirRestClient:
    return FhirRestClient(url, timeout=timeout)


def emr_stage(ctx: StageContext) -> StageOutput:
    """Push the job's bundle to the EMR, or keep it as the job's result when none is configured."""
    art = ctx.artifact(BUNDLE)
    assert art is not None, "emr stage without a bundle"
    url = ctx.settings.emr_fhir_url
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
    bundle = json.loads(ctx.artifact_bytes(art))
    client = _emr_client(url, ctx.settings.emr_timeout_seconds)
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
