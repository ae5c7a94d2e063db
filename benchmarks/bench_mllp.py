"""HL7 over MLLP, end to end: messages/s from send to ACK, each message durably queued first.

A CarePipe MLLP listener (the same ``start_mllp`` as ``carepipe up``) on SQLite in a
temp dir receives ADT^A04 messages from an MLLP client in another process; ``AA``
comes back only after the raw message is archived and its job queued. Baseline in
the same run: bare ``hl7.parse`` of the same messages (the floor any listener
pays), and the same client against an MLLP echo server that ACKs without storing
(the cost of framing and the socket).

    .venv/bin/python benchmarks/bench_mllp.py [--messages 3000] [--window 20]

Target: >= 500 messages/s on SQLite with 2 cores. Writes benchmarks/results/mllp.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import hl7

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "mllp.json"
TARGET = 500.0


def message(i: int) -> bytes:
    return (
        f"MSH|^~\\&|HIS|CITYHOSP|CAREPIPE|CP|20260301090000||ADT^A04^ADT_A01|B{i:07d}|P|2.5.1\r"
        f"PID|1||MRN{i}^^^CITYHOSP^MR~12345678{i % 1000000:06d}^^^ABDM^ABHA||Rao^Anita||19800101|F\r"
        "PV1|1|O|OPD^1^1\r"
    ).encode()


def client(port: int, n: int, window: int) -> dict[str, float]:
    """Run in a separate process: send n messages, count AA."""
    from carepipe.interop.hl7.ack import parse_ack
    from carepipe.interop.hl7.mllp import send_messages_sync

    msgs = [message(i) for i in range(n)]
    t = time.perf_counter()
    acks = send_messages_sync("127.0.0.1", port, msgs, window=window, timeout=60)
    elapsed = time.perf_counter() - t
    ok = sum(1 for a in acks if parse_ack(a).code == "AA")
    return {"seconds": elapsed, "acked": ok, "per_s": ok / elapsed}


def serve(kind: str, data_dir: str, ready: str) -> None:
    """Run in a separate process: the CarePipe listener, or an echo listener."""
    from carepipe.interop.hl7.mllp import AckDecision, MllpServerThread, sync_handler

    if kind == "carepipe":
        from carepipe.core.blobs import blob_store_from_settings
        from carepipe.core.config import Settings
        from carepipe.core.db import Database
        from carepipe.core.migrate import upgrade
        from carepipe.pipelines.catalog import load_pipelines
        from carepipe.pipelines.hl7_intake import start_mllp

        s = Settings(data_dir=Path(data_dir), mllp_port=0, _env_file=None)  # type: ignore[call-arg]
        load_pipelines()
        upgrade(s.resolved_database_url)
        server = start_mllp(s, Database(s.resolved_database_url), blob_store_from_settings(s))
    else:
        server = MllpServerThread(
            "127.0.0.1", 0, sync_handler(lambda raw, peer: AckDecision.accept())
        )
        server.start()
    Path(ready).write_text(str(server.port))
    while True:
        time.sleep(3600)


def _run(kind: str, n: int, window: int, tmp: Path) -> dict[str, float]:
    ready = tmp / f"{kind}.port"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "CAREPIPE_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, str(tmp / kind), str(ready)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        port = int(ready.read_text())
        client(port, 100, window)  # warm-up
        out = subprocess.run(
            [sys.executable, __file__, "--client", str(port), str(n), str(window)],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        proc.kill()
        proc.wait(10)


def main() -> int:
    if sys.argv[1:2] == ["--serve"]:
        serve(*sys.argv[2:5])
        return 0
    if sys.argv[1:2] == ["--client"]:
        port, n, window = (int(x) for x in sys.argv[2:5])
        print(json.dumps(client(port, n, window)))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=3000)
    ap.add_argument("--window", type=int, default=20, help="messages in flight per connection")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="carepipe-bench-mllp-"))
    try:
        msgs = [message(i).decode() for i in range(args.messages)]
        t = time.perf_counter()
        for m in msgs:
            hl7.parse(m)
        bare_parse = args.messages / (time.perf_counter() - t)
        echo = _run("echo", args.messages, args.window, tmp)
        ours = _run("carepipe", args.messages, args.window, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = [
        ["CarePipe MLLP (archive + queue, then AA)", f"{ours['per_s']:.0f}", ours["acked"]],
        ["echo MLLP server (AA, stores nothing)", f"{echo['per_s']:.0f}", echo["acked"]],
        ["bare hl7.parse (no I/O)", f"{bare_parse:.0f}", args.messages],
    ]
    print(f"\nHL7 over MLLP, {args.messages} ADT^A04, window {args.window}\n")
    print(f"{'system':<44}{'msg/s':>8}{'acked':>8}")
    for r in rows:
        print(f"{r[0]:<44}{r[1]:>8}{r[2]:>8}")
    met = ours["per_s"] >= TARGET and ours["acked"] == args.messages
    print(f"\ntarget >= {TARGET:.0f} msg/s durably queued: {'met' if met else 'MISSED'}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps(
            {
                "benchmark": "mllp",
                "title": "HL7 over MLLP: send -> ACK after archive + queue (SQLite), beside an echo server "
                "and bare hl7.parse",
                "table": {"columns": ["system", "msg/s", "acked"], "rows": rows},
                "targets": {"messages_per_s": TARGET},
                "targets_met": {"messages_per_s": met},
                "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
            },
            indent=2,
        )
    )
    print(f"wrote {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
