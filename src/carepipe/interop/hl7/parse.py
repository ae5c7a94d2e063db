"""Parse HL7 v2 messages (ADT, ORU^R01, ORM^O01, OML^O21, SIU^S12-S15, MDM^T02, VXU^V04).

``python-hl7`` splits the message; this module checks structure and required
fields and extracts typed values. For any input at all, the only exceptions
that leave ``parse_message`` are ``Hl7Malformed`` and ``Hl7Unsupported``, and
their messages name segment/field positions only, never values (PHI).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import hl7

from carepipe.core.errors import Hl7Malformed, Hl7Unsupported
from carepipe.interop.hl7.charset import decode_hl7
from carepipe.interop.hl7.escape import Delimiters
from carepipe.interop.hl7.fields import (
    ERR_DATA_TYPE,
    ERR_INTERNAL,
    ERR_SEGMENT_SEQUENCE,
    ERR_UNSUPPORTED_EVENT,
    ERR_UNSUPPORTED_MESSAGE_TYPE,
    ERR_UNSUPPORTED_VERSION,
    Reader,
    malformed,
    read_delimiters,
    safe_code,
    unsupported,
)
from carepipe.interop.hl7.messages import (
    AdtMessage,
    AppointmentInfo,
    CodedValue,
    DocumentInfo,
    DocumentMessage,
    ImmunizationInfo,
    Observation,
    ObservationRequest,
    OrderInfo,
    OrderMessage,
    OruMessage,
    ParsedMessage,
    PatientMessage,
    Provider,
    ScheduleMessage,
    VaccinationMessage,
    Visit,
)
from carepipe.interop.hl7.normalize import normalize, strip_mllp
from carepipe.interop.hl7.segments import (
    read_document_content,
    read_ei,
    read_merge,
    read_notes,
    read_observation,
    read_order,
    read_patient,
    read_request,
    read_visit,
)
from carepipe.interop.hl7.timestamps import TimestampError, hl7_to_iso

PARSER_VERSION = "2"
MODEL_VERSION = f"{PARSER_VERSION}+python-hl7-{hl7.__version__}"

SUPPORTED_VERSIONS = (
    "2.2", "2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8", "2.8.1", "2.8.2"
)  # fmt: skip
# ADT events whose PID/PV1 we map (A40 also reads MRG); the rest of chapter 3 is refused.
ADT_EVENTS = frozenset(
    {"A01", "A02", "A03", "A04", "A05", "A06", "A07", "A08", "A11", "A13", "A28", "A31", "A40"}
)
SUPPORTED_EVENTS = frozenset(
    {("ADT", e) for e in ADT_EVENTS}
    | {("ORU", "R01"), ("ORM", "O01"), ("OML", "O21"), ("MDM", "T02"), ("VXU", "V04")}
    | {("SIU", e) for e in ("S12", "S13", "S14", "S15")}
)
WARN_TRAILER = "trailing BTS/FTS segments ignored"

SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{2}", re.ASCII)
VERSION = re.compile(r"\d\.\d{1,2}(\.\d{1,2})?", re.ASCII)


# --- message ----------------------------------------------------------------------------------


def _drop_trailers(text: str, r_warnings: list[str]) -> str:
    """Text without BTS/FTS segments after the message (a batch trailer sent with one message)."""
    segs = text.split("\r")
    end = len(segs)
    while end > 1 and segs[end - 1][:3] in ("BTS", "FTS"):
        end -= 1
    if end == len(segs):
        return text
    r_warnings.append(WARN_TRAILER)
    return "\r".join(segs[:end])


def _split(
    raw: bytes | str, charset: str | None = None
) -> tuple[str, Delimiters, list[str], list[str], str | None]:
    """Decode, normalize, check delimiters and segment ids.

    Returns text, delimiters, segment ids, warnings and the charset used.
    """
    warnings: list[str] = []
    used: str | None = None
    if isinstance(raw, bytes | bytearray):
        decoded = decode_hl7(strip_mllp(bytes(raw)), charset)
        raw, used = decoded.text, decoded.charset
        warnings.extend(decoded.warnings)
    text = normalize(raw)
    if not text:
        raise malformed("empty message", segment="MSH", hl7_error=ERR_SEGMENT_SEQUENCE)
    head = text[:3]
    if head in ("FHS", "BHS"):
        raise unsupported(
            "HL7 batch or file (FHS/BHS): send it to the batch intake (MLLP or POST /v1/hl7)",
            ERR_UNSUPPORTED_MESSAGE_TYPE,
        )
    if head != "MSH":
        raise malformed(
            "MSH segment missing: a message must start with MSH",
            segment="MSH",
            hl7_error=ERR_SEGMENT_SEQUENCE,
        )
    d = read_delimiters(text)
    text = _drop_trailers(text, warnings)
    ids: list[str] = []
    for i, seg in enumerate(text.split("\r")):
        sid = seg[:3]
        if not SEGMENT_ID.fullmatch(sid) or (len(seg) > 3 and seg[3] != d.field):
            raise malformed(
                f"segment {i}: invalid segment id", index=i, hl7_error=ERR_SEGMENT_SEQUENCE
            )
        if sid == "MSH" and i:
            raise unsupported(
                "more than one MSH segment in one message: send one message per frame, "
                "or a batch with BHS/BTS",
                ERR_UNSUPPORTED_MESSAGE_TYPE,
            )
        ids.append(sid)
    return text, d, ids, warnings, used


def _header(r: Reader, msh: Any, kind: str = "header") -> ParsedMessage:
    first = r.first
    mtype, trigger = first(msh, 9, 1), first(msh, 9, 2)
    if not mtype:
        raise malformed("MSH-9: message type missing", segment="MSH", field=9)
    control_id = first(msh, 10)
    if not control_id:
        raise malformed("MSH-10: message control id missing", segment="MSH", field=10)
    version = first(msh, 12)
    if not version:
        raise malformed("MSH-12: version id missing", segment="MSH", field=12)
    if version not in SUPPORTED_VERSIONS:
        supported = f"{SUPPORTED_VERSIONS[0]}-{SUPPORTED_VERSIONS[-1]}"
        if not VERSION.fullmatch(version):
            raise malformed(
                f"MSH-12: not a version id (supported: {supported})",
                segment="MSH",
                field=12,
                hl7_error=ERR_DATA_TYPE,
            )
        raise Hl7Unsupported(
            f"MSH-12: unsupported version {version} (supported: {supported})",
            details={"hl7_error": ERR_UNSUPPORTED_VERSION, "segment": "MSH", "field": 12},
        )
    mtype = mtype.upper()
    trigger = trigger.upper() if trigger else None
    if (mtype, trigger) not in SUPPORTED_EVENTS:
        known_type = any(t == mtype for t, _ in SUPPORTED_EVENTS)
        if trigger is None and known_type:
            raise malformed("MSH-9.2: trigger event missing", segment="MSH", field=9)
        raise unsupported(
            f"message type {safe_code(mtype)}^{safe_code(trigger)} not supported",
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
        "charset": h.charset,
        "warnings": h.warnings,
        "model_version": h.model_version,
    }


def _only_pid(ids: list[str], event: str) -> int:
    pids = [i for i, sid in enumerate(ids) if sid == "PID"]
    if not pids:
        raise malformed(f"PID segment missing ({event})", segment="PID")
    if len(pids) > 1:
        if not event.startswith("ADT"):
            raise unsupported(
                f"{event} with more than one patient (PID) not supported",
                ERR_UNSUPPORTED_EVENT,
                segment="PID",
            )
        raise malformed(
            f"more than one PID segment ({event})",
            segment="PID",
            index=pids[1],
            hl7_error=ERR_SEGMENT_SEQUENCE,
        )
    return pids[0]


def _first(ids: list[str], sid: str, after: int = 0) -> int | None:
    return next((i for i in range(after, len(ids)) if ids[i] == sid), None)


def _pv1(r: Reader, msg: Any, ids: list[str]) -> Visit | None:
    i = _first(ids, "PV1")
    return read_visit(r, msg[i], i) if i is not None else None


def _adt(r: Reader, msg: Any, ids: list[str], h: ParsedMessage) -> AdtMessage:
    pid_i = _only_pid(ids, h.event)
    merge = None
    if h.trigger_event == "A40":
        mrg_i = _first(ids, "MRG", pid_i)
        if mrg_i is None:
            raise malformed("MRG segment missing (ADT^A40)", segment="MRG")
        merge = read_merge(r, msg[mrg_i], mrg_i)
    return AdtMessage(
        **_header_kwargs(h),
        patient=read_patient(r, msg[pid_i], pid_i),
        visit=_pv1(r, msg, ids),
        merge=merge,
    )


def _oru(r: Reader, msg: Any, ids: list[str], h: ParsedMessage) -> OruMessage:
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
            observations.append(read_observation(r, msg[idx], idx, notes))
            pending_obx = None

    def flush_obr() -> None:
        nonlocal obr_i, obr_notes, observations
        flush_obx()
        if obr_i is not None:
            orders.append(read_request(r, msg[obr_i], obr_i, observations, obr_notes))
        obr_i, obr_notes, observations = None, [], []

    for i, sid in enumerate(ids):
        if sid == "PV1" and pv1_i is None and obr_i is None:
            pv1_i = i
        elif sid == "OBR":
            flush_obr()
            obr_i = i
        elif sid == "OBX":
            if obr_i is None:
                raise malformed(
                    f"segment {i}: OBX before any OBR",
                    segment="OBX",
                    index=i,
                    hl7_error=ERR_SEGMENT_SEQUENCE,
                )
            flush_obx()
            pending_obx = (i, [])
        elif sid in ("SPM", "ORC", "TQ1", "TQ2", "CTI", "FT1", "CTD"):
            # Another group starts: later NTEs belong to it, not to the last OBX.
            flush_obx()
        elif sid == "NTE":
            note = read_notes(r, msg[i])
            if note is None:
                continue
            if pending_obx is not None:
                pending_obx[1].append(note)
            elif obr_i is not None:
                obr_notes.append(note)
            # NTEs before the first OBR are patient/order comments: not kept.
    flush_obr()
    if not orders:
        raise malformed("OBR segment missing (ORU^R01)", segment="OBR")
    return OruMessage(
        **_header_kwargs(h),
        patient=read_patient(r, msg[pid_i], pid_i),
        visit=read_visit(r, msg[pv1_i], pv1_i) if pv1_i is not None else None,
        orders=tuple(orders),
    )


def _orders(r: Reader, msg: Any, ids: list[str], h: ParsedMessage) -> OrderMessage:
    """ORM^O01 / OML^O21: each ORC starts an order; the OBR after it details the order."""
    pid_i = _only_pid(ids, h.event)
    orders: list[OrderInfo] = []
    orc_i: int | None = None
    obr_i: int | None = None
    tq1_i: int | None = None
    notes: list[str] = []

    def flush() -> None:
        nonlocal orc_i, obr_i, tq1_i, notes
        if orc_i is not None or obr_i is not None:
            orders.append(read_order(r, msg, orc_i, obr_i, notes, tq1_i))
        orc_i, obr_i, tq1_i, notes = None, None, None, []

    for i, sid in enumerate(ids):
        if i <= pid_i:
            continue
        if sid == "ORC":
            flush()
            orc_i = i
        elif sid in ("OBR", "RQD", "RXO", "ODS", "ODT"):
            if obr_i is not None:
                flush()  # a second detail segment without its own ORC: its own order
            if sid == "OBR":
                obr_i = i
            elif orc_i is None:
                continue
        elif sid == "TQ1" and tq1_i is None and (orc_i is not None or obr_i is not None):
            tq1_i = i
        elif (
            sid == "NTE"
            and (orc_i is not None or obr_i is not None)
            and (note := read_notes(r, msg[i])) is not None
        ):
            notes.append(note)
    flush()
    orders = [o for o in orders if o.service is not None or o.control]
    if not orders:
        raise malformed(f"ORC/OBR segment missing ({h.event})", segment="ORC")
    return OrderMessage(
        **_header_kwargs(h),
        patient=read_patient(r, msg[pid_i], pid_i),
        visit=_pv1(r, msg, ids),
        orders=tuple(orders),
    )


def _schedule(r: Reader, msg: Any, ids: list[str], h: ParsedMessage) -> ScheduleMessage:
    sch_i = _first(ids, "SCH")
    if sch_i is None:
        raise malformed(f"SCH segment missing ({h.event})", segment="SCH")
    pid_i = _only_pid(ids, h.event)
    sch = msg[sch_i]
    start = r.ts_lenient(sch, 11, "SCH", 4)
    end = r.ts_lenient(sch, 11, "SCH", 5)
    tq1_i = _first(ids, "TQ1", sch_i)
    if tq1_i is not None and start is None:
        start = r.ts_lenient(msg[tq1_i], 7, "TQ1")
        end = end or r.ts_lenient(msg[tq1_i], 8, "TQ1")
    services: list[CodedValue] = []
    locations: list[str] = []
    practitioners: list[Provider] = []
    notes: list[str] = []
    for i, sid in enumerate(ids):
        seg = msg[i]
        if sid == "AIS" and (service := r.coded(seg, 3)) is not None:
            services.append(service)
        elif sid == "AIL" and (reps := r.reps(seg, 3)):
            loc = r.text(reps[0][:4])
            if loc:
                locations.append(" ".join(p for p in loc.split(r.d.component) if p))
        elif sid == "AIP" and (reps := r.reps(seg, 3)):
            practitioners.append(r.xcn(reps[0]))
        elif sid == "NTE" and i < pid_i and (note := read_notes(r, seg)) is not None:
            notes.append(note)
        if sid in ("AIS", "AIG", "AIL", "AIP") and start is None:
            # The resource's start (AIS-4, else AIG/AIL/AIP-6) when SCH-11 and TQ1 give none.
            start = r.ts_lenient(seg, 4 if sid == "AIS" else 6, sid)
    status = r.first(sch, 25)
    return ScheduleMessage(
        **_header_kwargs(h),
        patient=read_patient(r, msg[pid_i], pid_i),
        visit=_pv1(r, msg, ids),
        appointment=AppointmentInfo(
            placer_id=read_ei(r, sch, 1),
            filler_id=read_ei(r, sch, 2),
            event_reason=r.coded(sch, 6),
            reason=r.coded(sch, 7),
            appointment_type=r.coded(sch, 8),
            duration=r.first(sch, 9),
            duration_units=r.first(sch, 10),
            start=start,
            end=end,
            filler_status=status,
            services=tuple(services),
            locations=tuple(locations),
            practitioners=tuple(practitioners),
            notes=tuple(notes),
        ),
    )


def _document(r: Reader, msg: Any, ids: list[str], h: ParsedMessage) -> DocumentMessage:
    pid_i = _only_pid(ids, h.event)
    txa_i = _first(ids, "TXA")
    if txa_i is None:
        raise malformed(f"TXA segment missing ({h.event})", segment="TXA")
    txa = msg[txa_i]
    contents = [
        c for i, sid in enumerate(ids) if sid == "OBX" and (c := read_document_content(r, msg[i]))
    ]
    if not contents:
        raise malformed(
            "OBX missing: MDM^T02 carries the document in OBX-5 (TX, FT, ST or Base64 ED)",
            segment="OBX",
            field=5,
        )
    return DocumentMessage(
        **_header_kwargs(h),
        patient=read_patient(r, msg[pid_i], pid_i),
        visit=_pv1(r, msg, ids),
        document=DocumentInfo(
            document_type=r.coded(txa, 2),
            presentation=r.first(txa, 3),
            activity_time=r.ts_lenient(txa, 4, "TXA"),
            origination_time=r.ts_lenient(txa, 6, "TXA"),
            authors=tuple(r.xcn(rep) for rep in r.reps(txa, 9)),
            unique_number=read_ei(r, txa, 12),
            file_name=r.first(txa, 16),
            completion_status=(r.first(txa, 17) or "").upper() or None,
            availability=(r.first(txa, 19) or "").upper() or None,
            contents=tuple(contents),
        ),
    )


def _vaccination(r: Reader, msg: Any, ids: list[str], h: ParsedMessage) -> VaccinationMessage:
    pid_i = _only_pid(ids, h.event)
    items: list[ImmunizationInfo] = []
    orc_i: int | None = None
    for i, sid in enumerate(ids):
        if sid == "ORC":
            orc_i = i
        elif sid == "RXA":
            rxa = msg[i]
            vaccine = r.coded(rxa, 5)
            if vaccine is None:
                raise malformed(
                    f"RXA-5 (segment {i}): administered code missing",
                    segment="RXA",
                    field=5,
                    index=i,
                )
            if r.first(rxa, 3) is None:
                raise malformed(
                    f"RXA-3 (segment {i}): administration date/time missing",
                    segment="RXA",
                    field=3,
                    index=i,
                )
            rxr_i = i + 1 if i + 1 < len(ids) and ids[i + 1] == "RXR" else None
            rxr = msg[rxr_i] if rxr_i is not None else None
            orc = msg[orc_i] if orc_i is not None else None
            items.append(
                ImmunizationInfo(
                    segment_index=i,
                    placer_order_number=read_ei(r, orc, 2) if orc is not None else None,
                    filler_order_number=read_ei(r, orc, 3) if orc is not None else None,
                    start=r.ts(rxa, 3, "RXA", i),
                    vaccine=vaccine,
                    amount=r.first(rxa, 6),
                    units=r.coded(rxa, 7),
                    administration_notes=r.coded(rxa, 9),
                    lot_numbers=tuple(v for rep in r.reps(rxa, 15) if (v := r.c(rep, 1))),
                    expiration_date=r.ts_lenient(rxa, 16, "RXA"),
                    manufacturer=r.coded(rxa, 17),
                    refusal_reason=r.coded(rxa, 18),
                    completion_status=(r.first(rxa, 20) or "").upper() or None,
                    action_code=(r.first(rxa, 21) or "").upper() or None,
                    route=r.coded(rxr, 1) if rxr is not None else None,
                    site=r.coded(rxr, 2) if rxr is not None else None,
                )
            )
            orc_i = None
    if not items:
        raise malformed("RXA segment missing (VXU^V04)", segment="RXA")
    return VaccinationMessage(
        **_header_kwargs(h),
        patient=read_patient(r, msg[pid_i], pid_i),
        visit=_pv1(r, msg, ids),
        immunizations=tuple(items),
    )


_BUILDERS = {
    "ADT": _adt,
    "ORU": _oru,
    "ORM": _orders,
    "OML": _orders,
    "SIU": _schedule,
    "MDM": _document,
    "VXU": _vaccination,
}


def _parse(raw: bytes | str, header_only: bool, charset: str | None) -> ParsedMessage:
    text, d, ids, warnings, used = _split(raw, charset)
    r = Reader(d)
    r.warnings.extend(warnings)
    if header_only:
        # Only MSH goes through python-hl7: the cheap check a listener can afford.
        h = _header(r, hl7.parse(text.split("\r", 1)[0])[0])
        return dataclasses.replace(h, charset=used, warnings=tuple(r.warnings))
    msg = hl7.parse(text)
    if len(msg) != len(ids):  # python-hl7 disagrees with our segmentation: don't guess
        raise malformed("unreadable segment structure", hl7_error=ERR_SEGMENT_SEQUENCE)
    h = _header(r, msg[0])
    parsed = _BUILDERS[h.message_type](r, msg, ids, h)
    return dataclasses.replace(parsed, charset=used, warnings=tuple(r.warnings))


def _guarded(raw: bytes | str, header_only: bool, charset: str | None) -> ParsedMessage:
    try:
        return _parse(raw, header_only, charset)
    except (Hl7Malformed, Hl7Unsupported):
        raise
    except Exception:  # the contract: nothing else leaves the parser
        # ``from None``: a foreign exception's text may quote message content.
        raise malformed("unreadable HL7 message", hl7_error=ERR_INTERNAL) from None


def parse_message(raw: bytes | str, *, charset: str | None = None) -> PatientMessage:
    """Parse one HL7 v2 message (bytes or text, optionally MLLP-framed).

    Returns an ``AdtMessage``, ``OruMessage``, ``OrderMessage`` (ORM/OML),
    ``ScheduleMessage`` (SIU), ``DocumentMessage`` (MDM) or ``VaccinationMessage``
    (VXU). ``charset`` is what the transport declared (HTTP); otherwise MSH-18 or
    UTF-8 decide (see ``carepipe.interop.hl7.charset``). Raises ``Hl7Malformed``
    (bad structure, missing required segment/field, bad date, invalid text in a
    declared charset) or ``Hl7Unsupported`` (other message types or versions,
    batches, several patients in one message), and nothing else, for any input.
    ``details`` on the error holds the HL7 error code (table 0357) and the position.
    """
    result = _guarded(raw, header_only=False, charset=charset)
    assert isinstance(
        result,
        AdtMessage
        | OruMessage
        | OrderMessage
        | ScheduleMessage
        | DocumentMessage
        | VaccinationMessage,
    )
    return result


def parse_header(raw: bytes | str, *, charset: str | None = None) -> ParsedMessage:
    """Check and read only MSH (cheap): what a listener needs to accept or reject a message.

    Raises like ``parse_message`` for MSH problems and unsupported types, but
    does not look at the other segments. ``kind`` is ``"header"``.
    """
    return _guarded(raw, header_only=True, charset=charset)
