"""A real ``carepipe up`` process on an empty data directory, for tests that check what an
operator gets from ``make up`` (no .env from the repository, no inherited CAREPIPE_*)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.live_server import free_port

CAREPIPE = Path(sys.executable).with_name("carepipe")


@dataclass(frozen=True)
class UpProcess:
    base_url: str
    cwd: Path
    env: dict[str, str]
    pid: int = 0  # also its process group id (started in a new session)


def up_environment(tmp_path: Path, *, keep: tuple[str, ...] = ()) -> dict[str, str]:
    """The process environment without CAREPIPE_* settings (``keep`` names exceptions),
    with the data directory under ``tmp_path``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAREPIPE_") or k in keep}
    env["CAREPIPE_DATA_DIR"] = str(tmp_path / "var")
    return env


@contextlib.contextmanager
def carepipe_up(
    tmp_path: Path,
    *,
    ready_path: str = "/healthz",
    keep_env: tuple[str, ...] = (),
    extra_env: dict[str, str] | None = None,
    mllp_port: int | None = None,
    workers: int = 0,
) -> Iterator[UpProcess]:
    """``carepipe up --workers 0 --no-mllp`` until ``ready_path`` answers (90 s at most);
    terminated on exit. ``mllp_port`` starts the MLLP listener on that port instead;
    ``workers`` runs that many worker threads; ``extra_env`` adds settings. The process
    leads its own process group, so a test can kill it together with its children
    (Litestream)."""
    port = free_port()
    env = up_environment(tmp_path, keep=keep_env) | (extra_env or {})
    mllp = ["--no-mllp"]
    if mllp_port is not None:
        env["CAREPIPE_MLLP_PORT"] = str(mllp_port)
        mllp = ["--mllp"]
    proc = subprocess.Popen(
        [str(CAREPIPE), "up", "--workers", str(workers), *mllp, "--port", str(port)],
        cwd=tmp_path,  # no .env from the repository
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,  # the first start prints a one-time password
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"carepipe up exited: {proc.stderr.read()[-2000:]}")
            try:
                if httpx.get(base + ready_path, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "carepipe up did not answer within 90 s"
            time.sleep(0.2)
        yield UpProcess(base, tmp_path, env, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def run_cli(up: UpProcess, *args: str) -> subprocess.CompletedProcess[str]:
    """``carepipe ARGS`` with the same data directory and environment as ``up``."""
    return subprocess.run(
        [str(CAREPIPE), *args],
        cwd=up.cwd, env=up.env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
