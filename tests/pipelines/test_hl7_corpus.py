"""Every committed third-party HL7 v2 sample (tests/data/hl7/third_party, SOURCES.md) over MLLP.

A real listener and a real worker on SQLite and PostgreSQL: every message we accept
ends in a validated FHIR bundle (after the patient_not_found -> map -> replay
loop for results whose patient no ADT registered); every refusal is archived,
coded and explained in its ACK and as a dead letter.
"""

from __future__ import annotations

import collections
import json

import pytest
from sqlalchemy import select

from carepipe.core.auth import SYSTEM
from carepipe.core.models import Artifact, Job, Message
from carepipe.interop.fhir.validate import validate_bundle
from carepipe.interop.hl7 import parse_message
from carepipe.interop.hl7.ack import parse_ack
from carepipe.interop.hl7.batch import is_batch
from carepipe.interop.hl7.mllp import send_messages_sync
from carepipe.interop.identity.service import upsert
from carepipe.ops.dlq import replay_dead_task
from carepipe.pipelines.hl7_intake import start_mllp
from tests.interop.hl7.samples import THIRD_PARTY
from tests.pipelines.test_hl7_batches import _acks

FILES = sorted(THIRD_PARTY.rglob("*.hl7"))
REFUSAL_CODES = {"hl7_malformed", "hl7_unsupported", "hl7_control_id_reused"}


def _infos(answer: str) -> list:
    return [
        parse_ack(a) for a in (_acks(answer) if answer.startswith(("BHS", "FHS")) else [answer])
    ]


@pytest.mark.timeout(600)
def test_every_third_party_sample_over_mllp(db, blobs, settings, run_jobs, capsys):
    assert len(FILES) >= 60
    answers = []
    # One tenant per file: the samples of one project reuse the same sender and control
    # ids across files (MSG00001 ...), which within one tenant is a reused control id.
    for i, path in enumerate(FILES):
        s = settings.model_copy(update={"mllp_port": 0, "mllp_tenant": f"corpus-{i}"})
        server = start_mllp(s, db, blobs)
        try:
            answers += send_messages_sync("127.0.0.1", server.port, [path.read_bytes()], timeout=60)
        finally:
            server.stop(grace=1.0)
    assert len(answers) == len(FILES)
    acks = [i for a in answers for i in _infos(a)]
    batches = sum(is_batch(p.read_bytes()) for p in FILES)
    with db.session() as session:
        archived = session.execute(select(Message.status)).scalars().all()
        job_ids = session.execute(select(Job.id).order_by(Job.id)).scalars().all()
    # Every message (batch members one by one) is archived; a retransmission (the same
    # message in two python-hl7 batches) is archived as a duplicate of the first job.
    assert len(archived) == len(acks)
    assert len(job_ids) == len(acks) - archived.count("duplicate")
    jobs = run_jobs(list(job_ids), timeout=300)

    # Results whose patient no ADT registered: map the MRN (as an operator would), replay.
    unknown = [j for j in jobs if j.error_code == "patient_not_found"]
    with db.transaction() as session:
        for n, job in enumerate(unknown):
            msg = session.get(Message, job.message_id)
            mrn = parse_message(blobs.get(msg.blob_key)).patient.mrn
            upsert(
                session,
                tenant=job.tenant,
                mrn=mrn.value,
                assigning_authority=mrn.assigning_authority,
                abha_number=f"{91000000000000 + n}",
                source="console",
                actor="test",
            )
        from carepipe.core.models import Task

        for job in unknown:
            task = session.execute(
                select(Task).where(Task.job_id == job.id, Task.status == "dead")
            ).scalar_one()
            replay_dead_task(session, SYSTEM, task.id, reason="corpus: mapped")
    if unknown:
        replayed = {j.id: j for j in run_jobs([j.id for j in unknown], timeout=300)}
        jobs = [replayed.get(j.id, j) for j in jobs]

    counts: collections.Counter[str] = collections.Counter()
    by_control = {a.control_id: a for a in acks}
    for job in jobs:
        with db.session() as session:
            msg = session.get(Message, job.message_id)
            bundle_row = session.execute(
                select(Artifact).where(Artifact.job_id == job.id, Artifact.kind == "fhir_bundle")
            ).scalar_one_or_none()
        if job.status == "succeeded":
            assert bundle_row is not None
            bundle = json.loads(blobs.get(bundle_row.blob_key))
            assert validate_bundle(bundle) == []
            counts["accepted: validated bundle"] += 1
            continue
        # A refusal: archived, coded, explained in the ACK the sender got.
        assert job.status == "dead" and job.error_code in REFUSAL_CODES, (job.error_code,)
        assert msg is not None and blobs.get(msg.blob_key)
        counts[f"refused: {job.error_code}"] += 1
    refused_acks = [a for a in acks if a.code != "AA"]
    assert all(a.text and a.error_code for a in refused_acks)
    assert len(refused_acks) == sum(v for k, v in counts.items() if k.startswith("refused"))
    assert counts["accepted: validated bundle"] >= 55
    assert by_control  # every ACK names the message it answers
    with capsys.disabled():
        print(
            f"\nthird-party corpus: {len(FILES)} files ({batches} batches), "
            f"{len(acks)} messages, {len(unknown)} mapped+replayed: {dict(sorted(counts.items()))}"
        )
