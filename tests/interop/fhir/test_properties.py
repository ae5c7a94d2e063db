"""Property tests: any free text and any plausible numbers give a valid, stable bundle."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from carepipe.interop.fhir import (
    BundleContext,
    CodedValue,
    DiagnosisInput,
    LabReportInput,
    LabResultInput,
    PatientRef,
    ScribeInput,
    VitalSignInput,
    build_oru_bundle,
    build_scribe_bundle,
    validate_bundle,
)

text = st.text(max_size=200)
words = st.text(min_size=1, max_size=40).filter(lambda s: s.strip())
ids = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FFF), min_size=1, max_size=30
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tenant=ids,
    job=ids,
    subjective=text,
    plan=text,
    diagnosis=words,
    pulse=st.floats(min_value=20, max_value=250, allow_nan=False),
    temp=st.floats(min_value=30, max_value=110, allow_nan=False),
    transcript=st.text(max_size=300),
)
def test_scribe_bundle_is_valid_for_any_text(
    tenant, job, subjective, plan, diagnosis, pulse, temp, transcript
) -> None:
    note = ScribeInput(
        patient=PatientRef.by_id("1"),
        recorded_at=datetime(2024, 1, 1, tzinfo=UTC),
        subjective=subjective,
        plan=plan,
        diagnoses=[DiagnosisInput(diagnosis)],
        vitals=[VitalSignInput("heart_rate", pulse), VitalSignInput("temperature", temp, "F")],
        transcript=transcript or None,
    )
    ctx = BundleContext(tenant, job)
    bundle = build_scribe_bundle(ctx, note)
    assert validate_bundle(bundle) == []
    assert build_scribe_bundle(BundleContext(tenant, job), note) == bundle


@settings(max_examples=60, deadline=None)
@given(
    value=st.one_of(
        st.text(max_size=30), st.floats(allow_nan=False, allow_infinity=False, width=32)
    ),
    unit=st.one_of(st.none(), st.text(max_size=10)),
    ref_range=st.one_of(st.none(), st.text(max_size=15)),
    flags=st.lists(
        st.sampled_from(["H", "L", "N", "A", "HH", "LL", "AA", "<", ">", "", "X"]), max_size=2
    ),
    local=words,
)
@example(value="", unit=None, ref_range=None, flags=[], local="0\r\r0")  # control chars in a code
def test_oru_bundle_is_valid_for_any_result(value, unit, ref_range, flags, local) -> None:
    report = LabReportInput(
        code=CodedValue("58410-2", "CBC", "LN"),
        filler_order_number="F1",
        results=[
            LabResultInput(
                CodedValue(local, local, "99LOCAL"), value, None, unit, ref_range, flags
            ),
            LabResultInput(CodedValue("718-7", "Hb", "LN"), value, "NM", "g/dL", ref_range, flags),
        ],
    )
    bundle = build_oru_bundle(BundleContext("acme", "j"), PatientRef.by_id("1"), report)
    assert validate_bundle(bundle) == []
