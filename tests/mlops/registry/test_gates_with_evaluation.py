"""The staging gate on figures from a real evaluation (``/v1/evaluations``, the rules note
engine on the committed scribe transcripts: seconds), with the built-in ``note-rules`` in
production as the baseline the evaluation compares against. Proves the registry reads what
the evaluation writes (``metrics["recall"]``, ``comparison_vs_production``)."""

from __future__ import annotations

import time

from carepipe.core.auth import SYSTEM
from carepipe.mlops.builtin import ensure_builtin_models
from tests.mlops.registry.conftest import note_config


def _evaluate(client, headers, version):
    r = client.post("/v1/evaluations", headers=headers, json={"version": version})
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ev = client.get(f"/v1/evaluations/{r.json()['id']}", headers=headers).json()
        if ev["status"] != "running":
            assert ev["status"] == "done", ev
            return ev
        time.sleep(0.2)
    raise AssertionError("evaluation did not finish")


def test_staging_gate_reads_a_real_evaluation_and_its_comparison(client, people, db, blobs):
    with db.transaction() as s:
        ensure_builtin_models(s, SYSTEM, blobs)
    body = {"name": "note-tuned", "kind": "note"}
    assert client.post("/v1/models", headers=people.dana, json=body).status_code == 201
    r = client.post(
        "/v1/models/note-tuned/versions",
        headers=people.dana,
        json={
            "format": "rules-note-config",
            "artifact_base64": note_config(note_engine="rules"),
        },
    )
    assert r.status_code == 201, r.text
    baseline = _evaluate(client, people.dana, "note-rules@champion")
    candidate = _evaluate(client, people.dana, "note-tuned@1")
    recall = candidate["metrics"]["recall"]
    assert recall == baseline["metrics"]["recall"]

    rev = client.get("/v1/models/note-tuned/versions/1", headers=people.eve).json()["revision"]
    r = client.post(
        "/v1/models/note-tuned/versions/1/promote",
        headers=people.eve,
        json={"to_stage": "staging", "expected_revision": rev},
    )
    assert r.status_code == 200, r.text
    by_name = {c["name"]: c for c in r.json()["checks"]}
    # The figure is the evaluation's (the rules engine finds every fact of the reference
    # transcripts: 60 of 60); the verdict is its comparison with production.
    assert by_name["recall_min"] == {
        "name": "recall_min", "passed": True, "figure": recall, "limit": ">= 0.8",
        "message": f"recall {recall:g} on {candidate['eval_set']} meets >= 0.8",
    }  # fmt: skip
    assert recall >= 0.8 and candidate["metrics"]["facts"] == 60
    regression = by_name["no_regression_vs_production"]
    assert regression["figure"] == "no significant difference" and regression["passed"] is True
    assert "note-rules@1" in regression["message"]
    assert r.json()["version"]["stage"] == "staging"
