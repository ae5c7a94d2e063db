"""One settings object. Defaults are the embedded set-up; production changes URLs, not code."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """All configuration, read from ``CAREPIPE_*`` environment variables (or ``.env``)."""

    model_config = SettingsConfigDict(env_prefix="CAREPIPE_", env_file=".env", extra="ignore")

    env: str = Field("dev", description="Environment name; appears in API keys (cpk_<env>_...).")
    data_dir: Path = Path("var")
    database_url: str = Field(
        "", description="SQLAlchemy URL. Empty: SQLite file under data_dir (embedded default)."
    )
    blob_url: str = Field(
        "", description="file:///path or s3://bucket/prefix. Empty: data_dir/blobs."
    )
    s3_endpoint_url: str | None = None
    blob_encryption_key: SecretStr | None = Field(
        None, description="Base64 32-byte key for PHI at rest. Empty: generated into data_dir."
    )

    # API
    host: str = "127.0.0.1"
    port: int = 8000
    max_payload_bytes: int = 25 * 1024 * 1024
    api_key_cache_seconds: float = Field(
        2.0, description="How long a verified API key is remembered (revocation delay)."
    )
    # API key rotation (issue 16, docs/api-keys.md); tenants may override the first two.
    api_key_grace_hours: float = Field(
        24.0,
        gt=0,
        description="How long a replaced key keeps working after its successor is "
        "activated; then the scheduler revokes it.",
    )
    api_key_rotation_days: int = Field(
        90,
        gt=0,
        description="A partner's active key is due for rotation this long after its "
        "activation (quarterly by default).",
    )
    api_key_usage_flush_seconds: float = Field(
        60.0,
        ge=0,
        description="How often a key's last use and request count are written (counted in "
        "memory in between; 0 writes on every request).",
    )
    key_webhook_url: str | None = Field(
        None,
        description="Notified (JSON POST) when a revoked or expired API key is used; empty: "
        "no notifications.",
    )
    public_url: str = ""
    api_max_inflight: int = Field(
        16,
        description="Requests under /v1 at work at once; more wait (below), then get 503. "
        "0 turns admission control off.",
    )
    api_admission_wait_seconds: float = Field(
        0.25, description="How long a request may wait for a free slot before 503 overloaded."
    )

    # Workers and the queue
    worker_concurrency: int = 2
    queues: str = Field("", description="Comma-separated queues to work; empty means all.")
    lease_seconds: float = 60.0
    heartbeat_seconds: float = 15.0
    max_attempts: int = 5
    retry_base_seconds: float = 2.0
    retry_max_seconds: float = 600.0
    poll_interval_seconds: float = 1.0
    shutdown_grace_seconds: float = 30.0

    # Pipelines and engines
    emr_fhir_url: str | None = None
    emr_timeout_seconds: float = 30.0
    asr_engine: str = "faster-whisper"
    asr_model: str = ""
    asr_url: str | None = None
    asr_api_key: SecretStr | None = None
    asr_beam_size: int = Field(5, description="Whisper beam size (5: better WER, ~same speed).")
    asr_cpu_threads: int = 2
    asr_prompt: str = Field(
        "", description="'clinical' primes Whisper with common drug names; or any prompt text."
    )
    asr_timeout_seconds: float = 120.0
    # Scribe ASR accuracy (issue 11): biasing, per-tenant vocabulary, confidence.
    asr_hotwords: str = Field(
        "", description="Comma-separated words Whisper should favour in every recording."
    )
    asr_contextual_pass: bool = Field(
        True, description="Decode twice, the second time biased to drugs heard the first time."
    )
    asr_rescore_slots: bool = Field(
        True,
        description="Rescore drug slots by forced alignment on the loaded Whisper model: "
        "proposals become 'rescored' corrections that need review (docs/scribe.md).",
    )
    asr_vocabulary_dir: Path | None = Field(
        None, description="Per-tenant vocabularies: <dir>/<tenant>.txt, one term per line."
    )
    scribe_confidence_threshold: float = Field(
        0.9, description="Note items under this calibrated confidence are flagged for review."
    )
    # --- Model quality monitoring and ASR device (issue 14, docs/monitoring.md) ---
    asr_device: str = Field(
        "auto",
        description="auto | cpu | cuda: where faster-whisper runs (int8 on CPU, float16 on "
        "GPU). auto picks cuda only when CTranslate2 sees a CUDA device.",
    )
    asr_low_snr_db: float = Field(
        10.0, description="Recordings with an SNR estimate under this many dB are low-SNR."
    )
    asr_wer_baseline: str = Field(
        "0.15",
        description="Expected WER per ASR model version for the WER drift alert: a number, "
        "or 'model-version-prefix=0.1,...' with an optional bare default.",
    )
    llm_timeout_seconds: float = 60.0
    note_engine: str = "rules"
    llm_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_api_key: SecretStr | None = None
    ocr_engine: str = "tesseract"
    ocr_max_pages: int = 20
    ocr_dpi: int | None = Field(None, description="Rasterisation DPI for PDFs (engine default).")
    ocr_language: str = "eng"
    ocr_threads: int | None = None
    # --- OCR documents (issue 12) ---
    ocr_date_order: str = Field(
        "DMY",
        description="Day/month order of printed dates when neither the document nor the "
        "tenant's settings ('date_order') decide: DMY or MDY.",
    )
    orders_engine: str = "rules"
    # --- orders (issue 12) ---
    orders_formulary_dir: Path | None = Field(
        None,
        description="Tenant formularies: <tenant>.json or <tenant>.csv (name, code, system, "
        "display) coding ordered medications instead of RxNorm. Empty: RxNorm only.",
    )
    review_tenants: str = Field("", description="Tenants whose scribe notes need review.")
    # --- Clinician review (issue 14, docs/review.md) ---
    review_deadline_minutes: int = Field(
        1440, ge=1, description="A held note is overdue this many minutes after it was held."
    )
    review_default_dialect: str = Field(
        "en-IN",
        description="Dialect recorded with a correction when neither the job context nor "
        "the tenant's settings name one.",
    )
    # --- Model registry and serving (issue 15, docs/models.md) ---
    model_cache_size: int = Field(
        2, ge=1, description="Engines (loaded model versions) a worker keeps in memory."
    )
    model_serving_refresh_seconds: float = Field(
        2.0,
        gt=0,
        description="How long a worker trusts its copy of the deployments before reading "
        "them again: the longest a new deployment or a rollback takes to reach it.",
    )
    model_webhook_url: str | None = Field(
        None,
        description="Notified (JSON POST) of promotions, deployments, canary decisions, "
        "rollbacks and drift events; empty: no notifications.",
    )
    pipeline_modules: str = Field("", description="Extra pipeline modules to import.")

    # MLLP
    mllp_host: str = "127.0.0.1"
    mllp_port: int = 2575
    mllp_tenant: str = Field("default", description="Tenant of messages arriving over MLLP.")
    # --- HL7 v2 / MLLP (issue 9) ---
    mllp_max_message_bytes: int = Field(
        25 * 1024 * 1024,
        description="Largest MLLP frame accepted (a lab PDF fits); larger ones get AR and are "
        "archived as rejected (their first mllp_oversized_keep_bytes, size and SHA-256).",
    )
    mllp_oversized_keep_bytes: int = Field(
        1024 * 1024, description="How much of an oversized MLLP frame the archive keeps."
    )
    mllp_max_in_flight: int = Field(
        64,
        description="MLLP messages in flight per listener; beyond it connections stop "
        "reading (TCP backpressure) until ACKs go out.",
    )
    hl7_utc_offset: str = Field(
        "+05:30", description="UTC offset of HL7 senders' local times that carry no offset."
    )

    # Audit log: keyed hash chain and signed checkpoints (issue 10, docs/security.md)
    audit_hmac_key: SecretStr | None = Field(
        None, description="Base64 32-byte audit chain key. Empty: generated into data_dir."
    )
    audit_hmac_old_keys: SecretStr | None = Field(
        None, description="Comma-separated base64 retired audit keys (verification only)."
    )
    audit_checkpoint_dir: Path | None = Field(
        None, description="Append-only audit checkpoint log. Empty: data_dir/audit-checkpoints."
    )
    audit_checkpoint_interval_seconds: float = Field(
        60.0, description="How often `carepipe up` writes an audit checkpoint."
    )

    # --- Secrets store for outbound credentials (issue 16, docs/secrets.md) ---
    secrets_kek: SecretStr | None = Field(
        None,
        description="Base64 32-byte key-encryption key of the secrets store. Empty: "
        "secrets_kek_file, else generated into data_dir/secrets/kek.key.",
    )
    secrets_kek_file: Path | None = Field(
        None, description="File holding the base64 secrets KEK (used when secrets_kek is empty)."
    )
    secrets_old_kek_file: Path | None = Field(
        None,
        description="The previous KEK, read only, while a KEK rotation is rolled out to every "
        "host (docs/secrets.md); remove it after `carepipe secrets rewrap`.",
    )
    secrets_cache_seconds: float = Field(
        30.0,
        ge=0,
        description="How long a worker keeps a secret:// value before reading the store "
        "again: the longest a new secret version takes to reach it.",
    )
    emr_auth_token: SecretStr | None = Field(
        None,
        description="Bearer token sent to the EMR's FHIR server; may be secret://<name> "
        "(as may any other credential setting). Empty: no Authorization header.",
    )

    # --- Feature flags (issue 16, docs/flags.md) ---
    flags_cache_seconds: float = Field(
        30.0,
        gt=0,
        le=300,
        description="Longest a process evaluates flags from a snapshot not confirmed "
        "current (hard ceiling; changes normally arrive within flags_poll_seconds).",
    )
    flags_poll_seconds: float = Field(
        1.0,
        gt=0,
        description="How often each process reads flag_state.revision (PostgreSQL also "
        "notifies at once).",
    )
    # OpenFeature provider and OFREP endpoints (issue 16, docs/openfeature.md).
    flags_ofrep_max_age: int = Field(
        60,
        ge=0,
        le=300,
        description="Cache-Control max-age (seconds) of OFREP answers: how long a remote "
        "OpenFeature SDK may reuse an evaluation (the issue caps it at 300).",
    )
    flags_count_flush_seconds: float = Field(
        10.0,
        gt=0,
        description="How often each process adds its in-memory per-minute flag evaluation "
        "counts to flag_evaluation_counts.",
    )

    # --- Backups (issue 17, docs/backups.md) ---
    backup_url: str = Field(
        "",
        description="Where backups go: a directory, file:///path, or s3://bucket/prefix "
        "(SQLite via Litestream). Empty: no backups.",
    )
    backup_sync_interval: str = Field(
        "1s", description="How often Litestream ships new WAL pages (Go duration: 1s, 10s)."
    )
    backup_blob_sync_seconds: float = Field(
        5.0,
        gt=0,
        description="How often the scheduler copies new blobs to <backup_url>/blobs (the "
        "payloads' RPO; a local blob store and a directory backup_url only).",
    )
    backup_retention: str = Field(
        "168h", description="How long Litestream keeps snapshots (Go duration)."
    )
    # PostgreSQL backups with pgBackRest (issue 17, docs/backups.md, PostgreSQL section).
    pgbackrest_stanza: str = Field("carepipe", description="pgBackRest stanza name.")
    pgbackrest_repo_path: Path | None = Field(
        None, description="pgBackRest repository directory. Empty: data_dir/pgbackrest/repo."
    )
    pgbackrest_cipher_pass: SecretStr | None = Field(
        None,
        description="Passphrase of the aes-256-cbc encrypted pgBackRest repository "
        "(required; keep a copy off the database host, see docs/backups.md).",
    )
    backup_rpo_seconds: int = Field(
        300,
        gt=0,
        description="RPO target; PostgreSQL's archive_timeout is derived from it "
        "(min(60, rpo/5) seconds).",
    )
    # Disaster-recovery drills and the maintenance fence (issue 17, docs/disaster-recovery.md).
    dr_rto_seconds: int = Field(
        7200, gt=0, description="RTO target of a drill: fence to standby passing smoke tests."
    )
    dr_drill_interval_days: int = Field(
        182,
        ge=0,
        description="Scheduled drills: one when the last is older than this (0: never "
        "scheduled); also the age at which CarePipeDrDrillOverdue fires.",
    )
    dr_owner: str = Field(
        "platform-ops",
        description="Owner given to a drill's findings (a team or a person; editable after).",
    )
    dr_work_dir: Path | None = Field(
        None, description="Where drills build their standby. Empty: data_dir/dr."
    )
    maintenance_retry_after_seconds: int = Field(
        60, gt=0, description="Retry-After of writes refused while the platform is fenced."
    )
    maintenance_poll_seconds: float = Field(
        1.0, gt=0, description="How often each process re-reads the maintenance fence."
    )

    # Console
    session_secret: SecretStr | None = None
    log_level: str = "INFO"
    log_json: bool = True

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, v: Path) -> Path:
        return v.expanduser().resolve()

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'carepipe.db'}"

    @property
    def resolved_blob_url(self) -> str:
        if self.blob_url:
            return self.blob_url
        return (self.data_dir / "blobs").as_uri()

    @property
    def queue_list(self) -> list[str]:
        return [q.strip() for q in self.queues.split(",") if q.strip()]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process settings (cached; tests build their own ``Settings`` instead)."""
    return Settings()
