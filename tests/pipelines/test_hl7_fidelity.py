"""What reaches the EMR is what the sender sent: several OBRs, PID-8, PID-11 SAD, ADT event
status, character sets and trailing batch segments, all through POST /v1/hl7."""

from __future__ import annotations

from carepipe.interop.hl7.ack import parse_ack
from tests.pipelines.hl7_support import hl7_api, resources, sample_bytes


def _adt(mrn: str, authority: str = "CITYHOSP", control: str = "R1") -> bytes:
    return (
        f"MSH|^~\\&|HIS|CITYHOSP|CAREPIPE|CP|20260301090000||ADT^A04^ADT_A01|{control}|P|2.5.1\r"
        f"PID|1||{mrn}^^^{authority}^MR||Menon^Lata||19700101|F\r"
    ).encode()


def _reports(bundle: dict) -> dict[str, list[str]]:
    """DiagnosticReport code -> the LOINC codes of the Observations it holds."""
    by_url = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    out = {}
    for report in resources(bundle, "DiagnosticReport"):
        codes = [by_url[r["reference"]]["code"]["coding"][0]["code"] for r in report["result"]]
        out[report["code"]["coding"][0]["code"]] = codes
    return out


def test_two_obr_oru_gives_two_reports_each_with_its_own_observations(
    db, blobs, settings, run_jobs
):
    with hl7_api(db, blobs, settings) as api:
        reg = api.post(_adt("MRN300"))  # registers the MRN (no ABHA): the ORU finds it
        assert reg.status_code == 202 and run_jobs([reg.json()["job_id"]])[0].status == "succeeded"
        oru = api.post(sample_bytes("valid", "oru_r01_two_obr_v251.hl7"))
        assert oru.status_code == 202 and oru.json()["ack_code"] == "AA"
        (job,) = run_jobs([oru.json()["job_id"]])
        assert job.status == "succeeded", job.error_code
        bundle = api.bundle(oru.json()["job_id"])
        result = api.job(oru.json()["job_id"])["result"]
    assert _reports(bundle) == {
        "58410-2": ["718-7", "6690-2"],
        "24323-8": ["2345-7", "2160-0", "2951-2"],
    }
    assert len(resources(bundle, "Observation")) == 5
    assert result["hl7"]["reports"] == 2 and result["bundle"]["resources"]["DiagnosticReport"] == 2


def test_a_third_party_two_obr_oru_keeps_both_reports(db, blobs, settings, run_jobs):
    """Microsoft FHIR-Converter's LAB-ORU-1 (MIT): a differential and a hemogram."""
    raw = sample_bytes("third_party", "fhir-converter/LAB-ORU-1.hl7")
    with hl7_api(db, blobs, settings) as api:
        # Its PID-3 is ``5011231^^^LABCORP^MR``-shaped: register that MRN first.
        from carepipe.interop.hl7 import parse_message

        mrn = parse_message(raw).patient.mrn
        assert mrn is not None
        reg = api.post(_adt(mrn.value, mrn.assigning_authority or "", "R2"))
        assert run_jobs([reg.json()["job_id"]])[0].status == "succeeded"
        oru = api.post(raw)
        assert oru.status_code == 202, oru.text
        (job,) = run_jobs([oru.json()["job_id"]])
        assert job.status == "succeeded", job.error_message
        bundle = api.bundle(oru.json()["job_id"])
    reports = _reports(bundle)
    assert set(reports) == {"26464-8", "24317-0"}
    assert len(reports["26464-8"]) == 5 and len(reports["24317-0"]) == 5
    assert set(reports["26464-8"]).isdisjoint(reports["24317-0"])


def test_pid8_outside_table_0001_is_mapped_and_said_and_sad_street_is_one_line(
    db, blobs, settings, run_jobs
):
    with hl7_api(db, blobs, settings) as api:
        resp = api.post(sample_bytes("valid", "adt_a04_sad_sex1_v251.hl7"))
        body = resp.json()
        assert resp.status_code == 202 and body["ack_code"] == "AA"
        assert any("PID-8" in w for w in body["warnings"])
        assert "PID-8" in (parse_ack(body["ack"]).text or "")
        (job,) = run_jobs([body["job_id"]])
        assert job.status == "succeeded", job.error_code
        bundle = api.bundle(body["job_id"])
        result = api.job(body["job_id"])["result"]
    (patient,) = resources(bundle, "Patient")
    assert patient["gender"] == "unknown"
    assert patient["address"][0]["line"] == ["1000 Hospital Lane", "Ward 4"]
    assert any("PID-8" in w for w in result["hl7"]["warnings"])
    # ADT^A04 registers an outpatient: the Encounter has arrived (not in-progress).
    (encounter,) = resources(bundle, "Encounter")
    assert encounter["status"] == "arrived"


