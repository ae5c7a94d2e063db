"""Issue 12 end to end: rendered pages through the API, real Tesseract, a worker, the bundle.

Pages come from tests/data/ocr/corpus/pages (rendered by Chromium from the corpus's
HTML, scripts/make_ocr_corpus.py; dev documents and two small fixtures). Each test
posts a page to POST /v1/jobs (multipart, as a partner would), lets a real worker
run ocr -> extract -> fhir -> emr, and reads GET /v1/jobs/{id}/bundle.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from carepipe.app import create_app
from carepipe.core.auth import SYSTEM
from carepipe.ops.api_keys import create_key
from carepipe.pipelines.worker import Worker

CORPUS = Path(__file__).resolve().parents[1] / "data" / "ocr" / "corpus"
PAGES = CORPUS / "pages"

LIPID_CODES = {"2093-3", "2571-8", "2085-9", "13457-7", "13458-5", "9830-1"}

pytestmark = pytest.mark.skipif(shutil.which("tesseract") is None, reason="needs tesseract")


@pytest.fixture(params=["sqlite"])
def db_url(request, tmp_path, sqlite_template):
    # OCR time dominates; the queue and API are covered on both databases elsewhere.
    target = tmp_path / "carepipe.db"
    shutil.copy(sqlite_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def api(settings, db, blobs) -> Iterator[tuple[TestClient, dict[str, str]]]:
    settings.max_payload_bytes = 5 * 1024 * 1024
    with db.transaction() as s:
        key = create_key(s, SYSTEM, tenant="clinic", name="test", env="dev").plaintext
    with TestClient(create_app(settings, db=db, blobs=blobs)) as client:
        yield client, {"Authorization": f"Bearer {key}"}


@pytest.fixture
def worker(db, blobs, settings) -> Iterator[Worker]:
    w = Worker(db, blobs, settings, concurrency=2)
    w.start_background()
    yield w
    w.stop()
    w.stopped.wait(30)


def post_page(api, name: str, *, context: dict | None = None) -> str:
    client, auth = api
    data = {"pipeline": "ocr"}
    if context is not None:
        data["context"] = json.dumps(context)
    kind = "application/pdf" if name.endswith(".pdf") else "image/png"
    resp = client.post("/v1/jobs", headers=auth, data=data,
                       files={"file": (name, (PAGES / name).read_bytes(), kind)})  # fmt: skip
    assert resp.status_code == 202, resp.text
    return resp.json()["id"]


def bundle_of(api, job_id: str, timeout: float = 240) -> tuple[dict, dict]:
    """The finished job (as GET /v1/jobs/{id} shows it) and its bundle."""
    client, auth = api
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/v1/jobs/{job_id}", headers=auth).json()
        if job["status"] in ("succeeded", "dead"):
            break
        assert time.monotonic() < deadline, f"job still {job['status']}"
        time.sleep(0.2)
    assert job["status"] == "succeeded", job
    resp = client.get(f"/v1/jobs/{job_id}/bundle", headers=auth)
    assert resp.status_code == 200, resp.text
    return job, resp.json()


def resources(bundle: dict, rtype: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == rtype]


def observations(bundle: dict) -> dict[str, dict]:
    return {o["code"]["coding"][0]["code"]: o for o in resources(bundle, "Observation")
            if o["code"].get("coding")}  # fmt: skip


def review_flagged(bundle: dict) -> bool:
    (doc,) = resources(bundle, "DocumentReference")
    tagged = any(t["code"] == "needs-review" for t in doc.get("meta", {}).get("tag", []))
    assert tagged == bool(resources(bundle, "Task")), "tag and review Task go together"
    return tagged


def truth(doc_id: str) -> dict:
    return json.loads((CORPUS / "truth" / f"{doc_id}.json").read_text())


def test_cbc_with_flags_written_against_values_through_the_api(api, worker):
    # "10.8L", "33.9L": the abnormal values must reach the bundle with their flags.
    job, bundle = bundle_of(api, post_page(api, "d07.clean.png"))
    obs = observations(bundle)
    hb = obs["718-7"]
    assert hb["valueQuantity"]["value"] == 10.8 and hb["valueQuantity"]["code"] == "g/dL"
    assert hb["interpretation"][0]["coding"][0]["code"] == "L"
    assert obs["4544-3"]["valueQuantity"]["value"] == 33.9
    expected = truth("d07")
    found = sum(
        1 for lab in expected["labs"]
        if lab["loinc"] in obs and obs[lab["loinc"]]["valueQuantity"]["value"] == pytest.approx(lab["value"])
    )  # fmt: skip
    assert found >= len(expected["labs"]) - 1
    (patient,) = resources(bundle, "Patient")
    assert expected["patient"]["identifier"] in [i["value"] for i in patient["identifier"]]
    assert patient["name"][0]["family"] == "NAIR" and patient["gender"] == "female"
    assert job["result"]["review"]["needs_review"] == review_flagged(bundle)


def test_misread_range_is_held_and_the_document_goes_to_review(api, worker):
    # RBC 4.12 printed against "38 - 48": held, never sent with a wrong L flag.
    job, bundle = bundle_of(api, post_page(api, "hold_misread_range.png"))
    obs = observations(bundle)
    assert "789-8" not in obs
    assert obs["718-7"]["valueQuantity"]["value"] == 12.6
    assert review_flagged(bundle)
    (task,) = resources(bundle, "Task")
    assert "held as implausible" in task["description"]
    assert job["result"]["review"]["held_tests"] == ["erythrocytes"]


def test_digit_loss_against_the_printed_flag_is_held(api, worker):
    # ALT "6 H" against 7 - 56: a lost digit; only the plausible AST goes out.
    _, bundle = bundle_of(api, post_page(api, "hold_digit_loss.png"))
    obs = observations(bundle)
    assert "1742-6" not in obs
    assert obs["1920-8"]["valueQuantity"]["value"] == 31
    assert review_flagged(bundle)


def test_prescription_medications_and_the_patients_own_number(api, worker):
    job, bundle = bundle_of(api, post_page(api, "d25.clean.png"))
    assert job["result"]["extract"]["document_type"] == "prescription"
    (patient,) = resources(bundle, "Patient")
    ids = [i["value"] for i in patient["identifier"]]
    assert "OPD-26-55871" in ids and "DMC/R/40112" not in ids
    assert patient["name"][0]["family"] == "IYER"
    assert patient["name"][0]["given"] == ["RAJESH", "KUMAR"]
    requests = resources(bundle, "MedicationRequest")
    expected = truth("d25")["medications"]
    assert len(requests) == len(expected)
    for req, med in zip(requests, expected, strict=True):
        assert med["name"] in req["medicationCodeableConcept"]["text"].lower()
        assert req["reportedBoolean"] is True
        dose = req["dosageInstruction"][0]
        assert dose["doseAndRate"][0]["doseQuantity"]["value"] == med["dose"]
        repeat = dose["timing"]["repeat"]
        assert repeat["frequency"] / repeat["period"] == med["frequency"]
        assert repeat["boundsDuration"]["value"] == med["duration"]


def test_us_report_names_and_dates(api, worker):
    _, bundle = bundle_of(api, post_page(api, "d13.clean.png"))
    (patient,) = resources(bundle, "Patient")
    assert patient["name"][0]["family"] == "HARRIS"
    assert patient["name"][0]["given"] == ["MICHAEL", "T"]
    assert patient["birthDate"] == "1975-11-02"


def test_the_jobs_context_wins_over_the_document(api, worker):
    job_id = post_page(api, "d13.clean.png", context={"mrn": "X-7781"})
    _, bundle = bundle_of(api, job_id)
    assert resources(bundle, "Patient") == []
    subject = resources(bundle, "DocumentReference")[0]["subject"]["reference"]
    assert subject.startswith("Patient?identifier=") and subject.endswith("|X-7781")


def test_degraded_two_page_report_keeps_its_lipid_panel(api, worker):
    # Issue: "a degraded lipid panel lost every value" (here: 150 dpi JPEG pages in a PDF).
    job, bundle = bundle_of(api, post_page(api, "d10.lowres.pdf"))
    assert job["result"]["ocr"]["pages"] == 2
    obs = observations(bundle)
    lipids = [lab for lab in truth("d10")["labs"] if lab["loinc"] in LIPID_CODES]
    found = [lab for lab in lipids
             if lab["loinc"] in obs and obs[lab["loinc"]]["valueQuantity"]["value"] == pytest.approx(lab["value"])]  # fmt: skip
    assert len(found) >= len(lipids) - 1
    wrong = [o for code, o in obs.items()
             if not any(lab["loinc"] == code and o["valueQuantity"]["value"] == pytest.approx(lab["value"])
                        for lab in truth("d10")["labs"])]  # fmt: skip
    assert wrong == []


# --- issue 12, precision on degraded pages ------------------------------------------------
# Degraded dev pages, each with one kind of false positive found on the dev split:
# a unit OCR garbled ("g/dt", "millcumm", "lakhsicumm") or lost ("TL." for fL), once a
# value without a unit or LOINC code, now repaired or read off the row's own range; a
# value that cannot be told from the debris of an unreadable range, and a value whose
# unit cannot be read at all: held, named in the review Task, never sent.


def _key(lab: dict) -> tuple[str, float, str]:
    return lab["loinc"], lab["value"], lab["unit"]


def wrong_observations(bundle: dict, doc_id: str) -> list[tuple]:
    """Observations whose (LOINC, value, UCUM unit) is not a value printed on the page."""
    expected = [_key(lab) for lab in truth(doc_id)["labs"]]
    wrong = []
    for obs in resources(bundle, "Observation"):
        coding = obs["code"].get("coding") or [{}]
        qty = obs.get("valueQuantity") or {}
        got = (coding[0].get("code"), qty.get("value"), qty.get("code"))
        if not any(
            got[0] == e[0] and got[1] == pytest.approx(e[1]) and got[2] == e[2] for e in expected
        ):
            wrong.append(got)
    return wrong


def observation(bundle: dict, loinc: str) -> dict:
    (found,) = [
        o for o in resources(bundle, "Observation")
        if (o["code"].get("coding") or [{}])[0].get("code") == loinc
    ]  # fmt: skip
    return found


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        # Blurred Courier CBC: "36.1H g/dt" (the L of g/dL read as t).
        ("d07.blur.png", [("786-4", 36.1, "g/dL")]),
        # 150 dpi JPEG: MCV's "fL" read as "TL."; its range 83.0 - 101.0 says fL.
        ("d07.lowres.jpg", [("787-2", 90.7, "fL")]),
        # Rotated 1.5 degrees: "mill/cumm" read as "millcumm", "lakhs/cumm" as
        # "lakhsicumm" (2.75 lakhs is 275 x 10^3/uL).
        ("d01.rotated.png", [("789-8", 4.27, "10*6/uL"), ("777-3", 275, "10*3/uL")]),
    ],
)
def test_garbled_units_are_repaired_and_no_wrong_value_is_sent(api, worker, page, expected):
    job, bundle = bundle_of(api, post_page(api, page))
    for loinc, value, unit in expected:
        obs = observation(bundle, loinc)
        assert obs["valueQuantity"]["value"] == pytest.approx(value)
        assert obs["valueQuantity"]["code"] == unit
    assert wrong_observations(bundle, page.split(".")[0]) == []
    assert job["result"]["review"]["needs_review"] == review_flagged(bundle)


def test_unreadable_values_on_a_noisy_page_are_held_with_their_reasons(api, worker):
    # Noisy Courier liver panel: "Globulin 4.°9b g/dL ... 2 31" (the value unreadable,
    # only range debris left) and "Bilirubin, Indirect 0.61 mg/d" (no unit readable,
    # and a range too far from the usual one to say which unit it is).
    job, bundle = bundle_of(api, post_page(api, "d08.noise.jpg"))
    held = job["result"]["review"]["held_tests"]
    assert {"globulin", "bilirubin_indirect"} <= set(held)
    codes = {
        (o["code"].get("coding") or [{}])[0].get("code") for o in resources(bundle, "Observation")
    }
    assert "10834-0" not in codes  # globulin
    assert all(o["code"].get("coding") for o in resources(bundle, "Observation"))
    assert wrong_observations(bundle, "d08") == []
    assert review_flagged(bundle)
    (task,) = resources(bundle, "Task")
    assert f"{len(held)} value(s) held" in task["description"]
    assert "no unit could be read" in task["description"]
    assert "several numbers on the row" in task["description"]
    # What was sent is what the page printed, unit read off the range where it was lost.
    assert observation(bundle, "1968-7")["valueQuantity"]["code"] == "mg/dL"  # direct bilirubin
