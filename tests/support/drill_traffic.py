"""What the drill tests do to a primary before and after a drill: a partner key, jobs
answered 202 and ADTs ACKed AA (noted by id, to be found one by one on the standby),
and the check that the primary takes writes again once the drill has failed back."""

from __future__ import annotations

import subprocess
import time

import httpx

from carepipe.interop.hl7.mllp import send_messages_sync
from tests.interop.hl7.samples import adt
from tests.support.up_process import UpProcess, run_cli

# Every smoke test a drill runs against its standby (docs/disaster-recovery.md).
SMOKE_TESTS = {
    "health",
    "api_job",
    "mllp",
    "console_signin",
    "audit_verify",
    "row_counts",
    "blob_hashes",
}


def partner_key(up: UpProcess) -> str:
    """A new API key of tenant ``default``, made with ``carepipe keys create``."""
    r = run_cli(up, "keys", "create", "--tenant", "default", "--name", "drill-test")
    assert r.returncode == 0, r.stderr
    return r.stdout.strip().splitlines()[-1]


def traffic(
    up: UpProcess, mllp_port: int, key: str, *, n: int = 5, prefix: str = "DRT"
) -> tuple[list[str], list[str]]:
    """``n`` echo jobs answered 202 and ``n`` ADTs ACKed AA: (job ids, HL7 control ids)."""
    jobs, controls = [], []
    headers = {"Authorization": f"Bearer {key}"}
    for i in range(n):
        r = httpx.post(
            up.base_url + "/v1/jobs", json={"pipeline": "echo", "payload": i}, headers=headers
        )
        assert r.status_code == 202, r.text
        jobs.append(r.json()["id"])
        control = f"{prefix}{i:04d}"
        (ack,) = send_messages_sync("127.0.0.1", mllp_port, [adt(control)], timeout=10)
        assert f"MSA|AA|{control}" in ack, ack
        controls.append(control)
    return jobs, controls


def post_job(up: UpProcess, key: str) -> httpx.Response:
    """One echo job, as a partner would post it."""
    return httpx.post(
        up.base_url + "/v1/jobs",
        json={"pipeline": "echo", "payload": "after"},
        headers={"Authorization": f"Bearer {key}"},
    )


def assert_unfenced(up: UpProcess, key: str) -> None:
    """The primary takes writes again within 10 s (its processes re-read the fence every
    second)."""
    deadline = time.monotonic() + 10
    while (r := post_job(up, key)).status_code != 202:
        assert time.monotonic() < deadline, f"primary still refuses writes: {r.text}"
        time.sleep(0.2)


def run_drill(
    up: UpProcess, mllp_port: int, rpo: int, *extra: str
) -> subprocess.CompletedProcess[str]:
    """``carepipe dr drill --rpo RPO`` against ``up`` (its URL and MLLP port), plus ``extra``."""
    return run_cli(
        up, "dr", "drill", "--rpo", str(rpo), "--primary-url", up.base_url,
        "--primary-mllp-port", str(mllp_port), *extra,
    )  # fmt: skip
