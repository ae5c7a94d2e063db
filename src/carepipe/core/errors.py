"""Error types with stable codes.

Every failure that a caller or an operator can see is one of these types. The
code is stable (dashboards, alert rules and partners match on it); the message
is for people and must never contain PHI or secrets.

They are mapped once to HTTP responses (``carepipe.api.errors``) and once to
dead-letter reasons (the queue keeps ``code`` and ``message`` on the task).
"""

from __future__ import annotations

from typing import Any, ClassVar


class CarePipeError(Exception):
    """Base of all CarePipe errors.

    ``retryable`` tells the queue whether a stage failure may be tried again
    (transient) or must go straight to the dead-letter queue (permanent).
    """

    code: ClassVar[str] = "internal_error"
    http_status: ClassVar[int] = 500
    retryable: ClassVar[bool] = True

    def __init__(self, message: str | None = None, *, details: Any = None) -> None:
        self.message = message or self.default_message()
        self.details = details
        super().__init__(self.message)

    @classmethod
    def default_message(cls) -> str:
        return cls.code.replace("_", " ")

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class PermanentError(CarePipeError):
    """Bad input or a state that retrying cannot fix: goes to the DLQ at once."""

    code = "permanent_error"
    http_status = 422
    retryable = False


class TransientError(CarePipeError):
    """A failure worth retrying with backoff (timeouts, 5xx of a partner)."""

    code = "transient_error"
    http_status = 503
    retryable = True


# --- API: authentication, permissions, input ---------------------------------------------


class AuthenticationRequired(PermanentError):
    code = "auth_required"
    http_status = 401


class InvalidApiKey(PermanentError):
    code = "invalid_api_key"
    http_status = 401


class RevokedApiKey(PermanentError):
    code = "api_key_revoked"
    http_status = 401


class PermissionDenied(PermanentError):
    code = "permission_denied"
    http_status = 403


class NotFound(PermanentError):
    code = "not_found"
    http_status = 404


class Conflict(PermanentError):
    code = "conflict"
    http_status = 409


class InvalidRequest(PermanentError):
    code = "invalid_request"
    http_status = 400


class MalformedJson(InvalidRequest):
    code = "malformed_json"


class UnsupportedMediaType(PermanentError):
    code = "unsupported_media_type"
    http_status = 415


class PayloadTooLarge(PermanentError):
    code = "payload_too_large"
    http_status = 413


class UnknownPipeline(PermanentError):
    code = "unknown_pipeline"
    http_status = 422


class ValidationFailed(PermanentError):
    code = "validation_failed"
    http_status = 422


class RateLimited(PermanentError):
    code = "rate_limited"
    http_status = 429


class ArtifactNotReady(Conflict):
    """The job exists but has not produced this output (yet, or ever: it may have died)."""

    code = "not_ready"


# --- People (console sign-in) -----------------------------------------------------------


class InvalidCredentials(PermanentError):
    """Wrong username or password (one message for both, so names cannot be probed)."""

    code = "invalid_credentials"
    http_status = 401


class AccountLocked(PermanentError):
    code = "account_locked"
    http_status = 423


class PasswordChangeRequired(PermanentError):
    code = "password_change_required"
    http_status = 403


class CsrfFailed(PermanentError):
    code = "csrf_failed"
    http_status = 403


class WeakPassword(InvalidRequest):
    """A new password that fails the password policy."""

    code = "weak_password"


class LoginRequired(AuthenticationRequired):
    """Not signed in: console pages redirect to the sign-in page."""

    code = "login_required"


# --- Operations ---------------------------------------------------------------------------


class BackfillNotFinished(Conflict):
    """The report exists once every item of the backfill has been processed."""

    code = "backfill_not_finished"


class BackfillStateConflict(Conflict):
    """The action does not apply to the backfill's current status (e.g. resume a running one)."""

    code = "backfill_state_conflict"


# --- Audit log (issue 10: keyed chain and checkpoints) ------------------------------------


class AuditCheckpointRefused(Conflict):
    """The log no longer matches its previous checkpoint (or its new rows do not verify):
    signing its head would bless the tampering. Run ``carepipe audit verify``."""

    code = "audit_checkpoint_refused"


class AuditKeyFromEnvironment(InvalidRequest):
    """The audit key is set in the environment; rotate it there (docs/security.md)."""

    code = "audit_key_from_environment"


