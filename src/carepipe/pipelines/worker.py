"""The worker: claim tasks, run stage handlers on a thread pool, hand off or fail.

One process runs ``concurrency`` handler threads, one heartbeat thread that
extends the leases of everything in flight, a periodic reaper for leases that
expired elsewhere, and (on PostgreSQL) a LISTEN thread that wakes the claim loop.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

from carepipe.core.blobs import BlobStore
from carepipe.core.config import Settings
from carepipe.core.db import Database, mark_worker_thread
from carepipe.core.errors import error_code
from carepipe.core.maintenance.watch import fence_watch
from carepipe.core.queue import (
    ClaimedTask,
    LeaseLost,
    claim,
    extend_leases,
    fail,
    reap_expired_leases,
    release,
    succeed,
)
from carepipe.core.queue.wakeup import PgListener
from carepipe.core.secrets import resolve_settings
from carepipe.flags.provider import release_provider
from carepipe.observability.context import job_id_var
from carepipe.observability.logging import get_logger
from carepipe.observability.metrics import (
    LEASES_LOST,
    TASK_DURATION,
    TASK_WAIT,
    TASKS_TOTAL,
    WORKER_UP,
)
from carepipe.pipelines.context import StageContext
from carepipe.pipelines.handoff import make_handoff, store_artifact_content
from carepipe.pipelines.registry import get_pipeline

log = get_logger("carepipe.worker")


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"


class Worker:
    """Runs tasks from ``queues`` (None = every queue) until ``stop()``."""

    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        settings: Settings,
        *,
        queues: list[str] | None = None,
        concurrency: int | None = None,
        worker_id: str | None = None,
        prefetch: int | None = None,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self.settings = settings
        self.queues = queues or None
        self.concurrency = concurrency or settings.worker_concurrency
        self.worker_id = worker_id or default_worker_id()
        # Claim-ahead for short stages: up to ``prefetch`` tasks beyond the running
        # ones are leased in the same claim transaction (see ``_claim_room``).
        self.prefetch = self.concurrency if prefetch is None else max(0, prefetch)
        self._avg_duration: float | None = None  # moving average of handler time, s
        self._futures: dict[int, Future[None]] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._inflight: dict[int, ClaimedTask] = {}
        # Tasks whose outcome is being written: a heartbeat that races that write
        # finds them no longer leased, which is completion, not a lost lease.
        self._settling: set[int] = set()
        self._pool = ThreadPoolExecutor(
            self.concurrency, thread_name_prefix="carepipe-task", initializer=mark_worker_thread
        )
        self._threads: list[threading.Thread] = []
        self._listener: PgListener | None = None
        self.stopped = threading.Event()

    # -- control ------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def wake(self, _queue: str | None = None) -> None:
        self._wake.set()

    def start_background(self) -> threading.Thread:
        t = threading.Thread(target=self.run, name="carepipe-worker", daemon=True)
        t.start()
        return t

    # -- main loop ----------------------------------------------------------------------

    def run(self) -> None:
        """Blocking: the claim loop. Returns after ``stop()`` once in-flight work is settled."""
        mark_worker_thread()
        log.info(
            "worker.start",
            worker_id=self.worker_id,
            queues=self.queues,
            concurrency=self.concurrency,
        )
        WORKER_UP.inc(self.concurrency)
        hb = threading.Thread(target=self._heartbeat_loop, name="carepipe-heartbeat", daemon=True)
        hb.start()
        embedded = threading.Thread(target=self._embedded_wakeups, daemon=True)
        embedded.start()
        if self.db.is_postgres:
            self._listener = PgListener(self.db, self.wake)
            self._listener.start()
        last_reap = 0.0
        fence = fence_watch(self.db)
        try:
            while not self._stop.is_set():
                if fence.fenced:
                    # Maintenance fence (docs/disaster-recovery.md): no claims and no reaping
                    # while writes are paused; tasks in flight finish and record their outcome.
                    self._wake.wait(self.settings.poll_interval_seconds)
                    self._wake.clear()
                    continue
                now = time.monotonic()
                if now - last_reap > max(1.0, self.settings.lease_seconds / 4):
                    last_reap = now
                    try:
                        reap_expired_leases(
                            self.db, stall_grace=2 * self.settings.heartbeat_seconds
                        )
                    except Exception as exc:
                        log.warning("worker.reap_failed", error=type(exc).__name__)
                free = self._claim_room()
                got: list[ClaimedTask] = []
                if free > 0:
                    try:
                        got = claim(
                            self.db,
                            queues=self.queues,
                            worker_id=self.worker_id,
                            limit=free,
                            lease_seconds=self.settings.lease_seconds,
                        )
                    except Exception as exc:
                        log.warning("worker.claim_failed", error=type(exc).__name__)
                        self._stop.wait(self.settings.poll_interval_seconds)
                        continue
                    for task in got:
                        with self._lock:
                            self._inflight[task.id] = task
                            fut = self._pool.submit(self._execute, task)
                            self._futures[task.id] = fut
                        fut.add_done_callback(self._done)
                if free <= 0 or (got and len(got) == free):
                    # Slots full: wait for one to free up (``_done`` sets the event).
                    self._wake.wait(self.settings.poll_interval_seconds)
                    self._wake.clear()
                elif not got:
                    self._wake.wait(self.settings.poll_interval_seconds)
                    self._wake.clear()
        finally:
            self._shutdown()
            # Flag evaluation counts are written and the flag cache's threads end with the
            # worker (the next flag lookup on this database starts them again).
            release_provider(self.db)
            WORKER_UP.dec(self.concurrency)
            self.stopped.set()

    # Handler time under which claiming ahead pays: for stages this short the claim
    # transaction (a durable commit) costs as much as the work, so leasing a batch at
    # once amortises it. Slow stages (ASR, OCR) never prefetch: a task leased by a
    # busy worker would wait while another worker sits idle.
    PREFETCH_BELOW_SECONDS = 0.05

    def _claim_room(self) -> int:
        """How many tasks to claim now (0: wait for a slot).

        Without prefetch: the free handler slots. With it (short stages only):
        nothing while tasks are still waiting in the local buffer, then enough to
        fill the slots and the buffer in one claim.
        """
        inflight = len(self._inflight)
        avg = self._avg_duration
        if self.prefetch and avg is not None and avg < self.PREFETCH_BELOW_SECONDS:
            if inflight > self.concurrency // 2:
                return 0
            return self.concurrency + self.prefetch - inflight
        return self.concurrency - inflight

    def _embedded_wakeups(self) -> None:
        cond = self.db.wakeup
        seen = [self.db.wakeup_generation]

        def changed() -> bool:
            return self.db.wakeup_generation != seen[0] or self._stop.is_set()

        while not self._stop.is_set():
            with cond:
                cond.wait_for(changed, timeout=1.0)
                if self.db.wakeup_generation != seen[0]:
                    seen[0] = self.db.wakeup_generation
                    self._wake.set()

    def _done(self, _fut: Future[None]) -> None:
        self._wake.set()

    def _shutdown(self) -> None:
        """Graceful stop: let running handlers finish within the grace period, release the rest."""
        # Prefetched tasks that have not started go back to the queue at once.
        with self._lock:
            waiting = [
                self._inflight[tid]
                for tid, fut in list(self._futures.items())
                if tid in self._inflight and fut.cancel()
            ]
        for task in waiting:
            try:
                release(self.db, task)
            except LeaseLost:
                pass
            except Exception as exc:
                log.warning("worker.release_failed", task_id=task.id, error=type(exc).__name__)
            with self._lock:
                self._inflight.pop(task.id, None)
                self._futures.pop(task.id, None)
        deadline = time.monotonic() + self.settings.shutdown_grace_seconds
        while self._inflight and time.monotonic() < deadline:
            time.sleep(0.05)
        with self._lock:
            leftover = list(self._inflight.values())
        for task in leftover:
            try:
                release(self.db, task)
                log.info("worker.released", task_id=task.id)
            except LeaseLost:
                pass
            except Exception as exc:
                log.warning("worker.release_failed", task_id=task.id, error=type(exc).__name__)
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._listener:
            self._listener.stop()
        log.info("worker.stop", worker_id=self.worker_id)

    def _heartbeat_loop(self) -> None:
        mark_worker_thread()
        while not self._stop.wait(self.settings.heartbeat_seconds):
            with self._lock:
                tasks = list(self._inflight.values())
            try:
                lost = extend_leases(self.db, tasks, self.settings.lease_seconds)
            except Exception as exc:
                log.warning("worker.heartbeat_failed", error=type(exc).__name__)
                continue
            with self._lock:
                lost = {t for t in lost if t in self._inflight and t not in self._settling}
                queues = {t: self._inflight[t].queue for t in lost}
            for tid in lost:
                LEASES_LOST.labels(queues[tid]).inc()
                log.warning("worker.lease_lost", task_id=tid)

    # -- one task -----------------------------------------------------------------------

    def _settle(self, task: ClaimedTask) -> None:
        with self._lock:
            self._settling.add(task.id)

    def _execute(self, task: ClaimedTask) -> None:
        token = job_id_var.set(task.job_id)
        started = time.perf_counter()
        TASK_WAIT.labels(task.queue).observe(
            max(0.0, (task.claimed_at - task.run_after).total_seconds())
        )
        outcome = "done"
        try:
            pipeline = get_pipeline(task.pipeline)
            stage = pipeline.stage(task.stage)
            try:
                # secret:// settings become the stored values here (docs/secrets.md): a
                # missing secret fails the task with its code, like any stage error.
                settings = resolve_settings(self.db, self.settings)
                ctx = StageContext(db=self.db, blobs=self.blobs, settings=settings, task=task)
                output = stage.handler(ctx)
                keys = store_artifact_content(self.blobs, output)
                handoff = make_handoff(
                    pipeline, task, output, keys, default_max_attempts=self.settings.max_attempts
                )
                self._settle(task)
                succeed(self.db, task, handoff)
            except LeaseLost:
                raise
            except Exception as exc:
                self._settle(task)
                outcome = fail(
                    self.db,
                    task,
                    exc,
                    retry_base=self.settings.retry_base_seconds,
                    retry_cap=self.settings.retry_max_seconds,
                )
                outcome = "retry" if outcome == "ready" else "dead"
                log.warning(
                    "task.failed",
                    task_id=task.id,
                    stage=task.stage,
                    attempt=task.attempts,
                    code=error_code(exc),
                    outcome=outcome,
                )
        except LeaseLost:
            outcome = "lease_lost"
            log.warning("task.lease_lost", task_id=task.id)
        except Exception as exc:
            outcome = "error"
            log.error("task.outcome_failed", task_id=task.id, error=type(exc).__name__)
        finally:
            elapsed = time.perf_counter() - started
            TASK_DURATION.labels(task.queue).observe(elapsed)
            TASKS_TOTAL.labels(task.queue, outcome).inc()
            with self._lock:
                avg = self._avg_duration
                self._avg_duration = elapsed if avg is None else 0.8 * avg + 0.2 * elapsed
                self._inflight.pop(task.id, None)
                self._futures.pop(task.id, None)
                self._settling.discard(task.id)
            job_id_var.reset(token)
