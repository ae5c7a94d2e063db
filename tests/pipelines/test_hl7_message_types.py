"""Message types beyond ADT/ORU into FHIR R4, and the patient index, through POST /v1/hl7."""

from __future__ import annotations

from carepipe.core.clock import utcnow
from carepipe.core.models import Tenant
from tests.pipelines.hl7_support import dead_letters, hl7_api, resources, sample_bytes

REGISTER = (
    b"MSH|^~\\&|HIS|CITYHOSP|CAREPIPE|CP|20260301080000||ADT^A04^ADT_A01|REG-500|P|2.5.1\r"
    b"PID|1||MRN500^^^CITYHOSP^MR||Khan^Sara||19900505|F\r"
)


def _run_one(api, run_jobs, raw: bytes) -> dict:
    resp = api.post(raw)
    assert resp.status_code == 202, resp.text
    (job,) = run_jobs([resp.json()["job_id"]])
    assert job.status == "succeeded", (job.error_code, job.error_message)
    return api.bundle(resp.json()["job_id"])


def test_orders_appointments_documents_and_immunizations(db, blobs, settings, run_jobs):
    with hl7_api(db, blobs, settings) as api:
        _run_one(api, run_jobs, REGISTER)  # an ADT without ABHA registers MRN500
        orm = _run_one(api, run_jobs, sample_bytes("valid", "orm_o01_v23.hl7"))
        oml = _run_one(api, run_jobs, sample_bytes("valid", "oml_o21_v251.hl7"))
        siu = _run_one(api, run_jobs, sample_bytes("valid", "siu_s12_booked_v251.hl7"))
        s15 = _run_one(api, run_jobs, sample_bytes("valid", "siu_s15_cancelled_v251.hl7"))
        mdm = _run_one(api, run_jobs, sample_bytes("valid", "mdm_t02_v26.hl7"))
        vxu = _run_one(api, run_jobs, sample_bytes("valid", "vxu_v04_v251.hl7"))

    (sr,) = resources(orm, "ServiceRequest")
    assert (sr["status"], sr["intent"], sr["priority"]) == ("active", "order", "stat")
    assert sr["code"]["coding"][0]["code"] == "24323-8"
    assert {i["type"]["coding"][0]["code"]: i["value"] for i in sr["identifier"][:2]} == {
        "PLAC": "PL-77",
        "FILL": "FL-77",
    }
    assert sr["requisition"]["value"] == "GRP-9" and sr["note"][0]["text"].startswith("Patient")
    assert sr["subject"]["reference"].endswith("|MRN500")  # the registered MRN, no ABHA
    new, cancel = resources(oml, "ServiceRequest")
    assert new["status"] == "active" and new["occurrenceDateTime"].startswith("2026-03-02")
    # ORC-1 CA is a cancel *request*: still active until the filler confirms (IG ConceptMap).
    assert cancel["status"] == "active"
    (entry,) = [e for e in orm["entry"] if e["resource"]["resourceType"] == "ServiceRequest"]
    assert entry["request"]["method"] == "PUT" and "FL-77" in entry["request"]["url"]

    (booked,) = resources(siu, "Appointment")
    (cancelled,) = resources(s15, "Appointment")
    assert booked["status"] == "booked" and cancelled["status"] == "cancelled"
    assert booked["start"].startswith("2026-03-10T10:30:00") and booked["minutesDuration"] == 30
    assert booked["appointmentType"]["coding"][0]["code"] == "FOLLOWUP"
    assert [p.get("actor", {}).get("type") for p in booked["participant"][1:]] == [
        "Practitioner",
        "Location",
    ]
    siu_url = next(e for e in siu["entry"] if e["resource"]["resourceType"] == "Appointment")
    s15_url = next(e for e in s15["entry"] if e["resource"]["resourceType"] == "Appointment")
    assert siu_url["request"]["url"] == s15_url["request"]["url"]  # S15 updates S12's appointment

    (doc,) = resources(mdm, "DocumentReference")
    assert (doc["status"], doc["docStatus"]) == ("current", "final")
    assert doc["masterIdentifier"]["value"] == "DOC-900"
    types = [c["attachment"]["contentType"] for c in doc["content"]]
    assert types == ["text/plain; charset=utf-8", "application/pdf"]
    import base64

    text = base64.b64decode(doc["content"][0]["attachment"]["data"]).decode()
    assert text == "Discharged in stable condition.\nReview in two weeks."

    (imm,) = resources(vxu, "Immunization")
    assert imm["status"] == "completed" and imm["primarySource"] is True
    assert imm["vaccineCode"]["coding"][0] == {
        "system": "http://hl7.org/fhir/sid/cvx",
        "code": "08",
        "display": "Hep B, adolescent or pediatric",
    }
    assert imm["doseQuantity"]["value"] == 0.5 and imm["lotNumber"] == "LOT-7"
    assert imm["expirationDate"] == "2027-01-01" and imm["manufacturer"]["display"] == "Merck"