# --- Pipeline stages ----------------------------------------------------------------------


class AudioUnreadable(PermanentError):
    code = "audio_unreadable"


class ImageUnreadable(PermanentError):
    code = "image_unreadable"


class Hl7Malformed(PermanentError):
    code = "hl7_malformed"


class Hl7Unsupported(PermanentError):
    code = "hl7_unsupported"


class PatientNotFound(PermanentError):
    code = "patient_not_found"


class PatientUnidentified(PermanentError):
    """The bundle names only a stand-in patient and the tenant does not push those to the EMR."""

    code = "patient_unidentified"


class InvalidAbha(PermanentError):
    code = "invalid_abha"


class FhirInvalid(PermanentError):
    code = "fhir_invalid"


class EmrRejected(PermanentError):
    """The EMR answered 4xx: the bundle will not be accepted by retrying."""

    code = "emr_rejected"


class EmrUnavailable(TransientError):
    code = "emr_unavailable"


class EngineUnavailable(TransientError):
    """A model engine (remote LLM, remote ASR) failed in a way worth retrying."""

    code = "engine_unavailable"


class AsrModelNotFound(EngineUnavailable):
    """The configured ASR model is not on this machine.

    Retryable on purpose: the fix is operational (install the model package or
    correct ``CAREPIPE_ASR_MODEL``), after which waiting tasks go through.
    """

    code = "asr_model_not_found"


class AsrRequestRejected(PermanentError):
    """A remote ASR service refused the request for a reason other than the audio."""

    code = "asr_request_rejected"


class EngineOutputInvalid(PermanentError):
    """A model engine answered, but with output that does not fit the schema."""

    code = "engine_output_invalid"


class EngineRequestRejected(PermanentError):
    """A model service refused the request (4xx other than 408/429: bad key, unknown model)."""

    code = "engine_request_rejected"


class EngineNotConfigured(PermanentError):
    """The configured engine name is unknown, or it lacks a setting it needs (an URL)."""

    code = "engine_not_configured"


class TextUnparseable(PermanentError):
    code = "text_unparseable"


class StageTimeout(TransientError):
    code = "stage_timeout"


class WorkerCrashed(TransientError):
    """Recorded when a lease expired: the worker holding it died or hung."""

    code = "lease_expired"


class AttemptsExhausted(PermanentError):
    code = "attempts_exhausted"


# --- HL7 v2 intake (issue 9) ---------------------------------------------------------------


class Hl7ControlIdReused(PermanentError):
    """Same sender and MSH-10 as an earlier message, different content: not a duplicate."""

    code = "hl7_control_id_reused"
    http_status = 409


def error_code(exc: BaseException) -> str:
    """The stable code for any exception (unknown ones are ``internal_error``)."""
    if isinstance(exc, CarePipeError):
        return exc.code
    return "internal_error"


def is_retryable(exc: BaseException) -> bool:
    """Unknown exceptions are retried: a bug fix plus a replay beats losing data."""
    if isinstance(exc, CarePipeError):
        return exc.retryable
    return True


def safe_message(exc: BaseException) -> str:
    """A message fit for the console and logs.

    Our own errors carry PHI-free messages by contract. For foreign exceptions
    only the type name is kept: their text may quote payload content.
    """
    if isinstance(exc, CarePipeError):
        return exc.message
    return f"unexpected {type(exc).__name__}"


# --- Orders (issue 12) -------------------------------------------------------------------


class FormularyInvalid(TransientError):
    """The tenant's formulary file cannot be read. Retryable on purpose: the fix is
    operational (correct the file in ``CAREPIPE_ORDERS_FORMULARY_DIR``), after which
    waiting orders go through."""

    code = "formulary_invalid"


# --- Scribe ASR accuracy (issue 11) ------------------------------------------------------


class AsrSuspect(PermanentError):
    """The transcript failed the coverage/hallucination checks (truncated, looping, text
    over silence) and the tenant has no clinician review to catch it: it is held as a dead
    letter instead of reaching the EMR. The reasons are in ``details``; replay after review.
    """

    code = "asr_suspect"


# --- Model quality monitoring (issue 14) -------------------------------------------------


class EngineTimeout(EngineUnavailable):
    """A model engine did not answer in time. The same code as any unavailability (retried
    alike, same dead-letter reason); its own type lets monitoring count timeouts apart."""


