"""Read a FHIR R4 bundle back as one plain-English paragraph a clinician can confirm.

    >>> summarize_bundle({"resourceType": "Bundle", "entry": []})
    'The bundle contains no clinical content.'

Written against the FHIR R4 JSON shapes (``dosageInstruction[].timing.repeat``,
``doseAndRate[].doseQuantity``, ``code.coding``/``code.text``...), not against our own
builder, so it reads bundles from any source. Unknown resource types are counted, not
dropped silently ("Also contains 2 other resources (Procedure).").

How an action is read from a MedicationRequest (FHIR has no single "verb" field):
an ``order-action`` extension (valueCode start|stop|continue|change) wins; otherwise
status stopped/cancelled -> Stop, on-hold -> Hold, a ``priorPrescription`` -> Change,
``doNotPerform`` -> Do not give, anything else -> Start.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from carepipe.engines.orders.summary_words import (
    codes_of,
    concept,
    dosage_of,
    join,
    num,
    quantity,
    sentence_of,
    soft,
)

Resource = dict[str, Any]

# --- resources ---------------------------------------------------------------------------


class _Bundle:
    """Index of the bundle's resources, for resolving references ("Medication/123")."""

    def __init__(self, bundle: Resource) -> None:
        self.resources: list[Resource] = []
        self.by_ref: dict[str, Resource] = {}
        if bundle.get("resourceType") == "Bundle":
            for entry in bundle.get("entry") or []:
                if not isinstance(entry, dict) or not isinstance(entry.get("resource"), dict):
                    continue
                res = entry["resource"]
                self.resources.append(res)
                if entry.get("fullUrl"):
                    self.by_ref[str(entry["fullUrl"])] = res
                if res.get("id"):
                    self.by_ref[f"{res.get('resourceType')}/{res['id']}"] = res
        elif bundle.get("resourceType"):
            self.resources.append(bundle)
        self.timestamp = _parse_date(bundle.get("timestamp") or "")

    def resolve(self, ref: Any, container: Resource) -> Resource | None:
        if not isinstance(ref, dict) or not ref.get("reference"):
            return None
        target = str(ref["reference"])
        if target.startswith("#"):
            for c in container.get("contained") or []:
                if isinstance(c, dict) and c.get("id") == target[1:]:
                    return c
            return None
        return self.by_ref.get(target)


def _parse_date(value: str) -> date | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None


def _medication_name(res: Resource, bundle: _Bundle) -> str:
    if res.get("medicationCodeableConcept"):
        return soft(concept(res["medicationCodeableConcept"]))
    ref = res.get("medicationReference")
    target = bundle.resolve(ref, res)
    if target is not None and target.get("code"):
        return soft(concept(target["code"]))
    if isinstance(ref, dict) and ref.get("display"):
        return soft(str(ref["display"]))
    return "a medication"


_ACTION_WORDS = {"start": "Start", "stop": "Stop", "continue": "Continue", "change": "Change"}


def _med_action(res: Resource) -> str:
    for ext in res.get("extension") or []:
        url = str(ext.get("url", "")) if isinstance(ext, dict) else ""
        if url.rstrip("/").endswith("order-action") and ext.get("valueCode") in _ACTION_WORDS:
            return _ACTION_WORDS[ext["valueCode"]]
    if res.get("doNotPerform"):
        return "Do not give"
    status = res.get("status")
    if status in ("stopped", "cancelled"):
        return "Stop"
    if status == "on-hold":
        return "Hold"
    if res.get("priorPrescription"):
        return "Change"
    return "Start"


def _medication_request(res: Resource, bundle: _Bundle) -> str:
    action = _med_action(res)
    name = _medication_name(res, bundle)
    dosages = [dosage_of(d, name) for d in res.get("dosageInstruction") or []]
    dosages = [d for d in dosages if d]
    text = f"{action} {name}"
    if dosages:
        joiner = " to " if action == "Change" else " "
        text += joiner + "; then ".join(dosages)
    if res.get("status") == "entered-in-error":
        text += " (entered in error)"
    return sentence_of(text)


def _medication_statement(res: Resource, bundle: _Bundle) -> str:
    name = _medication_name(res, bundle)
    dosages = [d for d in (dosage_of(x, name) for x in res.get("dosage") or []) if d]
    status = res.get("status")
    lead = {
        "stopped": "Has stopped",
        "completed": "Has completed",
        "not-taken": "Is not taking",
        "intended": "Intends to take",
        "on-hold": "Has paused",
    }.get(status or "", "Is taking")
    return sentence_of(f"{lead} {name}" + (" " + "; then ".join(dosages) if dosages else ""))


_CATEGORY_CODES = {
    "108252007": "laboratory",
    "363679005": "imaging",
    "3457005": "referral",
    "387713003": "procedure",
    "409063005": "counselling",
    "409073007": "education",
}


