"""Parse HL7 v2 ADT (A01/A04/A08) and ORU (R01) messages into typed results.

``python-hl7`` splits the message; this module checks structure and required
fields and extracts typed values. For any input at all, the only exceptions
that leave ``parse_message`` are ``Hl7Malformed`` and ``Hl7Unsupported``, and
their messages name segment/field positions only, never values (PHI).
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

import hl7

from carepipe.core.errors import Hl7Malformed, Hl7Unsupported
from carepipe.interop.hl7.escape import Delimiters, unescape
from carepipe.interop.hl7.messages import (
    Address,
    AdtMessage,
    CodedValue,
    Location,
    Observation,
    ObservationRequest,
    OruMessage,
    ParsedMessage,
    PatientIdentifier,
    PatientInfo,
    PersonName,
    Provider,
    Telecom,
    Visit,
)
from carepipe.interop.hl7.normalize import normalize
from carepipe.interop.hl7.timestamps import TimestampError, hl7_to_iso

PARSER_VERSION = "1"
MODEL_VERSION = f"{PARSER_VERSION}+python-hl7-{hl7.__version__}"

SUPPORTED_VERSIONS = ("2.3", "2.3.1", "2.4", "2.5", "2.5.1")
SUPPORTED_EVENTS = frozenset({("ADT", "A01"), ("ADT", "A04"), ("ADT", "A08"), ("ORU", "R01")})

# HL7 table 0357 (message error condition codes), used in ERR segments of NAKs.
ERR_SEGMENT_SEQUENCE = "100"
ERR_REQUIRED_FIELD_MISSING = "101"
ERR_DATA_TYPE = "102"
ERR_UNSUPPORTED_MESSAGE_TYPE = "200"
ERR_UNSUPPORTED_EVENT = "201"
ERR_UNSUPPORTED_VERSION = "203"
ERR_INTERNAL = "207"

_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{2}", re.ASCII)
_CODE = re.compile(r"[A-Z0-9_]{1,10}", re.ASCII)
_VERSION = re.compile(r"\d\.\d{1,2}(\.\d{1,2})?", re.ASCII)
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)", re.ASCII)

Reps = list[list[list[str]]]  # repetitions -> components -> subcomponents


# --- errors -----------------------------------------------------------------------------------


def _safe_code(value: str | None) -> str:
    """A message type / trigger fit for an error message: only code-shaped values are echoed."""
    return value if value and _CODE.fullmatch(value) else "?"


def _malformed(
    message: str,
    *,
    segment: str | None = None,
    field: int | None = None,
    index: int | None = None,
    hl7_error: str = ERR_REQUIRED_FIELD_MISSING,
) -> Hl7Malformed:
    details: dict[str, Any] = {"hl7_error": hl7_error}
    if segment:
        details["segment"] = segment
    if field is not None:
        details["field"] = field
    if index is not None:
        details["segment_index"] = index
    return Hl7Malformed(message, details=details)


def _unsupported(message: str, hl7_error: str, segment: str = "MSH") -> Hl7Unsupported:
    return Hl7Unsupported(message, details={"hl7_error": hl7_error, "segment": segment})


# --- delimiters and raw field access ----------------------------------------------------------


def read_delimiters(text: str) -> Delimiters:
    """Delimiters from MSH-1/MSH-2 of normalized text; ``Hl7Malformed`` if they are unusable."""
    bad = _malformed(
        "MSH-1/MSH-2: invalid encoding characters", segment="MSH", field=2, hl7_error=ERR_DATA_TYPE
    )
    if len(text) < 9 or not text.startswith("MSH"):
        raise bad
    fs = text[3]
    end = text.find(fs, 4)
    seg_end = text.find("\r")
    if end < 0 or (0 <= seg_end < end):
        raise bad
    enc = text[4:end]
    chars = fs + enc
    if len(enc) not in (4, 5) or len(set(chars)) != len(chars):
        raise bad
    for ch in chars:
        if ch.isalnum() or not ch.isprintable() or ch.isspace():
            raise bad
    return Delimiters(
        field=fs, component=enc[0], repetition=enc[1], escape=enc[2], subcomponent=enc[3]
    )


class _Reader:
    """Field access over python-hl7's tree with the message's delimiters.

    python-hl7 only nests where a separator occurs, so a field is either
    ``Field([str])`` or ``Field([Repetition([Component([str, ...]), ...]), ...])``
    (and a repetition may likewise be ``Repetition([str])``). ``reps`` flattens
    both shapes to lists of repetitions of components of subcomponents.
    """

    __slots__ = ("d",)

    def __init__(self, d: Delimiters) -> None:
        self.d = d

    @staticmethod
    def reps(seg: Any, n: int) -> Reps:
        if n >= len(seg):
            return []
        f = seg[n]
        if len(f) == 1 and isinstance(f[0], str):
            s = f[0]
            return [[[s]]] if s else []
        out: Reps = []
        for r in f:
            if isinstance(r, str):
                rep = [[r]]
            elif len(r) == 1 and isinstance(r[0], str):
                rep = [[r[0]]]
            else:
                rep = [[c] if isinstance(c, str) else list(c) for c in r]
            if any(s for comp in rep for s in comp):
                out.append(rep)
        return out

    def leaf(self, s: str) -> str | None:
        # '""' is HL7's explicit null ("delete this value").
        if not s or s == '""':
            return None
        if self.d.escape in s:
            s = unescape(s, self.d)
        s = s.strip()
        return s or None

    def c(self, rep: list[list[str]], i: int, s: int = 1) -> str | None:
        if i > len(rep):
            return None
        comp = rep[i - 1]
        if s > len(comp):
            return None
        return self.leaf(comp[s - 1])

    def first(self, seg: Any, n: int, i: int = 1, s: int = 1) -> str | None:
        reps = self.reps(seg, n)
        return self.c(reps[0], i, s) if reps else None

    def text(self, rep: list[list[str]]) -> str | None:
        """A whole repetition as text (for ST/TX/FT values that contain unescaped delimiters)."""
        comps = [self.d.subcomponent.join(comp) for comp in rep]
        while comps and not comps[-1]:
            comps.pop()
        return self.leaf(self.d.component.join(comps))

    def ts(
        self, seg: Any, n: int, seg_id: str, index: int, *, date_only: bool = False
    ) -> str | None:
        value = self.first(seg, n)
        if value is None:
            return None
        try:
            return hl7_to_iso(value, date_only=date_only)
        except TimestampError:
            raise _malformed(
                f"{seg_id}-{n} (segment {index}): invalid date/time",
                segment=seg_id,
                field=n,
                index=index,
                hl7_error=ERR_DATA_TYPE,
            ) from None

    # --- composite data types ----------------------------------------------------------------

    def ce(self, rep: list[list[str]]) -> CodedValue:
        c = self.c
        return CodedValue(
            code=c(rep, 1),
            text=c(rep, 2),
            system=c(rep, 3),
            alt_code=c(rep, 4),
            alt_text=c(rep, 5),
            alt_system=c(rep, 6),
        )

    def xcn(self, rep: list[list[str]]) -> Provider:
        c = self.c
        return Provider(
            id=c(rep, 1),
            family=c(rep, 2),
            given=c(rep, 3),
            prefix=c(rep, 6),
            assigning_authority=c(rep, 9),
        )


# --- segments ---------------------------------------------------------------------------------


def _patient(r: _Reader, pid: Any, index: int) -> PatientInfo:
    c = r.c
    identifiers: list[PatientIdentifier] = []
    # PID-3 is the identifier list; PID-2 only as a fallback for old 2.3 senders.
    for field_no in (3, 2):
        for rep in r.reps(pid, field_no):
            value = c(rep, 1)
            if value is None:
                continue
            identifiers.append(
                PatientIdentifier(
                    value=value,
                    assigning_authority=c(rep, 4, 1),
                    authority_universal_id=c(rep, 4, 2),
                    authority_universal_id_type=c(rep, 4, 3),
                    identifier_type=c(rep, 5),
                    assigning_facility=c(rep, 6, 1),
                )
            )
        if identifiers:
            break
    if not identifiers:
        raise _malformed(
            f"PID-3 (segment {index}): no patient identifier", segment="PID", field=3, index=index
        )
    names = tuple(
        PersonName(
            family=c(rep, 1, 1),
            given=c(rep, 2),
            middle=c(rep, 3),
            suffix=c(rep, 4),
            prefix=c(rep, 5),
            name_type=c(rep, 7),
        )
        for rep in r.reps(pid, 5)
    )
    addresses = tuple(
        Address(
            street=c(rep, 1, 1),
            other=c(rep, 2),
            city=c(rep, 3),
            state=c(rep, 4),
            postal_code=c(rep, 5),
            country=c(rep, 6),
            address_type=c(rep, 7),
        )
        for rep in r.reps(pid, 11)
    )
    telecoms: list[Telecom] = []
    for field_no, kind in ((13, "home"), (14, "business")):
        for rep in r.reps(pid, field_no):
            value = c(rep, 1) or c(rep, 4) or c(rep, 12)
            if value is None and c(rep, 7):
                # XTN-5..8: country code, area code, local number, extension.
                country = c(rep, 5)
                parts = [f"+{country.lstrip('+')}" if country else None, c(rep, 6), c(rep, 7)]
                value = " ".join(p for p in parts if p)
                ext = c(rep, 8)
                if ext:
                    value += f" x{ext}"
            if value:
                telecoms.append(
                    Telecom(value=value, use=c(rep, 2), equipment=c(rep, 3), kind=kind)  # type: ignore[arg-type]
                )
    return PatientInfo(
        identifiers=tuple(identifiers),
        names=names,
        birth_date=r.ts(pid, 7, "PID", index, date_only=True),
        sex=r.first(pid, 8),
        addresses=addresses,
        telecoms=tuple(telecoms),
    )


def _visit(r: _Reader, pv1: Any, index: int) -> Visit:
    loc_reps = r.reps(pv1, 3)
    location = None
    if loc_reps:
        rep = loc_reps[0]
        location = Location(
            point_of_care=r.c(rep, 1),
            room=r.c(rep, 2),
            bed=r.c(rep, 3),
            facility=r.c(rep, 4, 1),
            building=r.c(rep, 7),
            floor=r.c(rep, 8),
        )
    att = r.reps(pv1, 7)
    return Visit(
        patient_class=r.first(pv1, 2),
        location=location,
        attending=r.xcn(att[0]) if att else None,
        visit_number=r.first(pv1, 19),
        admit_time=r.ts(pv1, 44, "PV1", index),
        discharge_time=r.ts(pv1, 45, "PV1", index),
    )


def _set_id(r: _Reader, seg: Any) -> int | None:
    value = r.first(seg, 1)
    return int(value) if value and value.isdigit() and len(value) < 10 else None


def _notes(r: _Reader, nte: Any) -> str | None:
    lines = [t for rep in r.reps(nte, 3) if (t := r.text(rep))]
    return "\n".join(lines) if lines else None


_CODED_TYPES = frozenset({"CE", "CWE", "CNE", "CF"})
_TIME_TYPES = frozenset({"TS", "DTM", "DT"})


def _observation(r: _Reader, obx: Any, index: int, notes: list[str]) -> Observation:
    code_reps = r.reps(obx, 3)
    code = r.ce(code_reps[0]) if code_reps else None
    if code is None or not (code.code or code.text):
        raise _malformed(
            f"OBX-3 (segment {index}): observation identifier missing",
            segment="OBX",
            field=3,
            index=index,
        )
    value_type = (r.first(obx, 2) or "").upper() or None
    values: list[str] = []
    numeric: float | None = None
    comparator: str | None = None
    coded: CodedValue | None = None
    for rep in r.reps(obx, 5):
        display: str | None
        if value_type in _CODED_TYPES:
            cv = r.ce(rep)
            coded = coded or cv
            display = cv.display
        elif value_type == "SN":
            comp, num1, sep, num2 = r.c(rep, 1), r.c(rep, 2), r.c(rep, 3), r.c(rep, 4)
            display = "".join(p for p in (comp, num1, sep, num2) if p) or None
            if not values:
                comparator = comp if comp and comp != "=" else None
                if num1 and not sep and not num2 and _NUMBER.fullmatch(num1):
                    numeric = float(num1)
        elif value_type in _TIME_TYPES:
            display = r.text(rep)
            if display:
                # Kept as sent if not a valid date: a result value, not a field we rely on.
                with contextlib.suppress(TimestampError):
                    display = hl7_to_iso(display)
        else:
            display = r.text(rep)
            if value_type == "NM" and not values and display and _NUMBER.fullmatch(display):
                numeric = float(display)
        if display:
            values.append(display)
    unit_reps = r.reps(obx, 6)
    units = r.ce(unit_reps[0]) if unit_reps else None
    return Observation(
        segment_index=index,
        set_id=_set_id(r, obx),
        value_type=value_type,
        code=code,
        sub_id=r.first(obx, 4),
        values=tuple(values),
        numeric_value=numeric,
        comparator=comparator,
        coded_value=coded,
        units=units,
        reference_range=r.first(obx, 7),
        abnormal_flags=tuple(f for rep in r.reps(obx, 8) if (f := r.c(rep, 1))),
        result_status=r.first(obx, 11),
        observation_time=r.ts(obx, 14, "OBX", index),
        notes=tuple(notes),
    )


def _request(
    r: _Reader, obr: Any, index: int, observations: list[Observation], notes: list[str]
) -> ObservationRequest:
    service_reps = r.reps(obr, 4)
    service = r.ce(service_reps[0]) if service_reps else None
    if service is None or not (service.code or service.text):
        raise _malformed(
            f"OBR-4 (segment {index}): universal service identifier missing",
            segment="OBR",
            field=4,
            index=index,
        )
    prov = r.reps(obr, 16)
    return ObservationRequest(
        segment_index=index,
        set_id=_set_id(r, obr),
        placer_order_number=r.first(obr, 2),
        filler_order_number=r.first(obr, 3),
        service=service,
        observation_time=r.ts(obr, 7, "OBR", index),
        ordering_provider=r.xcn(prov[0]) if prov else None,
        results_time=r.ts(obr, 22, "OBR", index),
        result_status=r.first(obr, 25),
        observations=tuple(observations),
        notes=tuple(notes),
    )


# --- message ----------------------------------------------------------------------------------


def _split(raw: bytes | str) -> tuple[str, Delimiters, list[str]]:
    """Normalize, check delimiters and segment ids; return text, delimiters, segment ids."""
    text = normalize(raw)
    if not text:
        raise _malformed("empty message", segment="MSH", hl7_error=ERR_SEGMENT_SEQUENCE)
    head = text[:3]
    if head in ("FHS", "BHS"):
        raise _unsupported(
            "HL7 batch or file (FHS/BHS) not supported: send one message per frame",
            ERR_UNSUPPORTED_MESSAGE_TYPE,
        )
    if head != "MSH":
        raise _malformed(
            "MSH segment missing: a message must start with MSH",
            segment="MSH",
            hl7_error=ERR_SEGMENT_SEQUENCE,
        )
    d = read_delimiters(text)
    ids: list[str] = []
    for i, seg in enumerate(text.split("\r")):
        sid = seg[:3]
        if not _SEGMENT_ID.fullmatch(sid) or (len(seg) > 3 and seg[3] != d.field):
            raise _malformed(
                f"segment {i}: invalid segment id", index=i, hl7_error=ERR_SEGMENT_SEQUENCE
            )
        if sid == "MSH" and i:
            raise _unsupported(
                "more than one MSH segment: batches are not supported",
                ERR_UNSUPPORTED_MESSAGE_TYPE,
            )
        ids.append(sid)
    return text, d, ids


def _header(r: _Reader, msh: Any, kind: str = "header") -> ParsedMessage:
    first = r.first
    mtype, trigger = first(msh, 9, 1), first(msh, 9, 2)
    if not mtype:
        raise _malformed("MSH-9: message type missing", segment="MSH", field=9)
    control_id = first(msh, 10)
    if not control_id:
        raise _malformed("MSH-10: message control id missing", segment="MSH", field=10)
    version = first(msh, 12)
    if not version:
        raise _malformed("MSH-12: version id missing", segment="MSH", field=12)
    if version not in SUPPORTED_VERSIONS:
        shown = version if _VERSION.fullmatch(version) else "?"
        raise _malformed(
            f"MSH-12: unsupported version {shown} (supported: {', '.join(SUPPORTED_VERSIONS)})",
            segment="MSH",
            field=12,
            hl7_error=ERR_UNSUPPORTED_VERSION,
        )
    mtype = mtype.upper()
    trigger = trigger.upper() if trigger else None
    if (mtype, trigger) not in SUPPORTED_EVENTS:
        if trigger is None and mtype in ("ADT", "ORU"):
            raise _malformed("MSH-9.2: trigger event missing", segment="MSH", field=9)
        known_type = any(t == mtype for t, _ in SUPPORTED_EVENTS)
        raise _unsupported(
            f"message type {_safe_code(mtype)}^{_safe_code(trigger)} not supported",
            ERR_UNSUPPORTED_EVENT if known_type else ERR_UNSUPPORTED_MESSAGE_TYPE,
        )
    try:
        message_time = hl7_to_iso(first(msh, 7) or "")
    except TimestampError:
        message_time = None  # MSH-7 is informational; we never reject a message for it
    return ParsedMessage(
        kind=kind,
        message_type=mtype,
        trigger_event=trigger or "",
        message_structure=first(msh, 9, 3),
        control_id=control_id,
        version=version,
        processing_id=first(msh, 11),
        message_time=message_time,
        sending_application=first(msh, 3),
        sending_facility=first(msh, 4),
        receiving_application=first(msh, 5),
        receiving_facility=first(msh, 6),
        model_version=MODEL_VERSION,
    )


def _header_kwargs(h: ParsedMessage) -> dict[str, Any]:
    return {
        "message_type": h.message_type,
        "trigger_event": h.trigger_event,
        "message_structure": h.message_structure,
        "control_id": h.control_id,
        "version": h.version,
        "processing_id": h.processing_id,
        "message_time": h.message_time,
        "sending_application": h.sending_application,
        "sending_facility": h.sending_facility,
        "receiving_application": h.receiving_application,
        "receiving_facility": h.receiving_facility,
        "model_version": h.model_version,
    }


def _only_pid(ids: list[str], event: str) -> int:
    pids = [i for i, sid in enumerate(ids) if sid == "PID"]
    if not pids:
        raise _malformed(f"PID segment missing ({event})", segment="PID")
    if len(pids) > 1:
        if event.startswith("ORU"):
            raise _unsupported(
                "ORU^R01 with more than one patient (PID) not supported",
                ERR_UNSUPPORTED_EVENT,
                segment="PID",
            )
        raise _malformed(
            f"more than one PID segment ({event})",
            segment="PID",
            index=pids[1],
            hl7_error=ERR_SEGMENT_SEQUENCE,
        )
    return pids[0]


def _adt(r: _Reader, msg: Any, ids: list[str], h: ParsedMessage) -> AdtMessage:
    pid_i = _only_pid(ids, h.event)
    pv1_i = next((i for i, sid in enumerate(ids) if sid == "PV1"), None)
    return AdtMessage(
        **_header_kwargs(h),
        patient=_patient(r, msg[pid_i], pid_i),
        visit=_visit(r, msg[pv1_i], pv1_i) if pv1_i is not None else None,
    )


def _oru(r: _Reader, msg: Any, ids: list[str], h: ParsedMessage) -> OruMessage:
    pid_i = _only_pid(ids, h.event)
    pv1_i: int | None = None
    orders: list[ObservationRequest] = []
    # The OBR being collected: its index, OBX results so far, its own notes.
    obr_i: int | None = None
    obr_notes: list[str] = []
    observations: list[Observation] = []
    pending_obx: tuple[int, list[str]] | None = None  # OBX waiting for its NTEs

    def flush_obx() -> None:
        nonlocal pending_obx
        if pending_obx is not None:
            idx, notes = pending_obx
            observations.append(_observation(r, msg[idx], idx, notes))
            pending_obx = None

    def flush_obr() -> None:
        nonlocal obr_i, obr_notes, observations
        flush_obx()
        if obr_i is not None:
            orders.append(_request(r, msg[obr_i], obr_i, observations, obr_notes))
        obr_i, obr_notes, observations = None, [], []

    for i, sid in enumerate(ids):
        if sid == "PV1" and pv1_i is None and obr_i is None:
            pv1_i = i
        elif sid == "OBR":
            flush_obr()
            obr_i = i
        elif sid == "OBX":
            if obr_i is None:
                raise _malformed(
                    f"segment {i}: OBX before any OBR",
                    segment="OBX",
                    index=i,
                    hl7_error=ERR_SEGMENT_SEQUENCE,
                )
            flush_obx()
            pending_obx = (i, [])
        elif sid == "NTE":
            note = _notes(r, msg[i])
            if note is None:
                continue
            if pending_obx is not None:
                pending_obx[1].append(note)
            elif obr_i is not None:
                obr_notes.append(note)
            # NTEs before the first OBR are patient/order comments: not kept.
    flush_obr()
    if not orders:
        raise _malformed("OBR segment missing (ORU^R01)", segment="OBR")
    return OruMessage(
        **_header_kwargs(h),
        patient=_patient(r, msg[pid_i], pid_i),
        visit=_visit(r, msg[pv1_i], pv1_i) if pv1_i is not None else None,
        orders=tuple(orders),
    )


def _parse(raw: bytes | str, header_only: bool) -> ParsedMessage:
    text, d, ids = _split(raw)
    r = _Reader(d)
    if header_only:
        # Only MSH goes through python-hl7: the cheap check a listener can afford.
        return _header(r, hl7.parse(text.split("\r", 1)[0])[0])
    msg = hl7.parse(text)
    if len(msg) != len(ids):  # python-hl7 disagrees with our segmentation: don't guess
        raise _malformed("unreadable segment structure", hl7_error=ERR_SEGMENT_SEQUENCE)
    h = _header(r, msg[0])
    if h.message_type == "ADT":
        return _adt(r, msg, ids, h)
    return _oru(r, msg, ids, h)


def _guarded(raw: bytes | str, header_only: bool) -> ParsedMessage:
    try:
        return _parse(raw, header_only)
    except (Hl7Malformed, Hl7Unsupported):
        raise
    except Exception:  # the contract: nothing else leaves the parser
        # ``from None``: a foreign exception's text may quote message content.
        raise _malformed("unreadable HL7 message", hl7_error=ERR_INTERNAL) from None


def parse_message(raw: bytes | str) -> AdtMessage | OruMessage:
    """Parse one HL7 v2 message (bytes or text, optionally MLLP-framed).

    Returns an ``AdtMessage`` (ADT^A01/A04/A08) or an ``OruMessage`` (ORU^R01).
    Raises ``Hl7Malformed`` (bad structure, missing required segment/field,
    unsupported version, bad date) or ``Hl7Unsupported`` (other message types,
    batches, multi-patient ORU), and nothing else, for any input. ``details``
    on the error holds the HL7 error code (table 0357) and the position.
    """
    result = _guarded(raw, header_only=False)
    assert isinstance(result, AdtMessage | OruMessage)
    return result


def parse_header(raw: bytes | str) -> ParsedMessage:
    """Check and read only MSH (cheap): what a listener needs to accept or reject a message.

    Raises like ``parse_message`` for MSH problems and unsupported types, but
    does not look at PID/PV1/OBR/OBX. ``kind`` is ``"header"``.
    """
    return _guarded(raw, header_only=True)
