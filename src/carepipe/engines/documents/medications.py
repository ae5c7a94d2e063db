"""Medication lines of prescriptions and discharge summaries, ready for the orders engine.

A medication list starts after a heading (``Rx``, ``Discharge Medications``,
``Treatment Advised``) and runs until the next heading (``Advice``, ``Follow-up``,
``Investigations``...). Inside it, a line that starts with a number, a dosage form
(``Tab.``, ``Cap.``) or carries a dose is a medication; a ``Sig:`` line or a line
without a dose continues the one before it (US prescriptions print the directions
on their own line). Table cells are joined with spaces. Outside a list, only lines
that start with a dosage form count (old-style prescriptions without a heading).

What goes to the orders engine drops what is not an instruction: the list number,
"Disp: 30 tablets" and "Refills: 1" (a dispensed quantity is not a dose).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from carepipe.engines.documents.rows import Row
from carepipe.engines.documents.types import MedicationLine, Span

_START = re.compile(
    r"^\W{0,3}(?:rx\b|℞|prescription\b|discharge\s+medications?\b|medications?\s+(?:on|at)"
    r"\s+discharge\b|treatment\s+advised\b|medicines?\s+prescribed\b|home\s+medications?\b)",
    re.IGNORECASE,
)
_STOP = re.compile(
    r"^\W{0,3}(?:advice|follow[\s-]*up|review|diagnosis|investigations?|pertinent|signed"
    r"|electronically|hospital\s+course|course\s+in|condition|instructions?\s+on|diet"
    r"|final\s+diagnosis|dr\.)\b",
    re.IGNORECASE,
)
FORM = (r"(?:tab|tablet|cap|capsule|syp|syrup|inj|injection|oint|ointment|drops?|susp"
        r"|suspension|gel|cream|inhaler|sachet)\b\.?")  # fmt: skip
_FORM_LINE = re.compile(r"^\s*(?:\d{1,2}\s*[.)]\s*)?" + FORM + r"\s+\S", re.IGNORECASE)
_NUMBERED = re.compile(r"^\s*\d{1,2}\s*[.)]\s*[A-Za-z]")
_DOSE = re.compile(r"\b\d+(?:\.\d+)?\s*(?:mg|mcg|g|ml|iu|units?)\b", re.IGNORECASE)
_CONTINUATION = re.compile(r"^\s*(?:sig\b|take\b|directions?\b|apply\b|inhale\b|instil)",
                           re.IGNORECASE)  # fmt: skip
_HEADER = re.compile(r"^\s*(?:medicine|drug|medication)s?\b.*\b(?:dose|instructions?|duration)",
                     re.IGNORECASE)  # fmt: skip
_NOT_INSTRUCTION = re.compile(
    r"\s*(?:disp(?:ense)?|qty|quantity|refills?)\s*[:#].*?(?=(?:disp(?:ense)?|qty|quantity"
    r"|refills?)\s*[:#]|$)",
    re.IGNORECASE,
)
_LEADING_NUMBER = re.compile(r"^\s*\d{1,2}\s*[.)]\s*")
_BARE_DAYS = re.compile(r"(?<![xX]\s)(?<!for\s)\b(\d{1,3})\s*(days?|weeks?|months?)\s*$",
                        re.IGNORECASE)  # fmt: skip

ConfidenceOf = Callable[[int, int], float]


def instruction_text(text: str) -> str:
    """The part of a medication line the orders engine should read."""
    cleaned = _LEADING_NUMBER.sub("", text)
    cleaned = _NOT_INSTRUCTION.sub(" ", cleaned)
    cleaned = re.sub(r"\bSig\s*:\s*", "", cleaned, flags=re.IGNORECASE)
    cleaned = " ".join(cleaned.split()).strip(" .;,")
    # A duration alone in the last table cell ("14 days") is "for 14 days".
    return _BARE_DAYS.sub(r"for \1 \2", cleaned)


def extract_medications(
    rows: list[Row], confidence_of: ConfidenceOf, threshold: float, document_type: str
) -> list[MedicationLine]:
    """Medication lines, each possibly several rows long, in document order."""
    groups: list[list[Row]] = []
    in_list = False
    for row in rows:
        plain = row.plain.strip()
        if not plain:
            continue
        if _START.match(plain):
            in_list = document_type in ("prescription", "discharge_summary") or bool(
                _FORM_LINE.match(plain[2:])
            )
            rest = _START.sub("", plain).strip(" :-")
            if not (rest and (_FORM_LINE.match(rest) or _DOSE.search(rest))):
                continue
            plain = rest
        elif in_list and _STOP.match(plain):
            in_list = False
        if in_list:
            if _HEADER.match(plain):
                continue
            continues = bool(_CONTINUATION.match(plain))
            if continues and groups:
                groups[-1].append(row)
            elif not continues and (
                _NUMBERED.match(plain) or _FORM_LINE.match(plain) or _DOSE.search(plain)
            ):
                groups.append([row])
        elif _FORM_LINE.match(plain):
            groups.append([row])
    items = []
    for group in groups:
        start = group[0].start + (len(group[0].text) - len(group[0].text.lstrip()))
        end = group[-1].start + len(group[-1].text.rstrip())
        printed = " ".join(" ".join(r.plain.split()) for r in group)
        confidence = round(confidence_of(start, end), 4)
        items.append(
            MedicationLine(
                text=printed,
                span=Span(start=start, end=end),
                confidence=confidence,
                low_confidence=confidence < threshold,
            )
        )
    return items