def _service_category(res: Resource) -> str:
    for cat in res.get("category") or []:
        for code in codes_of(cat):
            if code in _CATEGORY_CODES:
                return _CATEGORY_CODES[code]
        text = concept(cat).lower()
        for key in ("laboratory", "imaging", "referral", "procedure"):
            if key[:5] in text:
                return key
    name = concept(res.get("code")).lower()
    if name.startswith(("refer", "referral")):
        return "referral"
    systems = {
        str(c.get("system"))
        for c in (res.get("code") or {}).get("coding") or []
        if isinstance(c, dict)
    }
    if "http://loinc.org" in systems:
        return "laboratory"
    return "other"


def _service_name(res: Resource, category: str) -> str:
    name = concept(res.get("code"))
    if category == "referral":
        for prefix in ("referral to ", "refer to ", "referral - ", "referral: "):
            if name.lower().startswith(prefix):
                name = name[len(prefix) :]
        if not name or name.lower() in ("referral", "patient referral"):
            name = concept(res.get("performerType") or {}) or "a specialist"
    name = soft(name) if name else "an unnamed service"
    extras = []
    if res.get("priority") in ("urgent", "stat", "asap"):
        extras.append(str(res["priority"]))
    when = res.get("occurrenceDateTime") or (res.get("occurrencePeriod") or {}).get("start")
    if when:
        extras.append(f"on {str(when)[:10]}")
    return name + (f" ({', '.join(extras)})" if extras else "")


def _is_follow_up(res: Resource) -> bool:
    return "follow" in concept(res.get("code")).lower()


def _services(resources: list[Resource]) -> list[str]:
    """ "Order HbA1c and lipid panel." / "Refer to cardiology." / "Do not order chest X-ray." """
    order: list[str] = []
    refer: list[str] = []
    declined: list[str] = []
    cancelled: list[str] = []
    for res in resources:
        category = _service_category(res)
        name = _service_name(res, category)
        if res.get("doNotPerform"):
            declined.append(name)
        elif res.get("status") in ("revoked", "entered-in-error"):
            cancelled.append(name)
        elif category == "referral":
            refer.append(name)
        else:
            order.append(name)
    out = []
    if order:
        out.append(sentence_of("Order " + join(order)))
    if refer:
        out.append(sentence_of("Refer to " + join(refer)))
    if declined:
        out.append(sentence_of("Do not order " + join(declined)))
    if cancelled:
        out.append(sentence_of("Cancel " + join(cancelled)))
    return out


def _relative(start: date, ref: date | None) -> str:
    if ref is None or start <= ref:
        return ""
    days = (start - ref).days
    if days % 7 == 0 and days < 60:
        n, unit = days // 7, "week"
    elif days >= 365 and days % 365 < 5:
        n, unit = round(days / 365), "year"
    elif days >= 28:
        n, unit = round(days / 30.44), "month"
    else:
        n, unit = days, "day"
    return f"in {n} {unit}{'s' if n != 1 else ''}"


def _follow_up(res: Resource, bundle: _Bundle) -> str:
    """An Appointment (or a follow-up ServiceRequest) as "Follow up in 3 months".

    A free-text description wins; otherwise the date (``start``, ``occurrence[x]`` or the
    first ``requestedPeriod``) is given, with the interval from the bundle's timestamp
    (or the resource's ``created``/``authoredOn``) when one is known.
    """
    status = res.get("status")
    prefix = "Cancelled: " if status in ("cancelled", "noshow", "entered-in-error") else ""
    description = str(
        res.get("description") or res.get("patientInstruction") or res.get("comment") or ""
    ).strip()
    reference = bundle.timestamp or _parse_date(
        str(res.get("created") or res.get("authoredOn") or "")
    )
    start = res.get("start") or res.get("occurrenceDateTime")
    if not start and isinstance(res.get("occurrencePeriod"), dict):
        start = res["occurrencePeriod"].get("start")
    periods = res.get("requestedPeriod") or []
    if isinstance(periods, dict):
        periods = [periods]
    first = periods[0] if periods and isinstance(periods[0], dict) else {}
    if description:
        text = description
    elif start or first.get("start"):
        day_text = str(start or first["start"])[:10]
        day = _parse_date(day_text)
        rel = _relative(day, reference) if day else ""
        on = "on" if start else "from"
        text = f"Follow up {rel} ({on} {day_text})" if rel else f"Follow up {on} {day_text}"
        if not start and first.get("end"):
            text = f"Follow up between {day_text} and {str(first['end'])[:10]}"
    elif first.get("end"):
        text = f"Follow up by {str(first['end'])[:10]}"
    else:
        text = "Follow up (no date given)"
    kind = soft(concept(res.get("appointmentType")))
    if kind and kind.lower() not in text.lower() and "follow" not in kind.lower():
        text += f" ({kind})"
    return sentence_of(prefix + text)


def _observation(res: Resource) -> str:
    name = soft(concept(res.get("code"))) or "observation"
    comps = [c for c in res.get("component") or [] if isinstance(c, dict)]
    codes = [codes_of(c.get("code")) for c in comps]
    if len(comps) == 2 and "8480-6" in codes[0] and "8462-4" in codes[1]:
        sys_q, dia_q = comps[0].get("valueQuantity") or {}, comps[1].get("valueQuantity") or {}
        unit = sys_q.get("unit") or "mmHg"
        return f"{name} {num(sys_q.get('value'))}/{num(dia_q.get('value'))} {unit}"
    value = _observation_value(res)
    if not value and comps:
        value = ", ".join(
            f"{soft(concept(c.get('code')))} {_observation_value(c)}".strip() for c in comps
        )
    return f"{name} {value}".strip()