# --- Clinician review (issue 14) ---------------------------------------------------------


class ReviewConflict(Conflict):
    """The review changed since the version the caller edited (another reviewer saved):
    nothing was overwritten; reload, look at their changes, and apply yours again."""

    code = "review_conflict"


class ReviewFlagged(Conflict):
    """Approval refused: flagged note items are still undecided (accept, edit or reject
    each first). The open item ids are in ``details``."""

    code = "review_flagged"


# --- Model registry and serving (issue 15) -----------------------------------------------


class RegistryConflict(Conflict):
    """The model, version or deployment changed since the revision the caller read (another
    promotion, alias move or deploy came first): nothing was changed; read it again."""

    code = "registry_conflict"


class PromotionBlocked(Conflict):
    """A stage gate refused the promotion. ``details.checks`` lists every check with its
    figure, its limit and whether it passed."""

    code = "promotion_blocked"


class ModelFormatInvalid(InvalidRequest):
    """The artifact is not in a format the engine kind can load. ``details.supported``
    lists the formats that are."""

    code = "model_format_invalid"
    http_status = 422


class DeploymentUnhealthy(Conflict):
    """The new deployment failed its health check (load, smoke transcription within the
    time limit) and was rolled back; ``details`` says which check and why."""

    code = "deployment_unhealthy"


# --- Secrets store (issue 16, docs/secrets.md) -------------------------------------------


class SecretNotFound(NotFound):
    """No secret of that name is stored (a ``secret://`` reference names a missing one)."""

    code = "secret_not_found"


class InvalidSecret(InvalidRequest):
    """The secret's name or value does not meet the rules (the message never quotes it)."""

    code = "invalid_secret"


class SecretKekMismatch(Conflict):
    """The key-encryption key at hand does not unwrap the stored data key: the KEK was
    changed without ``carepipe secrets rewrap``, or the wrong file is configured."""

    code = "secret_kek_mismatch"


# --- Feature flags (issue 16, docs/flags.md) ----------------------------------------------


class FlagNotFound(NotFound):
    """No flag (or no version of it) by that key."""

    code = "flag_not_found"


class FlagConflict(Conflict):
    """The flag changed since the version the caller edited (``based_on``), it exists
    already, or a change already waits for approval: nothing was changed; read it again."""

    code = "flag_conflict"


class FlagInvalid(ValidationFailed):
    """A definition or segment fails validation, or names an unknown segment or variant;
    the messages are in ``details``."""

    code = "flag_invalid"


class FourEyesRequired(PermissionDenied):
    """A change must be approved by someone other than the person who requested it."""

    code = "four_eyes_required"


class FlagsUnavailable(TransientError):
    """This process's flag snapshot is older than ``flags_cache_seconds`` and the database
    cannot be read: flag evaluations fall back to the caller's default."""

    code = "flags_unavailable"


# --- Backups and restore (issue 17, docs/backups.md) ----------------------------------------


class BackupNotConfigured(PermanentError):
    """``backup_url`` is empty, or the database has no backup backend."""

    code = "backup_not_configured"
    http_status = 409


class BackupFailed(TransientError):
    """The backup tool failed (replicate, sync or restore); its output is in ``details``."""

    code = "backup_failed"


class BackupCorrupt(PermanentError):
    """A backup does not restore to a sound database, or a backed-up blob's hash is wrong."""

    code = "backup_corrupt"


class RestoreTargetExists(PermanentError):
    """The restore target already holds a database; pass ``--force`` to overwrite it."""

    code = "restore_target_exists"
    http_status = 409


# --- Maintenance fence and disaster-recovery drills (issue 17, docs/disaster-recovery.md) ---


class UnderMaintenance(TransientError):
    """The platform is fenced (a failover or a drill): writes wait; ``Retry-After`` says
    when to try again (``details.retry_after_seconds``)."""

    code = "maintenance"
    http_status = 503


class DrillNotFound(NotFound):
    code = "drill_not_found"


class FindingNotFound(NotFound):
    code = "finding_not_found"


class DrillRunning(Conflict):
    """Another drill is running (one at a time: two would fence each other)."""

    code = "drill_running"


class StandbyFailed(TransientError):
    """The standby could not be restored or started; the tool's output is in ``details``."""

    code = "standby_failed"
