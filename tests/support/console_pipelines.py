"""A test pipeline for the console: HL7 in, patient index lookup, ``patient_not_found``
until someone maps the MRN (the real ``hl7`` pipeline does the same in its ``match`` stage)."""

from __future__ import annotations

from carepipe.core.errors import PatientNotFound
from carepipe.interop.identity.service import lookup
from carepipe.pipelines.context import END, ArtifactOut, StageContext, StageOutput
from carepipe.pipelines.registry import Pipeline, Stage, register

HL7_TYPE = "x-application/hl7-v2+er7"


def adt_message(
    mrn: str = "MRN12345", authority: str = "CITYHOSP", name: str = "Sharma^Priya"
) -> bytes:
    segments = [
        "MSH|^~\\&|HIS|CITYHOSP|CAREPIPE|CP|20260301120000||ADT^A01|MSG0001|P|2.5",
        "EVN|A01|20260301120000",
        f"PID|1||{mrn}^^^{authority}^MR||{name}||19800101|F|||12 MG Road^^Pune^MH^411001",
        "PV1|1|I|WARD1^101^A",
    ]
    return ("\r".join(segments) + "\r").encode()


def _pid3(raw: bytes) -> tuple[str, str]:
    for seg in raw.decode().replace("\n", "\r").split("\r"):
        if seg.startswith("PID|"):
            comps = seg.split("|")[3].split("~")[0].split("^")
            return comps[0], comps[3] if len(comps) > 3 else ""
    raise PatientNotFound("message has no PID segment")


def match(ctx: StageContext) -> StageOutput:
    mrn, authority = _pid3(ctx.raw())
    link = ctx.read(lambda s: lookup(s, ctx.tenant, mrn, authority))
    if link is None:
        raise PatientNotFound("no patient index entry for PID-3")
    return StageOutput(
        artifacts=[ArtifactOut(kind="patient_match", data={"link_id": link.id})],
        result={"matched": True},
        next_stage=END,
    )


register(
    Pipeline(
        "mrn_match",
        (Stage("t_match", match),),
        description="test pipeline: patient index lookup",
    )
)