def _observation_value(res: Resource) -> str:
    if res.get("valueQuantity"):
        return quantity(res["valueQuantity"])
    if res.get("valueCodeableConcept"):
        return soft(concept(res["valueCodeableConcept"]))
    if "valueString" in res:
        return str(res["valueString"])
    if "valueBoolean" in res:
        return "yes" if res["valueBoolean"] else "no"
    if "valueInteger" in res:
        return num(res["valueInteger"])
    return ""


def _condition(res: Resource) -> str:
    name = soft(concept(res.get("code"))) or "unnamed condition"
    flags = []
    clinical = concept(res.get("clinicalStatus")).lower()
    if clinical and clinical != "active":
        flags.append(clinical)
    verification = concept(res.get("verificationStatus")).lower()
    if verification in ("refuted", "provisional", "differential", "entered-in-error"):
        flags.append(verification)
    return name + (f" ({', '.join(flags)})" if flags else "")


def _report(res: Resource) -> str:
    name = soft(concept(res.get("code"))) or "report"
    text = f"{name} report"
    if res.get("status"):
        text += f" ({res['status']})"
    if res.get("conclusion"):
        text += f": {str(res['conclusion']).strip().rstrip('.')}"
    return text


def _patient(res: Resource) -> str:
    names = res.get("name") or []
    shown = ""
    if names and isinstance(names[0], dict):
        n = names[0]
        shown = n.get("text") or " ".join([*(n.get("given") or []), n.get("family") or ""]).strip()
    details = [
        d
        for d in (res.get("gender"), f"born {res['birthDate']}" if res.get("birthDate") else "")
        if d
    ]
    return sentence_of("Patient: " + ", ".join([shown or "unnamed", *details]))


def _encounter(res: Resource) -> str:
    cls = res.get("class") or {}
    kind = cls.get("display") or {
        "AMB": "ambulatory",
        "IMP": "inpatient",
        "EMER": "emergency",
        "VR": "virtual",
        "HH": "home health",
    }.get(cls.get("code", ""), "")
    types = [soft(concept(t)) for t in res.get("type") or []]
    started = (res.get("period") or {}).get("start")
    bits = [b for b in (kind.lower() if kind else "", join([t for t in types if t])) if b]
    text = "Encounter: " + (" ".join(bits) or "visit")
    if started:
        text += f" on {str(started)[:10]}"
    return sentence_of(text)


_HANDLED = {
    "Patient",
    "Encounter",
    "Condition",
    "Observation",
    "DiagnosticReport",
    "MedicationStatement",
    "MedicationRequest",
    "ServiceRequest",
    "Appointment",
    "Medication",  # read through references
}


def _of_type(resources: Iterable[Resource], kind: str) -> list[Resource]:
    return [r for r in resources if r.get("resourceType") == kind]


def summarize_bundle(bundle: dict[str, Any]) -> str:
    """One paragraph, in the order a clinician reads a plan.

    Context first (patient, encounter, conditions, observations, reports, current
    medications), then the orders: medication changes, tests and referrals, follow-up.
    A single resource (not a Bundle) is summarised as a bundle of one.
    """
    if not isinstance(bundle, dict):
        raise TypeError("summarize_bundle expects a FHIR Bundle as a JSON dict")
    index = _Bundle(bundle)
    res = index.resources
    out: list[str] = []
    out += [_patient(r) for r in _of_type(res, "Patient")]
    out += [_encounter(r) for r in _of_type(res, "Encounter")]
    conditions = [_condition(r) for r in _of_type(res, "Condition")]
    if conditions:
        out.append(
            sentence_of(
                ("Condition: " if len(conditions) == 1 else "Conditions: ") + "; ".join(conditions)
            )
        )
    observations = [_observation(r) for r in _of_type(res, "Observation")]
    if observations:
        out.append(sentence_of("Observed: " + "; ".join(observations)))
    out += [sentence_of(_report(r)) for r in _of_type(res, "DiagnosticReport")]
    out += [_medication_statement(r, index) for r in _of_type(res, "MedicationStatement")]
    out += [_medication_request(r, index) for r in _of_type(res, "MedicationRequest")]
    requests = _of_type(res, "ServiceRequest")
    out += _services([r for r in requests if not _is_follow_up(r)])
    out += [_follow_up(r, index) for r in requests if _is_follow_up(r)]
    out += [_follow_up(r, index) for r in _of_type(res, "Appointment")]
    others = sorted({str(r.get("resourceType")) for r in res} - _HANDLED)
    if others:
        n = sum(1 for r in res if r.get("resourceType") in others)
        out.append(
            sentence_of(
                f"Also contains {n} other resource{'s' if n != 1 else ''} ({', '.join(others)})"
            )
        )
    out = [s for s in out if s]
    if not out:
        return "The bundle contains no clinical content."
    return " ".join(out)
