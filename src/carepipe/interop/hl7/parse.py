"""Parse HL7 v2 messages (ADT, ORU^R01, ORM^O01, OML^O21, SIU^S12-S15, MDM^T02, VXU^V04).

``python-hl7`` splits the message; this module checks structure and required
fields and extracts typed values. For any input at all, the only exceptions
that leave ``parse_message`` are ``Hl7Malformed`` and ``Hl7Unsupported``, and
their messages name segment/field positions only, never values (PHI).
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from typing import Any

import hl7

from carepipe.core.errors import Hl7Malformed, Hl7Unsupported
from carepipe.interop.hl7.charset import decode_hl7
from carepipe.interop.hl7.escape import Delimiters, unescape
from carepipe.interop.hl7.messages import (
    FHIR_GENDER,
    Address,
    AdtMessage,
    AppointmentInfo,
    CodedValue,
    DocumentContent,
    DocumentInfo,
    DocumentMessage,
    ImmunizationInfo,
    Location,
    MergeInfo,
    Observation,
    ObservationRequest,
    OrderInfo,
    OrderMessage,
    OruMessage,
    ParsedMessage,
    PatientIdentifier,
    PatientInfo,
    PatientMessage,
    PersonName,
    Provider,
    ScheduleMessage,
    Telecom,
    VaccinationMessage,
    Visit,
)
from carepipe.interop.hl7.normalize import normalize, strip_mllp
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
WARN_SEX = "PID-8 sex code outside HL7 table 0001: sent to FHIR as unknown"
WARN_TRAILER = "trailing BTS/FTS segments ignored"
WARN_BAD_DATE = "{where}: not a valid date/time, left out"

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

    __slots__ = ("d", "warnings")

    def __init__(self, d: Delimiters) -> None:
        self.d = d
        self.warnings: list[str] = []

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

    def ts_lenient(self, seg: Any, n: int, seg_id: str, i: int = 1) -> str | None:
        """A date/time we can do without: an invalid one is dropped with a warning."""
        reps = self.reps(seg, n)
        value = self.c(reps[0], i) if reps else None
        if value is None:
            return None
        try:
            return hl7_to_iso(value)
        except TimestampError:
            self.warn(WARN_BAD_DATE.format(where=f"{seg_id}-{n}"))
            return None

    def warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)

    def coded(self, seg: Any, n: int) -> CodedValue | None:
        """The first repetition of a CE/CWE field, or None when it has neither code nor text."""
        reps = self.reps(seg, n)
        if not reps:
            return None
        cv = self.ce(reps[0])
        return cv if (cv.code or cv.text) else None

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


def _street(r: _Reader, rep: list[list[str]]) -> str | None:
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
            street=_street(r, rep),
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


# --- other segments ---------------------------------------------------------------------------


def _ei(r: _Reader, seg: Any, n: int) -> str | None:
    """EI entity identifier: its first component (EI-1)."""
    return r.first(seg, n)


def _priority(r: _Reader, seg: Any, n: int, component: int) -> str | None:
    reps = r.reps(seg, n)
    return r.c(reps[0], component) if reps else None


def _order(
    r: _Reader, msg: Any, orc_i: int | None, obr_i: int | None, notes: list[str], tq1_i: int | None
) -> OrderInfo:
    """One ORC + OBR pair (either may be missing, not both)."""
    orc = msg[orc_i] if orc_i is not None else None
    obr = msg[obr_i] if obr_i is not None else None
    tq1 = msg[tq1_i] if tq1_i is not None else None
    index = orc_i if orc_i is not None else obr_i
    assert index is not None

    def pick(orc_field: int, obr_field: int) -> str | None:
        value = _ei(r, orc, orc_field) if orc is not None else None
        if value is None and obr is not None:
            value = _ei(r, obr, obr_field)
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
        priority = _priority(r, orc, 7, 6)
    if priority is None and obr is not None:
        priority = _priority(r, obr, 27, 6) or r.first(obr, 5)
    requested = r.ts_lenient(tq1, 7, "TQ1") if tq1 is not None else None
    if requested is None and obr is not None:
        requested = r.ts_lenient(obr, 6, "OBR")
    return OrderInfo(
        segment_index=index,
        control=(r.first(orc, 1) or "").upper() or None if orc is not None else None,
        status=(r.first(orc, 5) or "").upper() or None if orc is not None else None,
        placer_order_number=pick(2, 2),
        filler_order_number=pick(3, 3),
        placer_group_number=_ei(r, orc, 4) if orc is not None else None,
        authored_time=r.ts_lenient(orc, 9, "ORC") if orc is not None else None,
        ordering_provider=provider,
        service=service,
        priority=priority.upper() if priority else None,
        requested_time=requested,
        specimen_action=(r.first(obr, 11) or "").upper() or None if obr is not None else None,
        reason=r.coded(obr, 31) if obr is not None else None,
        notes=tuple(notes),
    )


def _merge(r: _Reader, mrg: Any, index: int) -> MergeInfo:
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
        raise _malformed(
            f"MRG-1 (segment {index}): no prior patient identifier", segment="MRG", field=1
        )
    return MergeInfo(prior_identifiers=tuple(prior), prior_visit_number=r.first(mrg, 5))


def _media_type(r: _Reader, rep: list[list[str]]) -> str | None:
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


def _document_content(r: _Reader, obx: Any) -> DocumentContent | None:
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
            value_type=value_type, data_base64="".join(data.split()), media_type=_media_type(r, rep)
        )
    lines = [t for rep in reps if (t := r.text(rep))]
    if not lines:
        return None
    return DocumentContent(value_type=value_type, text="\n".join(lines), media_type="text/plain")


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
        raise _malformed("empty message", segment="MSH", hl7_error=ERR_SEGMENT_SEQUENCE)
    head = text[:3]
    if head in ("FHS", "BHS"):
        raise _unsupported(
            "HL7 batch or file (FHS/BHS): send it to the batch intake (MLLP or POST /v1/hl7)",
            ERR_UNSUPPORTED_MESSAGE_TYPE,
        )
    if head != "MSH":
        raise _malformed(
            "MSH segment missing: a message must start with MSH",
            segment="MSH",
            hl7_error=ERR_SEGMENT_SEQUENCE,
        )
    d = read_delimiters(text)
    text = _drop_trailers(text, warnings)
    ids: list[str] = []
    for i, seg in enumerate(text.split("\r")):
        sid = seg[:3]
        if not _SEGMENT_ID.fullmatch(sid) or (len(seg) > 3 and seg[3] != d.field):
            raise _malformed(
                f"segment {i}: invalid segment id", index=i, hl7_error=ERR_SEGMENT_SEQUENCE
            )
        if sid == "MSH" and i:
            raise _unsupported(
                "more than one MSH segment in one message: send one message per frame, "
                "or a batch with BHS/BTS",
                ERR_UNSUPPORTED_MESSAGE_TYPE,
            )
        ids.append(sid)
    return text, d, ids, warnings, used


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
        supported = f"{SUPPORTED_VERSIONS[0]}-{SUPPORTED_VERSIONS[-1]}"
        if not _VERSION.fullmatch(version):
            raise _malformed(
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
            raise _malformed("MSH-9.2: trigger event missing", segment="MSH", field=9)
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
        "charset": h.charset,
        "warnings": h.warnings,
        "model_version": h.model_version,
    }


def _only_pid(ids: list[str], event: str) -> int:
    pids = [i for i, sid in enumerate(ids) if sid == "PID"]
    if not pids:
        raise _malformed(f"PID segment missing ({event})", segment="PID")
    if len(pids) > 1:
        if not event.startswith("ADT"):
            raise _unsupported(
                f"{event} with more than one patient (PID) not supported",
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


def _first(ids: list[str], sid: str, after: int = 0) -> int | None:
    return next((i for i in range(after, len(ids)) if ids[i] == sid), None)


def _pv1(r: _Reader, msg: Any, ids: list[str]) -> Visit | None:
    i = _first(ids, "PV1")
    return _visit(r, msg[i], i) if i is not None else None


def _adt(r: _Reader, msg: Any, ids: list[str], h: ParsedMessage) -> AdtMessage:
    pid_i = _only_pid(ids, h.event)
    merge = None
    if h.trigger_event == "A40":
        mrg_i = _first(ids, "MRG", pid_i)
        if mrg_i is None:
            raise _malformed("MRG segment missing (ADT^A40)", segment="MRG")
        merge = _merge(r, msg[mrg_i], mrg_i)
    return AdtMessage(
        **_header_kwargs(h),
        patient=_patient(r, msg[pid_i], pid_i),
        visit=_pv1(r, msg, ids),
        merge=merge,
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
        elif sid in ("SPM", "ORC", "TQ1", "TQ2", "CTI", "FT1", "CTD"):
            # Another group starts: later NTEs belong to it, not to the last OBX.
            flush_obx()
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


def _orders(r: _Reader, msg: Any, ids: list[str], h: ParsedMessage) -> OrderMessage:
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
            orders.append(_order(r, msg, orc_i, obr_i, notes, tq1_i))
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
            and (note := _notes(r, msg[i])) is not None
        ):
            notes.append(note)
    flush()
    orders = [o for o in orders if o.service is not None or o.control]
    if not orders:
        raise _malformed(f"ORC/OBR segment missing ({h.event})", segment="ORC")
    return OrderMessage(
        **_header_kwargs(h),
        patient=_patient(r, msg[pid_i], pid_i),
        visit=_pv1(r, msg, ids),
        orders=tuple(orders),
    )


def _schedule(r: _Reader, msg: Any, ids: list[str], h: ParsedMessage) -> ScheduleMessage:
    sch_i = _first(ids, "SCH")
    if sch_i is None:
        raise _malformed(f"SCH segment missing ({h.event})", segment="SCH")
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
        elif sid == "NTE" and i < pid_i and (note := _notes(r, seg)) is not None:
            notes.append(note)
        if sid in ("AIS", "AIG", "AIL", "AIP") and start is None:
            # The resource's start (AIS-4, else AIG/AIL/AIP-6) when SCH-11 and TQ1 give none.
            start = r.ts_lenient(seg, 4 if sid == "AIS" else 6, sid)
    status = r.first(sch, 25)
    return ScheduleMessage(
        **_header_kwargs(h),
        patient=_patient(r, msg[pid_i], pid_i),
        visit=_pv1(r, msg, ids),
        appointment=AppointmentInfo(
            placer_id=_ei(r, sch, 1),
            filler_id=_ei(r, sch, 2),
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


def _document(r: _Reader, msg: Any, ids: list[str], h: ParsedMessage) -> DocumentMessage:
    pid_i = _only_pid(ids, h.event)
    txa_i = _first(ids, "TXA")
    if txa_i is None:
        raise _malformed(f"TXA segment missing ({h.event})", segment="TXA")
    txa = msg[txa_i]
    contents = [
        c for i, sid in enumerate(ids) if sid == "OBX" and (c := _document_content(r, msg[i]))
    ]
    if not contents:
        raise _malformed(
            "OBX missing: MDM^T02 carries the document in OBX-5 (TX, FT, ST or Base64 ED)",
            segment="OBX",
            field=5,
        )
    return DocumentMessage(
        **_header_kwargs(h),
        patient=_patient(r, msg[pid_i], pid_i),
        visit=_pv1(r, msg, ids),
        document=DocumentInfo(
            document_type=r.coded(txa, 2),
            presentation=r.first(txa, 3),
            activity_time=r.ts_lenient(txa, 4, "TXA"),
            origination_time=r.ts_lenient(txa, 6, "TXA"),
            authors=tuple(r.xcn(rep) for rep in r.reps(txa, 9)),
            unique_number=_ei(r, txa, 12),
            file_name=r.first(txa, 16),
            completion_status=(r.first(txa, 17) or "").upper() or None,
            availability=(r.first(txa, 19) or "").upper() or None,
            contents=tuple(contents),
        ),
    )


def _vaccination(r: _Reader, msg: Any, ids: list[str], h: ParsedMessage) -> VaccinationMessage:
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
                raise _malformed(
                    f"RXA-5 (segment {i}): administered code missing",
                    segment="RXA",
                    field=5,
                    index=i,
                )
            if r.first(rxa, 3) is None:
                raise _malformed(
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
                    placer_order_number=_ei(r, orc, 2) if orc is not None else None,
                    filler_order_number=_ei(r, orc, 3) if orc is not None else None,
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
        raise _malformed("RXA segment missing (VXU^V04)", segment="RXA")
    return VaccinationMessage(
        **_header_kwargs(h),
        patient=_patient(r, msg[pid_i], pid_i),
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
    r = _Reader(d)
    r.warnings.extend(warnings)
    if header_only:
        # Only MSH goes through python-hl7: the cheap check a listener can afford.
        h = _header(r, hl7.parse(text.split("\r", 1)[0])[0])
        return dataclasses.replace(h, charset=used, warnings=tuple(r.warnings))
    msg = hl7.parse(text)
    if len(msg) != len(ids):  # python-hl7 disagrees with our segmentation: don't guess
        raise _malformed("unreadable segment structure", hl7_error=ERR_SEGMENT_SEQUENCE)
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
        raise _malformed("unreadable HL7 message", hl7_error=ERR_INTERNAL) from None


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