def test_discharge_a03_finishes_the_encounter(db, blobs, settings, run_jobs):
    pv1 = ["PV1", "1", "I", "W1^1^A"] + [""] * 42
    pv1[19], pv1[44], pv1[45] = "V310", "20260301080000", "20260303100000"
    raw = (
        b"MSH|^~\\&|HIS|CITYHOSP|CAREPIPE|CP|20260301090000||ADT^A03^ADT_A03|D1|P|2.5.1\r"
        b"PID|1||MRN310^^^CITYHOSP^MR||Rao^Anita||19800101|F\r" + "|".join(pv1).encode() + b"\r"
    )
    with hl7_api(db, blobs, settings) as api:
        resp = api.post(raw)
        (job,) = run_jobs([resp.json()["job_id"]])
        assert job.status == "succeeded", job.error_code
        bundle = api.bundle(resp.json()["job_id"])
    (encounter,) = resources(bundle, "Encounter")
    assert encounter["status"] == "finished"
    assert encounter["period"]["end"].startswith("2026-03-03T10:00:00")
    (entry,) = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Encounter"]
    assert entry["request"]["method"] == "PUT"  # a discharge updates the admitted visit


def test_invalid_utf8_without_a_declared_charset_is_flagged_not_silent(
    db, blobs, settings, run_jobs
):
    raw = _adt("MRN320").replace(b"Menon", b"M\xe9non")  # latin-1 bytes, no MSH-18
    with hl7_api(db, blobs, settings) as api:
        body = api.post(raw).json()
        assert body["ack_code"] == "AA" and "ISO-8859-1" in body["warnings"][0]
        assert "ISO-8859-1" in (parse_ack(body["ack"]).text or "")
        (job,) = run_jobs([body["job_id"]])
        bundle = api.bundle(body["job_id"])
        result = api.job(body["job_id"])["result"]
    assert job.status == "succeeded"
    assert resources(bundle, "Patient")[0]["name"][0]["family"] == "M\u00e9non"
    assert result["hl7"]["charset"] == "latin-1" and result["hl7"]["warnings"]


def test_http_charset_and_msh18_are_honoured_and_a_false_declaration_is_refused(
    db, blobs, settings, run_jobs
):
    cp1252 = _adt("MRN330", control="C1").replace(b"Menon", b"M\xe9non\x80")  # \x80 = euro
    msh18 = (
        b"MSH|^~\\&|HIS|CITYHOSP|CAREPIPE|CP|20260301090000||ADT^A04^ADT_A01|C2|P|2.5.1"
        b"||||||8859/1\rPID|1||MRN331^^^CITYHOSP^MR||M\xe9non^Lata||19700101|F\r"
    )
    false_utf8 = (
        b"MSH|^~\\&|HIS|CITYHOSP|CAREPIPE|CP|20260301090000||ADT^A04^ADT_A01|C3|P|2.5.1"
        b"||||||UNICODE UTF-8\rPID|1||MRN332^^^CITYHOSP^MR||M\xe9non^Lata||19700101|F\r"
    )
    with hl7_api(db, blobs, settings) as api:
        a = api.post(cp1252, "text/plain; charset=windows-1252").json()
        b = api.post(msh18).json()
        c = api.post(false_utf8)
        assert a["ack_code"] == "AA" and not a["warnings"]
        assert b["ack_code"] == "AA" and not b["warnings"]
        assert c.status_code == 422 and c.json()["ack_code"] == "AE"
        assert "MSH-18" in c.json()["error"]["message"]
        jobs = run_jobs([a["job_id"], b["job_id"], c.json()["job_id"]])
        names = [
            resources(api.bundle(j), "Patient")[0]["name"][0]["family"]
            for j in (a["job_id"], b["job_id"])
        ]
    assert names == ["M\u00e9non\u20ac", "M\u00e9non"]
    assert jobs[2].status == "dead" and jobs[2].error_code == "hl7_malformed"


def test_a_trailing_bts_is_not_part_of_the_message(db, blobs, settings, run_jobs):
    raw = _adt("MRN340", control="T1") + b"BTS|1\rFTS|1\r"
    with hl7_api(db, blobs, settings) as api:
        body = api.post(raw).json()
        assert body["ack_code"] == "AA" and any("BTS" in w for w in body["warnings"])
        (job,) = run_jobs([body["job_id"]])
        assert job.status == "succeeded"
