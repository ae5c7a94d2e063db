"""HL7 v2 segments into typed values: PID, PV1, OBR/ORC, OBX, NTE, MRG, SCH/AIS, TXA, RXA.

Each ``read_<thing>`` takes the field ``Reader``, the segment and its position in
the message (for error messages), and returns the typed value of
``carepipe.interop.hl7.messages``.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from carepipe.interop.hl7.fields import (
    Reader,
    malformed,
)
from carepipe.interop.hl7.messages import (
    FHIR_GENDER,
    Address,
    CodedValue,
    DocumentContent,
    Location,
    MergeInfo,
    Observation,
    ObservationRequest,
    OrderInfo,
    PatientIdentifier,
    PatientInfo,
    PersonName,
    Telecom,
    Visit,
)
from carepipe.interop.hl7.timestamps import TimestampError, hl7_to_iso

WARN_SEX = "PID-8 sex code outside HL7 table 0001: sent to FHIR as unknown"
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)", re.ASCII)


# --- segments ---------------------------------------------------------------------------------


def read_street(r: Reader, rep: list[list[str]]) -> str | None:
    """XAD-1 (SAD from 2.5) as one line: street, else street name and dwelling number.

    ``1000&Hospital Lane`` (SAD-1 and SAD-2) is "1000 Hospital Lane"; a SAD-1 that
    already holds the other parts is not repeated.
    """
    parts = [p for s in (1, 2, 3) if (p := r.c(rep, 1, s))]
    if not parts:
        return None
    first = parts[0]
    rest = [p for p in parts[1:] if p not in first]
    return " ".join([first, *rest])


def read_patient(r: Reader, pid: Any, index: int) -> PatientInfo:
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
        raise malformed(
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
            street=read_street(r, rep),
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
    sex = r.first(pid, 8)
    if sex and sex.strip().upper() not in FHIR_GENDER:
        r.warn(WARN_SEX)
    return PatientInfo(
        identifiers=tuple(identifiers),
        names=names,
        birth_date=r.ts(pid, 7, "PID", index, date_only=True),
        sex=sex,
        addresses=addresses,
        telecoms=tuple(telecoms),
    )


def read_visit(r: Reader, pv1: Any, index: int) -> Visit:
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


def read_set_id(r: Reader, seg: Any) -> int | None:
    value = r.first(seg, 1)
    return int(value) if value and value.isdigit() and len(value) < 10 else None


def read_notes(r: Reader, nte: Any) -> str | None:
    lines = [t for rep in r.reps(nte, 3) if (t := r.text(rep))]
    return "\n".join(lines) if lines else None


_CODED_TYPES = frozenset({"CE", "CWE", "CNE", "CF"})
_TIME_TYPES = frozenset({"TS", "DTM", "DT"})


def read_observation(r: Reader, obx: Any, index: int, notes: list[str]) -> Observation:
    code_reps = r.reps(obx, 3)
    code = r.ce(code_reps[0]) if code_reps else None
    if code is None or not (code.code or code.text):
        raise malformed(
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
                if num1 and not sep and not num2 and NUMBER.fullmatch(num1):
                    numeric = float(num1)
        elif value_type in _TIME_TYPES:
            display = r.text(rep)
            if display:
                # Kept as sent if not a valid date: a result value, not a field we rely on.
                with contextlib.suppress(TimestampError):
                    display = hl7_to_iso(display)
        else:
            display = r.text(rep)
            if value_type == "NM" and not values and display and NUMBER.fullmatch(display):
                numeric = float(display)
        if display:
            values.append(display)
    unit_reps = r.reps(obx, 6)
    units = r.ce(unit_reps[0]) if unit_reps else None
    return Observation(
        segment_index=index,
        set_id=read_set_id(r, obx),
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


def read_request(
    r: Reader, obr: Any, index: int, observations: list[Observation], notes: list[str]
) -> ObservationRequest:
    service_reps = r.reps(obr, 4)
    service = r.ce(service_reps[0]) if service_reps else None
    if service is None or not (service.code or service.text):
        raise malformed(
            f"OBR-4 (segment {index}): universal service identifier missing",
            segment="OBR",
            field=4,
            index=index,
        )
    prov = r.reps(obr, 16)
    return ObservationRequest(
        segment_index=index,
        set_id=read_set_id(r, obr),
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


# --- other segments ---------------------------------------------------------------------------


def read_ei(r: Reader, seg: Any, n: int) -> str | None:
    """EI entity identifier: its first component (EI-1)."""
    return r.first(seg, n)


def read_priority(r: Reader, seg: Any, n: int, component: int) -> str | None:
    reps = r.reps(seg, n)
    return r.c(reps[0], component) if reps else None


def read_order(
    r: Reader, msg: Any, orc_i: int | None, obr_i: int | None, notes: list[str], tq1_i: int | None
) -> OrderInfo:
    """One ORC + OBR pair (either may be missing, not both)."""
    orc = msg[orc_i] if orc_i is not None else None
    obr = msg[obr_i] if obr_i is not None else None
    tq1 = msg[tq1_i] if tq1_i is not None else None
    index = orc_i if orc_i is not None else obr_i
    assert index is not None

    def pick(orc_field: int, obr_field: int) -> str | None:
        value = read_ei(r, orc, orc_field) if orc is not None else None
        if value is None and obr is not None:
            value = read_ei(r, obr, obr_field)
        return value

    provider = None
    if orc is not None and (reps := r.reps(orc, 12)):
        provider = r.xcn(reps[0])
    if provider is None and obr is not None and (reps := r.reps(obr, 16)):
        provider = r.xcn(reps[0])
    service = r.coded(obr, 4) if obr is not None else None
    priority = None
    if tq1 is not None:
        priority = r.first(tq1, 9)
    if priority is None and orc is not None:
        priority = read_priority(r, orc, 7, 6)
    if priority is None and obr is not None:
        priority = read_priority(r, obr, 27, 6) or r.first(obr, 5)
    requested = r.ts_lenient(tq1, 7, "TQ1") if tq1 is not None else None
    if requested is None and obr is not None:
        requested = r.ts_lenient(obr, 6, "OBR")
    return OrderInfo(
        segment_index=index,
        control=(r.first(orc, 1) or "").upper() or None if orc is not None else None,
        status=(r.first(orc, 5) or "").upper() or None if orc is not None else None,
        placer_order_number=pick(2, 2),
        filler_order_number=pick(3, 3),
        placer_group_number=read_ei(r, orc, 4) if orc is not None else None,
        authored_time=r.ts_lenient(orc, 9, "ORC") if orc is not None else None,
        ordering_provider=provider,
        service=service,
        priority=priority.upper() if priority else None,
        requested_time=requested,
        specimen_action=(r.first(obr, 11) or "").upper() or None if obr is not None else None,
        reason=r.coded(obr, 31) if obr is not None else None,
        notes=tuple(notes),
    )


def read_merge(r: Reader, mrg: Any, index: int) -> MergeInfo:
    prior: list[PatientIdentifier] = []
    for rep in r.reps(mrg, 1):
        value = r.c(rep, 1)
        if value is None:
            continue
        prior.append(
            PatientIdentifier(
                value=value,
                assigning_authority=r.c(rep, 4, 1),
                authority_universal_id=r.c(rep, 4, 2),
                authority_universal_id_type=r.c(rep, 4, 3),
                identifier_type=r.c(rep, 5),
                assigning_facility=r.c(rep, 6, 1),
            )
        )
    if not prior:
        raise malformed(
            f"MRG-1 (segment {index}): no prior patient identifier", segment="MRG", field=1
        )
    return MergeInfo(prior_identifiers=tuple(prior), prior_visit_number=r.first(mrg, 5))


def read_media_type(r: Reader, rep: list[list[str]]) -> str | None:
    """ED-2 type of data + ED-3 subtype as a MIME type (``application/pdf``)."""
    kind, sub = (r.c(rep, 2) or "").lower(), (r.c(rep, 3) or "").lower()
    if "/" in sub:
        return sub
    if kind in ("application", "text", "image", "audio", "video", "multipart") and sub:
        return f"{kind}/{sub}"
    if kind == "ap" and sub:  # table 0191 "Other application data"
        return f"application/{sub}"
    if kind in ("tx", "text"):
        return "text/plain"
    return None


_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*", re.ASCII)


def read_document_content(r: Reader, obx: Any) -> DocumentContent | None:
    value_type = (r.first(obx, 2) or "").upper() or None
    reps = r.reps(obx, 5)
    if not reps:
        return None
    if value_type == "ED":
        rep = reps[0]
        # ED-4 encoding: Base64 is the only one a FHIR attachment can carry as is.
        data = "".join(comp[0] for comp in rep[4:5]) if len(rep) > 4 else ""
        if (r.c(rep, 4) or "").upper() != "BASE64" or not data or not _BASE64.fullmatch(data):
            r.warn("OBX-5: encapsulated data not Base64-encoded, left out")
            return None
        return DocumentContent(
            value_type=value_type,
            data_base64="".join(data.split()),
            media_type=read_media_type(r, rep),
        )
    lines = [t for rep in reps if (t := r.text(rep))]
    if not lines:
        return None
    return DocumentContent(value_type=value_type, text="\n".join(lines), media_type="text/plain")
