"""How an archived payload is shown to people: its structure masked, or revealed.

Masking keeps what a reader needs to see why a message failed (HL7 segments and
field positions, JSON keys and nesting, where text was cut off) and hides every
value, which may be PHI. ``render_payload`` only renders: the permission check
and the audit event of a reveal are the caller's (``carepipe.ops.dlq``).
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any, Literal

from pydantic import Field, computed_field

from carepipe.ops.views import View

MASK = "•••"


class Hl7FieldView(View):
    pos: str = Field(description="Segment and field number, e.g. PID-3.")
    value: str = Field(description="The value, or its structure with every value masked.")


class Hl7SegmentView(View):
    id: str
    fields: list[Hl7FieldView]


class PayloadView(View):
    """The archived message as people read it: masked (structure, no values) unless
    ``revealed``."""

    kind: Literal["hl7", "json", "text", "audio", "image", "pdf", "binary"]
    content_type: str
    size_bytes: int
    sha256: str
    revealed: bool
    can_reveal: bool
    filename: str | None
    hl7_segments: list[Hl7SegmentView] = []
    json_text: str | None = None
    text: str | None = None
    summary: str = ""
    note: str | None = Field(
        None,
        description="Why the view is not what the content type promised "
        "(e.g. JSON that does not parse).",
    )
    # Revealed binary media only; the API sends it as ``content_base64``.
    content: bytes | None = Field(None, exclude=True, repr=False)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def content_base64(self) -> str | None:
        """Revealed binary content (audio, image, PDF, bytes), base64-encoded."""
        return base64.b64encode(self.content).decode() if self.content is not None else None


_HL7_TYPES = ("x-application/hl7-v2+er7", "application/hl7-v2", "text/hl7")
# HL7 fields that describe the message itself, not the patient: kept when masking.
_HL7_KEEP = {("MSH", 1), ("MSH", 2), ("MSH", 9), ("MSH", 10), ("MSH", 11), ("MSH", 12)}
_SEGMENT_RE = re.compile(r"^[A-Z][A-Z0-9]{2}$")


def classify(content_type: str, raw: bytes) -> str:
    """hl7, json, text, audio, image, pdf or binary: how the payload is shown."""
    base = content_type.split(";", 1)[0].strip().lower()
    if base in _HL7_TYPES or raw.lstrip()[:4] == b"MSH|":
        return "hl7"
    if base.startswith("audio/"):
        return "audio"
    if base.startswith("image/"):
        return "image"
    if base == "application/pdf":
        return "pdf"
    if base == "application/json" or base.endswith("+json"):
        return "json"
    if base.startswith("text/"):
        return "text"
    try:
        json.loads(raw)
        return "json"
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        pass
    try:
        raw.decode("utf-8")
        return "text"
    except UnicodeDecodeError:
        return "binary"


def _mask_value(value: str, seps: str) -> str:
    """Keep the component/repetition separators (structure), hide every value."""
    if not value:
        return ""
    parts = re.split(f"([{re.escape(seps)}])", value)
    return "".join(p if (p in seps and len(p) == 1) else (MASK if p else "") for p in parts)


def render_hl7(text: str, *, masked: bool) -> list[dict[str, Any]]:
    """Segment by segment, field by field (``PID-3``), values masked unless revealed."""
    segments: list[dict[str, Any]] = []
    lines = [ln for ln in re.split(r"\r\n|\r|\n", text) if ln.strip()]
    field_sep = "|"
    comp_seps = "^~\\&"
    if lines and lines[0].startswith("MSH") and len(lines[0]) > 8:
        field_sep = lines[0][3]
        comp_seps = lines[0][4:8]
    for line in lines:
        parts = line.split(field_sep)
        seg_id = parts[0][:3] if _SEGMENT_RE.match(parts[0][:3]) else "???"
        fields = []
        # MSH-1 is the field separator itself, MSH-2 the encoding characters.
        values = [field_sep, *parts[1:]] if seg_id == "MSH" else parts[1:]
        for i, value in enumerate(values, start=1):
            if value == "":
                continue
            keep = (seg_id, i) in _HL7_KEEP
            shown = value if (not masked or keep) else _mask_value(value, comp_seps)
            fields.append({"pos": f"{seg_id}-{i}", "value": shown})
        segments.append({"id": seg_id, "fields": fields})
    return segments


def mask_json(value: Any) -> Any:
    """Keys and shape kept; every scalar value replaced (null stays null)."""
    if isinstance(value, dict):
        return {k: mask_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_json(v) for v in value]
    if value is None:
        return None
    return MASK


# Tokens of JSON-looking text: strings (closed or cut off), numbers and literals,
# punctuation, whitespace, and anything else as one run.
_JSON_TOKEN = re.compile(
    r'(?P<str>"(?:[^"\\]|\\.)*(?:"|$))'
    r"|(?P<lit>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)"
    r"|(?P<punct>[{}\[\]:,])"
    r"|(?P<ws>\s+)"
    r'|(?P<other>[^"{}\[\]:,\s]+)'
)
_KEY_LIKE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,63}$")


def mask_json_text(text: str) -> str:
    """Mask text that should have been JSON but does not parse.

    Like ``mask_json``: the structure stays (brackets, colons, commas, line breaks,
    ``null``) and so do object keys that look like identifiers (``"pipeline":``);
    every value, and anything unrecognisable, becomes ``•••``. Where the text was
    cut off stays visible, which is usually why it failed.
    """
    out: list[str] = []
    tokens = list(_JSON_TOKEN.finditer(text))
    for i, m in enumerate(tokens):
        kind, value = m.lastgroup, m.group()
        if kind in ("punct", "ws") or value == "null":
            out.append(value)
        elif kind == "str":
            nxt = next((t for t in tokens[i + 1 :] if t.lastgroup != "ws"), None)
            inner = value[1:-1] if value.endswith('"') and len(value) > 1 else value[1:]
            is_key = nxt is not None and nxt.group() == ":" and value.endswith('"')
            if is_key and _KEY_LIKE.match(inner):
                out.append(value)
            else:
                out.append('"' + MASK + ('"' if value.endswith('"') and len(value) > 1 else ""))
        else:
            out.append(MASK)
    return "".join(out)


def _json_error(raw: bytes) -> str:
    """Why ``raw`` is not JSON, without quoting any of it."""
    try:
        json.loads(raw)
    except json.JSONDecodeError as exc:
        return f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
    except UnicodeDecodeError:
        return "not UTF-8 text"
    except RecursionError:
        return "nested too deeply to display"
    except ValueError:
        return "not valid JSON"
    return ""


def _human_size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"


def render_payload(
    raw: bytes,
    *,
    content_type: str,
    sha256: str,
    filename: str | None,
    reveal: bool,
    can_reveal: bool,
) -> PayloadView:
    """``raw`` as people read it: masked unless ``reveal`` (the caller checked and audited)."""
    kind = classify(content_type, raw)
    view: dict[str, Any] = {
        "kind": kind,
        "content_type": content_type,
        "size_bytes": len(raw),
        "sha256": sha256,
        "revealed": reveal,
        "can_reveal": can_reveal,
        "filename": filename if reveal else (MASK if filename else None),
    }
    masked = not reveal
    if kind == "hl7":
        text = raw.decode("utf-8", errors="replace")
        view["hl7_segments"] = render_hl7(text, masked=masked)
        view["summary"] = f"HL7 v2, {len(view['hl7_segments'])} segments"
    elif kind == "json":
        try:
            doc = json.loads(raw)
            view["json_text"] = json.dumps(
                mask_json(doc) if masked else doc, indent=2, ensure_ascii=False, sort_keys=False
            )
            view["summary"] = f"JSON, {_human_size(len(raw))}"
        except (ValueError, RecursionError):
            view.update(_not_json(content_type, raw, masked=masked))
    elif kind == "text":
        text = raw.decode("utf-8", errors="replace")
        view["summary"] = f"text, {len(text.splitlines())} lines, {len(text)} characters"
        view["text"] = text if reveal else None
    else:
        view["summary"] = f"{kind}, {content_type}, {_human_size(len(raw))}"
        if reveal:
            view["content"] = raw
    return PayloadView.model_validate(view)


def _not_json(content_type: str, raw: bytes, *, masked: bool) -> dict[str, Any]:
    """Declared JSON but not JSON (the ``validation_failed`` letters people need to read):
    shown as text (masked keeps the structure) or, if it is not even UTF-8, as bytes."""
    reason = _json_error(raw)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return {
            "kind": "binary",
            "note": f"Declared {content_type} but not valid JSON ({reason}): shown as bytes.",
            "summary": f"binary, {_human_size(len(raw))}",
            "content": None if masked else raw,
        }
    return {
        "kind": "text",
        "note": f"Declared {content_type} but not valid JSON ({reason}): shown as text.",
        "summary": f"text, {len(text.splitlines())} lines, {len(text)} characters",
        "text": text if not masked else mask_json_text(text),
    }


def pid3(raw: bytes) -> tuple[str, str] | None:
    """(MRN, assigning authority) of the first PID-3 repetition, or None."""
    for seg in render_hl7(raw.decode("utf-8", errors="replace"), masked=False):
        if seg["id"] != "PID":
            continue
        for f in seg["fields"]:
            if f["pos"] == "PID-3":
                comps = f["value"].split("~", 1)[0].split("^")
                authority = comps[3].split("&", 1)[0] if len(comps) > 3 else ""
                return comps[0], authority
    return None
