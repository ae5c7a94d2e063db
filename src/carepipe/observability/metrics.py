"""Prometheus metrics: the registry and every metric object CarePipe updates.

A leaf: it imports nothing of CarePipe, so any layer may count into it. Values
read from the database at scrape time (queue depth, dead letters) are collected
by ``carepipe.ops.queue_metrics``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

_LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_TASK_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)

TASKS_TOTAL = Counter(
    "carepipe_tasks_total",
    "Tasks finished, by queue and outcome.",
    ["queue", "outcome"],
    registry=REGISTRY,
)
TASK_DURATION = Histogram(
    "carepipe_task_duration_seconds",
    "Stage handler run time.",
    ["queue"],
    buckets=_TASK_BUCKETS,
    registry=REGISTRY,
)
TASK_WAIT = Histogram(
    "carepipe_task_wait_seconds",
    "Time from ready to claimed.",
    ["queue"],
    buckets=_TASK_BUCKETS,
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "carepipe_http_request_duration_seconds",
    "HTTP request latency by route template.",
    ["route", "method", "status"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
WORKER_UP = Gauge(
    "carepipe_worker_threads", "Worker threads running in this process.", registry=REGISTRY
)
ASR_RTF = Histogram(
    "carepipe_asr_rtf",
    "ASR real-time factor (processing seconds per audio second).",
    ["model_version"],
    buckets=(0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 5),
    registry=REGISTRY,
)
ASR_AUDIO_SECONDS = Counter(
    "carepipe_asr_audio_seconds",
    "Seconds of audio transcribed.",
    ["model_version"],
    registry=REGISTRY,
)
# Scribe accuracy (issue 11): transcripts failing the quality checks, post-ASR corrections.
ASR_SUSPECT = Counter(
    "carepipe_asr_suspect",
    "Transcripts that failed an ASR quality check, by reason.",
    ["model_version", "reason"],
    registry=REGISTRY,
)
ASR_CORRECTIONS = Counter(
    "carepipe_asr_corrections",
    "Changes made to transcripts before note drafting, by kind (number_form, drug_name).",
    ["kind"],
    registry=REGISTRY,
)
NOTE_ENTITIES = Counter(
    "carepipe_note_entities",
    "Entities found in drafted notes, by kind.",
    ["model_version", "kind"],
    registry=REGISTRY,
)
NOTE_LOW_CONFIDENCE = Counter(
    "carepipe_note_low_confidence_items",
    "Note items flagged low-confidence for review.",
    ["model_version"],
    registry=REGISTRY,
)
LLM_TOKENS = Counter(
    "carepipe_llm_tokens",
    "Tokens used by LLM engines.",
    ["model_version", "kind"],
    registry=REGISTRY,
)
LLM_COST = Counter(
    "carepipe_llm_cost_usd",
    "Cost of LLM engine calls in US dollars.",
    ["model_version"],
    registry=REGISTRY,
)
API_INFLIGHT = Gauge(
    "carepipe_api_inflight_requests",
    "API requests under /v1 at work now (bounded by CAREPIPE_API_MAX_INFLIGHT)",
    registry=REGISTRY,
)
API_REFUSED = Counter(
    "carepipe_api_refused_total",
    "API requests refused before any work: overloaded (503) or over a tenant's rate (429)",
    ["reason"],
    registry=REGISTRY,
)
LEASES_LOST = Counter(
    "carepipe_leases_lost_total",
    "Running tasks whose lease a worker found taken over (expired while it worked)",
    ["queue"],
    registry=REGISTRY,
)
MESSAGES_INGESTED = Counter(
    "carepipe_messages_ingested_total",
    "Raw messages archived, by source and status.",
    ["source", "status"],
    registry=REGISTRY,
)
# HL7 v2 over MLLP (issue 10 backpressure): messages being handled and the bound on them.
MLLP_IN_FLIGHT = Gauge(
    "carepipe_mllp_in_flight_messages",
    "MLLP messages read and not yet acknowledged, in this process.",
    registry=REGISTRY,
)
MLLP_IN_FLIGHT_LIMIT = Gauge(
    "carepipe_mllp_in_flight_limit",
    "Bound on MLLP messages in flight per listener (CAREPIPE_MLLP_MAX_IN_FLIGHT).",
    registry=REGISTRY,
)
MLLP_BACKPRESSURE = Counter(
    "carepipe_mllp_backpressure_waits_total",
    "Times an MLLP connection stopped reading because the in-flight bound was reached.",
    registry=REGISTRY,
)
# Audit log (issue 10): checkpoints this process attempted, and when it last wrote one.
AUDIT_CHECKPOINTS = Counter(
    "carepipe_audit_checkpoints_total",
    "Audit checkpoints by result (written, unchanged, empty, refused: the log was tampered with).",
    ["result"],
    registry=REGISTRY,
)
AUDIT_CHECKPOINT_LAST = Gauge(
    "carepipe_audit_checkpoint_last_timestamp_seconds",
    "Unix time of the last audit checkpoint this process wrote.",
    registry=REGISTRY,
)
# Model drift (issue 15): the latest effect size per deployed version and feature (the
# normalised Wasserstein distance or the Jensen-Shannon distance), and events by severity.
MODEL_DRIFT_SCORE = Gauge(
    "carepipe_model_drift_score",
    "Latest drift effect size of a feature for a deployed model version.",
    ["engine_kind", "model_version", "feature"],
    registry=REGISTRY,
)
MODEL_DRIFT_EVENTS = Counter(
    "carepipe_model_drift_events_total",
    "Drift events stored, by severity (marginal, severe).",
    ["engine_kind", "model_version", "feature", "severity"],
    registry=REGISTRY,
)
# API key rotation (issue 16): refused partner keys, counted on every refusal (the audit
# log gets one event per key per minute), and the time left until each active key is due
# for rotation (negative: overdue), set by the scheduler.
API_KEY_REJECTED = Counter(
    "carepipe_api_key_rejected_total",
    "Partner API keys refused, by tenant (unknown when no key matched) and reason "
    "(revoked, expired, staged, invalid, malformed).",
    ["tenant", "reason"],
    registry=REGISTRY,
)
API_KEY_ROTATION_DUE = Gauge(
    "carepipe_api_key_rotation_due_seconds",
    "Seconds until an active partner API key is due for rotation (negative: overdue).",
    ["tenant", "name", "key_id"],
    registry=REGISTRY,
)
# Feature flags (issue 16): every evaluation through the OpenFeature provider or OFREP.
# ``flag`` is "unknown" for keys that name no flag, so callers cannot grow the label set.
FLAG_EVALUATIONS = Counter(
    "carepipe_flag_evaluations_total",
    "Flag evaluations, by flag, variant served (empty on error) and OpenFeature reason.",
    ["flag", "variant", "reason"],
    registry=REGISTRY,
)
# Backups (issue 17, docs/backups.md): the backend's status() every 30 s, set by the
# scheduler. ``backend`` is litestream or pgbackrest, so the label set stays bounded.
# Database-wide: every process with a scheduler exports the same values (use max, not sum).
BACKUP_LAST_SUCCESS = Gauge(
    "carepipe_backup_last_success_timestamp_seconds",
    "Unix time of the newest backup (Litestream: newest replicated LTX; pgBackRest: "
    "newest full/incremental backup); 0 when there is none.",
    ["backend"],
    registry=REGISTRY,
)
BACKUP_LAG = Gauge(
    "carepipe_backup_replication_lag_seconds",
    "Seconds since the newest restorable point while changes wait to be shipped "
    "(Litestream: 0 when nothing waits; pgBackRest: since the last archived WAL segment).",
    ["backend"],
    registry=REGISTRY,
)
BACKUP_LAST_VERIFY = Gauge(
    "carepipe_backup_last_verify_timestamp_seconds",
    "Unix time of the last backup verification, sound or not; 0 when never verified.",
    ["backend"],
    registry=REGISTRY,
)
BACKUP_LAST_VERIFY_OK = Gauge(
    "carepipe_backup_last_verify_ok",
    "1 if the last backup verification found the backup sound, else 0 (also 0 when never "
    "verified).",
    ["backend"],
    registry=REGISTRY,
)
BACKUP_RPO_TARGET = Gauge(
    "carepipe_backup_rpo_target_seconds",
    "The RPO target (CAREPIPE_BACKUP_RPO_SECONDS).",
    ["backend"],
    registry=REGISTRY,
)
