"""The database is the queue, and this package is the only code that changes it.

Task and job state (a task's status, lease and attempts; a job's status,
current stage and result) is written here and nowhere else; the one exception
is the stage handoff that ``succeed`` runs inside its own transaction.
``tests/core/test_state_writers.py`` enforces that.

One module per operation: ``enqueue``, ``jobs`` (create), ``claim``,
``outcome`` (complete, fail, release, heartbeat), ``reaper`` (expired leases),
``replay`` (one dead task), ``rerun`` (ended jobs from their first stage, and
giving them back), ``supersede`` (dead tasks a re-run replaces), ``cancel``
(ready tasks of a queue), ``resume_waiting`` (a job waiting for
review, moved on), ``control`` (pause, resume, rate limit), ``wakeup``
and ``dialect`` (what PostgreSQL and embedded SQLite do differently).
"""

from carepipe.core.queue.backoff import backoff_delay
from carepipe.core.queue.cancel import cancel_ready_tasks
from carepipe.core.queue.claim import ClaimedTask, claim
from carepipe.core.queue.control import (
    get_control,
    pause,
    remove_control,
    resume,
    set_rate_limit,
)
from carepipe.core.queue.enqueue import enqueue, enqueue_many, enqueue_returning_ids
from carepipe.core.queue.jobs import create_jobs, create_missing_jobs, job_row
from carepipe.core.queue.outcome import LeaseLost, extend_leases, fail, release, succeed
from carepipe.core.queue.reaper import reap_expired_leases
from carepipe.core.queue.replay import replay_task
from carepipe.core.queue.rerun import (
    RERUNNABLE,
    JobSnapshot,
    Rerun,
    cancel_waiting_jobs,
    rerun_jobs,
    restore_jobs,
)
from carepipe.core.queue.resume_waiting import note_waiting_result, resume_job
from carepipe.core.queue.states import JobStatus, TaskStatus
from carepipe.core.queue.supersede import restore_superseded, supersede_dead_tasks

__all__ = [
    "RERUNNABLE",
    "ClaimedTask",
    "JobSnapshot",
    "JobStatus",
    "LeaseLost",
    "Rerun",
    "TaskStatus",
    "backoff_delay",
    "cancel_ready_tasks",
    "cancel_waiting_jobs",
    "claim",
    "create_jobs",
    "create_missing_jobs",
    "enqueue",
    "enqueue_many",
    "enqueue_returning_ids",
    "extend_leases",
    "fail",
    "get_control",
    "job_row",
    "note_waiting_result",
    "pause",
    "reap_expired_leases",
    "release",
    "remove_control",
    "replay_task",
    "rerun_jobs",
    "restore_jobs",
    "restore_superseded",
    "resume",
    "resume_job",
    "set_rate_limit",
    "succeed",
    "supersede_dead_tasks",
]
