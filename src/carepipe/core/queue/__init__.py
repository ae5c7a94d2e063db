"""The database is the queue (ARCHITECTURE.md, "The queue").

One module per operation: ``enqueue``, ``claim``, ``outcome`` (complete, fail,
release, heartbeat), ``reaper`` (expired leases), ``control`` (pause, resume,
rate limit), ``replay`` and ``wakeup`` (LISTEN/NOTIFY and in-process signals).
"""

from carepipe.core.queue.backoff import backoff_delay
from carepipe.core.queue.claim import ClaimedTask, claim
from carepipe.core.queue.control import get_control, pause, resume, set_rate_limit
from carepipe.core.queue.enqueue import enqueue, enqueue_many
from carepipe.core.queue.outcome import LeaseLost, extend_leases, fail, release, succeed
from carepipe.core.queue.reaper import reap_expired_leases
from carepipe.core.queue.replay import replay_task
from carepipe.core.queue.states import JobStatus, TaskStatus

__all__ = [
    "ClaimedTask",
    "JobStatus",
    "LeaseLost",
    "TaskStatus",
    "backoff_delay",
    "claim",
    "enqueue",
    "enqueue_many",
    "extend_leases",
    "fail",
    "get_control",
    "pause",
    "reap_expired_leases",
    "release",
    "replay_task",
    "resume",
    "set_rate_limit",
    "succeed",
]