def test_merge_links_patients_and_moves_later_results_to_the_survivor(
    db, blobs, settings, run_jobs
):
    prior_adt = REGISTER.replace(b"MRN500", b"MRN601").replace(b"REG-500", b"REG-601")
    prior_adt = prior_adt.replace(b"PID|1||MRN601^^^CITYHOSP^MR", b"PID|1||MRN601^^^CITYHOSP^MR~"
                                  b"12345678901234^^^ABDM^ABHA")  # fmt: skip
    with hl7_api(db, blobs, settings) as api:
        _run_one(api, run_jobs, prior_adt)  # MRN601 with an ABHA number
        merged = _run_one(api, run_jobs, sample_bytes("valid", "adt_a40_v251.hl7"))
        oru = (
            b"MSH|^~\\&|LIS|CITYLAB|CAREPIPE|CP|20260302100000||ORU^R01|L-601|P|2.5.1\r"
            b"PID|1||MRN601^^^CITYHOSP^MR||Iyer^Kavya||19850303|F\r"
            b"OBR|1||F-601|2345-7^Glucose^LN\rOBX|1|NM|2345-7^Glucose^LN||99|mg/dL|||||F\r"
        )
        later = _run_one(api, run_jobs, oru)  # sent under the merged-away MRN
    survivor, prior = resources(merged, "Patient")
    assert survivor["link"][0]["type"] == "replaces"
    assert prior["active"] is False and prior["link"][0]["type"] == "replaced-by"
    by_url = {e["fullUrl"]: e["resource"] for e in merged["entry"]}
    assert by_url[survivor["link"][0]["other"]["reference"]] is prior
    # The ABHA of the merged-away MRN is carried to the survivor in the index.
    (report,) = resources(later, "DiagnosticReport")
    assert report["subject"]["reference"].endswith("|12345678901234")


def test_a31_updates_the_person_and_links_the_abha(db, blobs, settings, run_jobs):
    with hl7_api(db, blobs, settings) as api:
        bundle = _run_one(api, run_jobs, sample_bytes("valid", "adt_a31_v28.hl7"))
    (patient,) = resources(bundle, "Patient")
    assert resources(bundle, "Encounter") == []  # PV1-2 N: no visit
    assert {i["value"] for i in patient["identifier"]} >= {"MRN600", "91234567890123"}
    (entry,) = bundle["entry"]
    assert entry["request"]["method"] == "PUT"  # A31 re-sends the record: update


def test_unknown_mrn_stays_patient_not_found(db, blobs, settings, run_jobs):
    with hl7_api(db, blobs, settings) as api:
        resp = api.post(sample_bytes("valid", "orm_o01_v23.hl7"))
        (job,) = run_jobs([resp.json()["job_id"]])
    assert job.status == "dead" and job.error_code == "patient_not_found"
    assert [d["job_id"] for d in dead_letters(db, "patient_not_found")] == [job.id]


def test_tenant_requiring_abha_holds_everything_until_it_is_mapped(db, blobs, settings, run_jobs):
    with db.transaction() as s:
        s.add(Tenant(id="city", name="City", settings={"abha_required": True}, created_at=utcnow()))
    with hl7_api(db, blobs, settings) as api:
        adt = api.post(REGISTER).json()
        (adt_job,) = run_jobs([adt["job_id"]])
        orm = api.post(sample_bytes("valid", "orm_o01_v23.hl7")).json()
        (orm_job,) = run_jobs([orm["job_id"]])
        # Both died before the EMR: the MRN is registered, but has no ABHA number.
        assert adt_job.status == orm_job.status == "dead"
        assert adt_job.error_code == orm_job.error_code == "patient_not_found"
        letters = {d["job_id"]: d for d in dead_letters(db, "patient_not_found")}
        assert letters[orm_job.id]["stage"] == "fhir"
        # Map MRN -> ABHA over the API, replay: the bundle now names the ABHA number.
        put = api.client.put(
            "/v1/patients/MRN500",
            headers=api.headers,
            json={"abha_number": "11-2222-3333-4444", "assigning_authority": "CITYHOSP"},
        )
        assert put.status_code == 200, put.text
        from carepipe.core.auth import SYSTEM
        from carepipe.ops.dlq import replay_dead_task

        with db.transaction() as s:
            replay_dead_task(s, SYSTEM, letters[orm_job.id]["task_id"], reason="mapped")
        (orm_job,) = run_jobs([orm["job_id"]])
        assert orm_job.status == "succeeded"
        (sr,) = resources(api.bundle(orm["job_id"]), "ServiceRequest")
    assert sr["subject"]["reference"].endswith("|11222233334444")
