"""A lean open-loop HTTP/1.1 load generator for the overload benchmark.

    python benchmarks/loadgen.py URL KEY RATE DURATION   (prints one JSON line)

Why not httpx: at 300 req/s on the same two cores, httpx's client spent so much CPU
(and its pool scans grew with every connection opened after a ``Connection: close``
refusal) that requests left the generator seconds after their scheduled time, and the
benchmark measured the generator. This one writes requests on asyncio streams (uvloop),
keeps connections alive, opens a new one only when all are busy, and times every
request from the moment it was *due* (open loop: a slow server does not slow the
offered load, and time a request spends waiting for a connection counts against the
server, never hidden). It also reports its own lag: how late requests left it.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any
from urllib.parse import urlsplit

TIMEOUT_S = 30.0
MAX_CONNECTIONS = 1024
# Below uvicorn's keep-alive timeout (5 s): a connection idle longer may be closed by
# the server just as a request is written on it, a race that is the client's to avoid.
IDLE_REUSE_S = 3.0


Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


class _Pool:
    """Keep-alive connections to one host; a new one only when every one is busy."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.idle: list[tuple[float, Conn]] = []
        self.open = 0
        self.most = 0
        self.freed = asyncio.Condition()

    async def get(self) -> Conn:
        while True:
            while self.idle:
                since, conn = self.idle.pop()
                if time.monotonic() - since < IDLE_REUSE_S and not conn[0].at_eof():
                    return conn
                conn[1].close()
                self.open -= 1
            if self.open < MAX_CONNECTIONS:
                self.open += 1
                self.most = max(self.most, self.open)
                try:
                    return await asyncio.open_connection(self.host, self.port)
                except BaseException:
                    self.open -= 1
                    raise
            async with self.freed:
                await self.freed.wait()

    async def put(self, conn: Conn | None) -> None:
        if conn is None:
            self.open -= 1
        else:
            self.idle.append((time.monotonic(), conn))
        async with self.freed:
            self.freed.notify()


async def _exchange(conn: Conn, request: bytes) -> tuple[int, bytes, bool]:
    reader, writer = conn
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    keep = True
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection" and value.strip().lower() == "close":
            keep = False
    body = await reader.readexactly(length) if length else b""
    return status, body, keep


async def run(url: str, key: str, rate: float, duration: float) -> dict[str, Any]:
    """Offer ``rate`` POSTs per second for ``duration`` seconds; latencies from due time."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    pool = _Pool(host, port)
    n = int(rate * duration)
    ok: list[float] = []
    refused: list[float] = []
    lag: list[float] = []
    other: dict[str, int] = {}

    def request(i: int) -> bytes:
        body = json.dumps({"pipeline": "echo", "payload": {"n": i, "note": "overload"}}).encode()
        return (
            f"POST {parts.path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body

    async def one(i: int, due: float) -> None:
        conn = None
        try:
            conn = await asyncio.wait_for(pool.get(), TIMEOUT_S)
            lag.append((time.monotonic() - due) * 1000.0)
            status, body, keep = await asyncio.wait_for(_exchange(conn, request(i)), TIMEOUT_S)
        except Exception as exc:  # a timeout or a reset: no answer
            other[type(exc).__name__] = other.get(type(exc).__name__, 0) + 1
            if conn is not None:
                conn[1].close()
                await pool.put(None)
            return
        ms = (time.monotonic() - due) * 1000.0
        if not keep:
            conn[1].close()
        await pool.put(conn if keep else None)
        if status == 202:
            ok.append(ms)
        elif status == 503 and b'"overloaded"' in body:
            refused.append(ms)
        else:
            other[str(status)] = other.get(str(status), 0) + 1

    start = time.monotonic() + 0.2
    tasks: set[asyncio.Task[None]] = set()
    for i in range(n):
        due = start + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        t = asyncio.create_task(one(i, due))
        tasks.add(t)
        t.add_done_callback(tasks.discard)
    while tasks:
        await asyncio.gather(*list(tasks))
    elapsed = time.monotonic() - start
    return {
        "generator": "loadgen.py (asyncio streams, uvloop)",
        "offered_rps": rate,
        "sent": n,
        "accepted": len(ok),
        "accepted_rps": round(len(ok) / elapsed, 1),
        "p50_ms": round(_pct(ok, 50), 1),
        "p99_ms": round(_pct(ok, 99), 1),
        "refused_503": len(refused),
        "refused_p99_ms": round(_pct(refused, 99), 1) if refused else None,
        "unanswered_or_other": other,
        "generator_lag_p99_ms": round(_pct(lag, 99), 1),
        "connections_most_open": pool.most,
    }


def main() -> int:
    url, key, rate, duration = sys.argv[1:5]
    try:
        import uvloop
    except ImportError:  # still correct on the default loop, only dearer
        result = asyncio.run(run(url, key, float(rate), float(duration)))
    else:
        result = uvloop.run(run(url, key, float(rate), float(duration)))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
