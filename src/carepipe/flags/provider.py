"""CarePipe's OpenFeature provider: flags evaluated in-process from the ``FlagCache``.

CarePipe's own code asks flags through the OpenFeature SDK (``flag_client(db)``, a client
of the provider registered for that database), so the same call would work against any
other OpenFeature backend. Each evaluation reads the cached snapshot (no I/O), runs the
pure ``evaluate()``, and is counted twice: in the Prometheus counter
``carepipe_flag_evaluations_total{flag,variant,reason}``, and in memory per flag x variant
x minute, added to ``flag_evaluation_counts`` every ``flags_count_flush_seconds`` and at
shutdown, so the console's adoption view needs no Prometheus.
"""

from __future__ import annotations

import atexit
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from openfeature import api
from openfeature.client import OpenFeatureClient
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import FlagResolutionDetails, FlagValueType, Reason
from openfeature.hook import Hook
from openfeature.provider import AbstractProvider, Metadata
from openfeature.provider.no_op_provider import NoOpProvider
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from carepipe.core.config import get_settings
from carepipe.core.db import Database
from carepipe.core.errors import FlagsUnavailable
from carepipe.flags.cache import FlagCache, flag_cache
from carepipe.flags.evaluate import Resolution, evaluate
from carepipe.flags.models import FlagEvaluationCount
from carepipe.flags.store import LiveFlag, Snapshot
from carepipe.observability.logging import get_logger
from carepipe.observability.metrics import FLAG_EVALUATIONS

log = get_logger("carepipe.flags.provider")

NAME = "carepipe"
# The Prometheus label of a key that names no flag: callers (OFREP too) choose keys, and
# a label per unknown key would let them grow the metric without bound.
UNKNOWN_FLAG = "unknown"

# OpenFeature's requested type -> the flag kind that can answer it.
_KIND_OF = {"boolean": "boolean", "string": "string", "integer": "number", "float": "number"}


class SnapshotSource(Protocol):
    """Anything that hands out the current snapshot (``FlagCache``; a fixed one in tests)."""

    def snapshot(self) -> Snapshot:
        """The flags to evaluate now."""
        ...


def context_dict(context: EvaluationContext | None) -> dict[str, Any]:
    """An OpenFeature context as the attributes ``evaluate()`` reads (``targetingKey`` too)."""
    if context is None:
        return {}
    out = dict(context.attributes)
    if context.targeting_key:
        out["targetingKey"] = context.targeting_key
    return out


def resolve(snapshot: Snapshot, key: str, context: Mapping[str, Any]) -> Resolution:
    """Evaluate flag ``key`` of ``snapshot`` for ``context``; FLAG_NOT_FOUND when absent."""
    live = snapshot.flags.get(key)
    if live is None:
        return Resolution(None, None, "ERROR", "FLAG_NOT_FOUND", f"no flag named {key!r}")
    return evaluate(key, live.definition, context, snapshot.segments)


