"""Model quality through the front door: audio POSTed to /v1/jobs, a real worker with the
real Whisper model, then what the user gets: the job result's quality signals, the
``/metrics`` series labelled by model version and dialect, and the console page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from carepipe.core.auth import SYSTEM
from carepipe.ops import tenants, users
from carepipe.ops.api_keys import create_key
from tests.observability.conftest import sample
from tests.support.console import FAST_HASHER, make_user
from tests.support.console_http import sign_in

DATA = Path(__file__).resolve().parents[1] / "data" / "scribe"


@pytest.fixture(params=["sqlite"])
def db_url(request, tmp_path, sqlite_template):
    # The model work dominates; the page's queries run on both databases in
    # test_model_quality_page.py.
    import shutil

    target = tmp_path / "carepipe.db"
    shutil.copy(sqlite_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def settings(settings):
    # c05 has pink noise mixed in at about 14 dB SNR: "low" under a 15 dB threshold.
    return settings.model_copy(update={"asr_low_snr_db": 15.0})


def _post(client, auth, clip: str, context: dict | None = None) -> str:
    data = {"pipeline": "scribe"}
    if context is not None:
        data["context"] = json.dumps(context)
    r = client.post(
        "/v1/jobs",
        headers=auth,
        data=data,
        files={"file": (clip, (DATA / clip).read_bytes(), "audio/wav")},
    )
    assert r.status_code == 202, r.text
    return r.json()["id"]


def test_a_scribe_job_reports_its_quality_per_model_version_and_dialect(
    client, db, run_jobs, capsys
):
    with db.transaction() as s:
        key = create_key(s, SYSTEM, tenant="clinic", name="t", env="dev").plaintext
        # The tenant's default dialect, for jobs whose context names none.
        tenants.set_tenant_settings(s, SYSTEM, "clinic", {"dialect": "en-KE"})
    auth = {"Authorization": f"Bearer {key}"}
    before = client.get("/metrics").text

    clean = _post(client, auth, "c01.wav", {"mrn": "MRN-1", "dialect": "en-NZ"})
    noisy = _post(client, auth, "c05.wav")
    corrupt = _post(client, auth, "corrupt.wav", {"mrn": "MRN-2", "dialect": "en-NZ"})
    jobs = {j.id: j for j in run_jobs([clean, noisy, corrupt], timeout=600)}
    assert jobs[clean].status == "succeeded", jobs[clean].error_message
    assert jobs[noisy].status == "succeeded", jobs[noisy].error_message
    assert jobs[corrupt].status == "dead" and jobs[corrupt].error_code == "audio_unreadable"

    # The job result carries the signals (the API's view of the job).
    a = client.get(f"/v1/jobs/{clean}", headers=auth).json()["result"]["asr"]
    b = client.get(f"/v1/jobs/{noisy}", headers=auth).json()["result"]["asr"]
    assert a["dialect"] == "en-NZ" and b["dialect"] == "en-KE"
    assert a["snr_db"] >= 40 and a["low_snr"] is False and "low_snr" not in a["quality_flags"]
    assert 8 <= b["snr_db"] < 15 and b["low_snr"] is True and "low_snr" in b["quality_flags"]
    assert a["hallucination_suspected"] is False and 0.5 < a["speech_ratio"] <= 1.0
    mv = a["model_version"]
    assert mv.endswith("/cpu-int8") and b["model_version"] == mv

    # /metrics: the quality series per model version x dialect.
    after = client.get("/metrics").text

    def delta(name: str, **labels: str) -> float:
        return (sample(after, name, **labels) or 0.0) - (sample(before, name, **labels) or 0.0)

    for dialect in ("en-NZ", "en-KE"):
        labels = {"model_version": mv, "dialect": dialect}
        assert delta("carepipe_asr_jobs_total", **labels) == 1
        assert delta("carepipe_asr_rtf_by_dialect_count", **labels) == 1
        assert delta("carepipe_asr_processing_seconds_count", **labels) == 1
        assert delta("carepipe_asr_confidence_count", **labels) == 1
        assert delta("carepipe_asr_snr_db_count", **labels) == 1
        assert delta("carepipe_asr_speech_ratio_count", **labels) == 1
    snr_nz = delta("carepipe_asr_snr_db_sum", model_version=mv, dialect="en-NZ")
    assert snr_nz == pytest.approx(a["snr_db"], abs=0.01)
    assert delta("carepipe_asr_low_snr_total", model_version=mv, dialect="en-KE") == 1
    assert delta("carepipe_asr_low_snr_total", model_version=mv, dialect="en-NZ") == 0
    # The timeout series exists at 0 from the first recording (the spike alert's base).
    assert sample(after, "carepipe_asr_failures_total", model_version=mv, dialect="en-NZ",
                  reason="timeout") is not None  # fmt: skip
    # The unreadable recording counts as a failure of its dialect (counted per attempt).
    failed = delta(
        "carepipe_asr_failures_total", model_version=mv, dialect="en-NZ", reason="audio_unreadable"
    )
    assert failed >= 1
    # The low-SNR recording is logged as an audio quality issue: figures, no words.
    logged = capsys.readouterr()
    issues = [
        line for line in (logged.out + logged.err).splitlines() if "asr.quality_issue" in line
    ]
    assert len(issues) == 1 and "en-KE" in issues[0] and "low_snr" in issues[0]
    assert "blood pressure" not in issues[0].lower()
    # The existing per-model series keep their labels (dashboards and alerts use them).
    assert delta("carepipe_asr_rtf_count", model_version=mv) == 2

    # The console page shows both series from the database, for an ML engineer.
    previous = users.use_password_hasher(FAST_HASHER)
    try:
        make_user(db, "mia", "ml_engineer")
        make_user(db, "cleo", "clinician")
    finally:
        users.use_password_hasher(previous)
    sign_in(client, "mia")
    page = client.get("/console/model-quality")
    assert page.status_code == 200, page.text[:300]
    assert mv in page.text and "en-NZ" in page.text and "en-KE" in page.text
    # Two series, and the unreadable recording's job (dead before any transcript: no model
    # version or dialect in its result) as a failure of "unknown".
    assert page.text.count('data-testid="mq-row"') == 3
    assert "<code>unknown</code></td><td>unknown</td>" in " ".join(page.text.split())
    assert "<polyline" in page.text or "<circle" in page.text
    client.post("/console/logout", data={"csrf_token": sign_in(client, "mia")})
    client.cookies.clear()
    sign_in(client, "cleo")
    assert client.get("/console/model-quality").status_code == 403