class EvaluationCounts:
    """Evaluations per flag x variant x minute, kept in memory until flushed."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str, int]] = Counter()
        self._lock = threading.Lock()

    def add(self, flag: str, variant: str) -> None:
        """Count one evaluation in the current minute."""
        minute = int(time.time() // 60)
        with self._lock:
            self._counts[(flag, variant, minute)] += 1

    def take(self) -> Counter[tuple[str, str, int]]:
        """Everything counted so far; the counts start again from nothing."""
        with self._lock:
            taken, self._counts = self._counts, Counter()
        return taken

    def put_back(self, counts: Counter[tuple[str, str, int]]) -> None:
        """Return counts a failed flush could not write (they are added, not lost)."""
        with self._lock:
            self._counts.update(counts)

    def flush(self, db: Database) -> int:
        """Add the counts to ``flag_evaluation_counts`` (one upsert per row); returns the
        number of rows written. On failure the counts stay for the next flush."""
        counts = self.take()
        if not counts:
            return 0
        try:
            with db.transaction() as session:
                _add_counts(session, counts)
        except Exception:
            self.put_back(counts)
            raise
        return len(counts)


def _add_counts(session: Session, counts: Mapping[tuple[str, str, int], int]) -> None:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = FlagEvaluationCount.__table__
    # Sorted: two processes flushing the same rows lock them in the same order (PostgreSQL).
    for (flag, variant, minute), n in sorted(counts.items()):
        stmt = dialect.insert(table).values(
            flag_key=flag,
            variant=variant,
            minute=datetime.fromtimestamp(minute * 60, UTC),
            count=n,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["flag_key", "variant", "minute"],
            set_={"count": table.c.count + stmt.excluded.count},
        )
        session.execute(stmt)


def _typed(kind: str, requested: str, value: Any) -> tuple[bool, Any]:
    """Whether a ``kind`` flag's ``value`` answers a ``requested`` evaluation, and the value
    as that type (a whole float answers an integer request; an int a float request)."""
    if requested == "object":
        return kind == "object", value
    if _KIND_OF[requested] != kind:
        return False, value
    if requested == "integer":
        if isinstance(value, float) and value.is_integer():
            return True, int(value)
        return isinstance(value, int) and not isinstance(value, bool), value
    if requested == "float":
        return True, float(value)
    return True, value


class CarePipeProvider(AbstractProvider):
    """An OpenFeature provider over a snapshot source (normally the process's FlagCache).

    With ``db`` the per-minute counts are flushed there by a daemon thread started in
    ``initialize`` (``set_provider_and_wait``) and stopped, after a last flush, in
    ``shutdown``.
    """

    def __init__(
        self,
        source: SnapshotSource,
        *,
        db: Database | None = None,
        flush_seconds: float = 10.0,
    ) -> None:
        super().__init__()
        self.source = source
        self.db = db
        self.flush_seconds = flush_seconds
        self.counts = EvaluationCounts()
        self._children: dict[tuple[str, str, str], Any] = {}
        self._stop = threading.Event()
        self._flusher: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------

    def get_metadata(self) -> Metadata:
        """The provider's name as OpenFeature reports it."""
        return Metadata(name=NAME)

    def get_provider_hooks(self) -> list[Hook]:
        """No provider hooks: counting happens in the resolvers."""
        return []

    def initialize(self, evaluation_context: EvaluationContext) -> None:
        """Start flushing counts (when there is a database to flush them to)."""
        if self.db is None or self._flusher is not None:
            return
        self._stop.clear()
        self._flusher = threading.Thread(
            target=self._flush_loop, name="carepipe-flag-counts", daemon=True
        )
        self._flusher.start()

    def shutdown(self) -> None:
        """Stop the flusher and write what is still counted."""
        self._stop.set()
        # OpenFeature may call this from its own thread while we do: take the thread once.
        flusher, self._flusher = self._flusher, None
        if flusher is not None:
            flusher.join(timeout=5.0)
        self.flush()

    def flush(self) -> None:
        """Write the counts now (logged, not raised, if the database is away)."""
        if self.db is None:
            return
        try:
            self.counts.flush(self.db)
        except Exception as exc:
            log.warning("flag_counts_flush_failed", error=type(exc).__name__)

    def _flush_loop(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            self.flush()

    # --- evaluation ------------------------------------------------------------------

    def evaluate(
        self, key: str, context: Mapping[str, Any], snapshot: Snapshot | None = None
    ) -> tuple[Resolution, LiveFlag | None]:
        """Resolve and count one evaluation (of ``snapshot``, else the current one); also
        returns the live flag (None: no such flag). The OFREP endpoints use this directly:
        they do not know the type the remote caller wants."""
        snapshot = snapshot or self.source.snapshot()
        live = snapshot.flags.get(key)
        resolution = resolve(snapshot, key, context)
        self.count(key if live is not None else None, resolution)
        return resolution, live

    def count(self, key: str | None, resolution: Resolution) -> None:
        """Count an evaluation of flag ``key`` (None: unknown) in both counters."""
        labels = (key or UNKNOWN_FLAG, resolution.variant or "", resolution.reason)
        child = self._children.get(labels)
        if child is None:
            # labels() builds and locks on every call; the children are few (flags x
            # variants x reasons), so each is looked up once.
            child = self._children.setdefault(labels, FLAG_EVALUATIONS.labels(*labels))
        child.inc()
        if key is not None and resolution.variant is not None:
            self.counts.add(key, resolution.variant)

    def _details(
        self, requested: str, key: str, default: Any, context: EvaluationContext | None
    ) -> FlagResolutionDetails[Any]:
        try:
            snapshot = self.source.snapshot()
        except FlagsUnavailable as exc:
            # The snapshot is too old and the database cannot be read: the caller gets
            # its default with GENERAL (the only GENERAL this provider answers).
            self.count(None, Resolution(None, None, "ERROR"))
            return FlagResolutionDetails(
                value=default, reason=Reason.ERROR, error_code=ErrorCode.GENERAL,
                error_message=str(exc),
            )  # fmt: skip
        live = snapshot.flags.get(key)
        resolution = resolve(snapshot, key, context_dict(context))
        if live is None:
            self.count(None, resolution)
            return FlagResolutionDetails(
                value=default,
                reason=Reason.ERROR,
                error_code=ErrorCode.FLAG_NOT_FOUND,
                error_message=resolution.error_message,
            )
        ok, value = _typed(live.definition.kind, requested, resolution.value)
        if not ok:
            self.count(key, Resolution(None, None, "ERROR"))  # nothing was served
            return FlagResolutionDetails(
                value=default,
                reason=Reason.ERROR,
                error_code=ErrorCode.TYPE_MISMATCH,
                error_message=f"flag {key!r} is a {live.definition.kind} flag, not {requested}",
            )
        self.count(key, resolution)
        metadata = {"version": live.version}
        if resolution.error_code is not None:
            # The flag served its default variant (e.g. a rollout without the attribute
            # it hashes on): OpenFeature gets the code, the value stays the flag's default.
            return FlagResolutionDetails(
                value=value,
                variant=resolution.variant,
                reason=Reason.ERROR,
                error_code=ErrorCode(resolution.error_code),
                error_message=resolution.error_message,
                flag_metadata=metadata,
            )
        return FlagResolutionDetails(
            value=value,
            variant=resolution.variant,
            reason=Reason(resolution.reason),
            flag_metadata=metadata,
        )

    def resolve_boolean_details(
        self,
        flag_key: str,
        default_value: bool,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[bool]:
        """A boolean flag's value for the context."""
        return self._details("boolean", flag_key, default_value, evaluation_context)

    def resolve_string_details(
        self, flag_key: str, default_value: str, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[str]:
        """A string flag's value for the context."""
        return self._details("string", flag_key, default_value, evaluation_context)

    def resolve_integer_details(
        self, flag_key: str, default_value: int, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[int]:
        """A number flag's value as an integer (TYPE_MISMATCH for a fraction)."""
        return self._details("integer", flag_key, default_value, evaluation_context)

    def resolve_float_details(
        self,
        flag_key: str,
        default_value: float,
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[float]:
        """A number flag's value as a float."""
        return self._details("float", flag_key, default_value, evaluation_context)

    def resolve_object_details(
        self,
        flag_key: str,
        default_value: Sequence[FlagValueType] | Mapping[str, FlagValueType],
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[Sequence[FlagValueType] | Mapping[str, FlagValueType]]:
        """An object (JSON) flag's value."""
        return self._details("object", flag_key, default_value, evaluation_context)


_providers: dict[int, CarePipeProvider] = {}
_providers_lock = threading.Lock()


def _domain(db: Database) -> str:
    # One OpenFeature domain per database: tests (and tools) hold several in one process.
    return f"{NAME}-{id(db):x}"


def carepipe_provider(db: Database) -> CarePipeProvider:
    """The process's provider for ``db`` (over its started ``flag_cache``), registered with
    OpenFeature under its own domain and ready; its counts are flushed at exit."""
    with _providers_lock:
        provider = _providers.get(id(db))
        if provider is None:
            provider = CarePipeProvider(
                flag_cache(db), db=db, flush_seconds=get_settings().flags_count_flush_seconds
            )
            api.set_provider_and_wait(provider, domain=_domain(db))
            _providers[id(db)] = provider
        return provider


def flag_client(db: Database) -> OpenFeatureClient:
    """An OpenFeature client whose flags come from ``db`` (what pipelines ask)."""
    carepipe_provider(db)
    return api.get_client(_domain(db))


def release_provider(db: Database) -> None:
    """Flush and forget ``db``'s provider and stop its cache's threads (a worker stopping;
    tests). The next ``carepipe_provider(db)`` starts both again."""
    with _providers_lock:
        provider = _providers.pop(id(db), None)
    if provider is not None:
        # The domain falls back to OpenFeature's no-op provider: defaults, no errors.
        api.set_provider(NoOpProvider(), domain=_domain(db))
        provider.shutdown()
        if isinstance(provider.source, FlagCache):
            # Its poller would otherwise keep reading a database nobody evaluates from.
            provider.source.stop()


@atexit.register
def _flush_all() -> None:
    # The last seconds of counts of a stopping process are written, not dropped.
    for provider in list(_providers.values()):
        provider.shutdown()
