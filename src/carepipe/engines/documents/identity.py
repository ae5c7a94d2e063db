"""Who the document is about: identifiers by their labels, name, date of birth, age, sex.

Rules:

- A patient identifier is taken only after a patient label (MRN, UHID, Patient ID,
  MR No, Hospital No, IP No, OPD No; in that order of preference). Numbers after
  prescriber or facility labels (Reg. No, NPI, DEA, licence, NABL, CLIA, lab or
  account numbers) are collected first and never taken as the patient's, nor is
  anything shaped like a medical council registration (``DMC/R/40112``).
- Names: "Name : Mr. RAJESH KUMAR IYER" (title dropped, last word the family name)
  and "HARRIS, MICHAEL T" (family name before the comma).
- Dates of birth are read in the document's day/month order: what its own dates
  prove (a 23/11 can only be day first), else the tenant's setting, else cues
  (a US ZIP code and phone number, or an Indian PIN code, UHID, lakhs/cumm), else
  the default. A date that could be read both ways, decided only by the default, is
  marked low-confidence (review).

The text searched is ``OcrResult.text`` with a tab where the word boxes show a
column gap, so a value never runs into the next column's label.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable

from carepipe.engines.documents import normalize as norm
from carepipe.engines.documents.types import ExtractedField, PatientIdentifiers, Span

REPAIRED = 0.85
FUZZY = 0.85
AMBIGUOUS = 0.8
#: A day/month date that reads both ways, decided only by the default order.
AMBIGUOUS_DATE = 0.5
CUED_DATE = 0.9
#: Confidence of an exact sex letter or word after its label (see extract_patient).
EXACT_SEX = 0.9

ConfidenceOf = Callable[[int, int], float]

_SEP = r"[ \t]*[:;.\-=]*[ \t]*"
# OCR puts stray marks between a label and its value ("Patient: © HARRIS").
_JUNK = r"(?:[©®=|_~*»«'\"`]+[ \t]*)?"
_STOP = (
    r"(?:Age|Sex|Gender|DOB|D\.?O\.?B|Date|MRN|UHID|ID|Patient|ABHA|Ref|Reg|Sample|Mobile"
    r"|Phone|Ward|Bed|IP|OP|OPD|Result|Flag|Unit|Units|Value|Acct|Account|Lab|Collected)\b"
)
_TITLE = r"(?:(?:Mr|Mrs|Ms|Miss|Master|Baby|Smt|Shri|Sri|Kum|Mstr)\.?[ \t]+)?"
_NAME = re.compile(
    r"(?<![A-Za-z])(?<![A-Za-z][ ])(?P<label>Patient'?s?\.?[ ]*Name|Pt\.?[ ]*Name"
    r"|Name[ ]+of[ ]+(?:the[ ]+)?Patient|Patient(?![ ]*(?:ID|No|Name|Reg)\b)|Name)"
    + _SEP
    + _JUNK
    + _TITLE
    + r"(?P<name>(?!"
    + _STOP
    + r")[A-Za-z][A-Za-z.'\-]*"
    r"(?:(?:,[ \t]*|[ ]+)(?!" + _STOP + r")[A-Za-z][A-Za-z.'\-]*){0,4})",
    re.IGNORECASE,
)
#: Patient identifier labels, most preferred first.
_ID_LABELS: list[tuple[str, str]] = [
    ("MRN", r"MRN|M\.[ ]?R\.[ ]?N\.?|MR[ ]*No|Medical[ ]+Record[ ]+(?:No|Number)"),
    ("UHID", r"UHID"),
    ("Patient ID", r"Patient[ ]*ID|Pt\.?[ ]*ID|PID"),
    ("Hospital No", r"Hospital[ ]+No"),
    ("IP No", r"IPD?[ ]*No|In[ -]?patient[ ]+No"),
    ("OPD No", r"OPD?[ ]*No|Out[ -]?patient[ ]+No"),
]
_ID = re.compile(
    r"(?<![A-Za-z])(?P<label>"
    + "|".join(f"(?P<l{i}>{p})" for i, (_, p) in enumerate(_ID_LABELS))
    + r")\.?"
    + _SEP
    + r"(?P<value>[A-Z0-9][A-Z0-9\-/.]{2,})",
    re.IGNORECASE,
)
#: Prescriber, facility and specimen numbers: never the patient's.
_FOREIGN = re.compile(
    r"(?<![A-Za-z])(?:Reg(?:istration|n)?\.?[ ]*No|NPI|DEA|Lic(?:ence|ense)?\.?(?:[ ]*No)?"
    r"|NABL(?:[ ]+Cert\.?)?(?:[ ]*No)?|CLIA|CAP[ ]*#|GSTIN|CIN|Lab[ ]*No|Acct[ ]*#?|Account"
    r"(?:[ ]*No)?|Sample[ ]*(?:ID|No)|Accession(?:[ ]*No)?|Bill[ ]*No|Invoice[ ]*No)\.?"
    + _SEP
    + r"#?[ ]*(?P<value>[A-Z0-9][A-Z0-9\-/. ]{2,}?)(?=[ ]{2}|[\t\n\f),;]|\.?[ ]|$)",
    re.IGNORECASE,
)
_COUNCIL = re.compile(r"^(?:[A-Z]{2,5}/R/\d+|(?:DMC|MCI|KMC|TNMC|MMC|APMC|WBMC)\b.*)$")
_ABHA_LABELLED = re.compile(
    r"(?P<label>ABHA)(?:[ ]*(?:No|Number|Num|ID))?\.?"
    + _SEP
    + r"(?P<value>{d}{{2}}{s}{d}{{4}}{s}{d}{{4}}{s}{d}{{4}})".format(
        d="[0-9OoIlS]", s=r"[ \-\u2013]?"
    )
    + r"(?![0-9A-Za-z])",
    re.IGNORECASE,
)
_ABHA_BARE = re.compile(r"(?<![\d\-])(?P<value>\d{2}-\d{4}-\d{4}-\d{4})(?![\d\-])")
_DOB_LABEL = re.compile(r"(?:DOB|D\.[ ]?O\.[ ]?B\.?|Date[ ]+of[ ]+Birth|Birth[ ]*Date)" + _SEP,
                        re.IGNORECASE)  # fmt: skip
_SEX = re.compile(r"(?:(?<![A-Za-z])Sex|Gender)[ \t]*[:;.\-=]+[ \t]*(?P<value>[A-Za-z]+)",
                  re.IGNORECASE)  # fmt: skip
_AGE_SEX = re.compile(
    r"Age[ ]*[/|][ ]*(?:Sex|Gender)" + _SEP + r"(?P<age>\d{1,3})[ ]*(?:Y|Yrs?|Years?)?\.?[ ]*"
    r"[/|,][ ]*(?P<sex>[A-Za-z]+)",
    re.IGNORECASE,
)
_AGE = re.compile(
    r"(?<![A-Za-z])Age" + _SEP + r"(?P<age>\d{1,3})(?:[ ]*(?:Y|Yrs?|Years?)\b\.?)?(?![\d/.:])",
    re.IGNORECASE,
)
_US_CUES = [r"\b[A-Z]{2}[ ]\d{5}(?:-\d{4})?\b", r"\(\d{3}\)[ ]?\d{3}-\d{4}", r"\bNPI\b",
            r"\bCLIA\b", r"\bDEA\b", r"\bMRN\b", r"x10E\d", r"\bAcct\b"]  # fmt: skip
_IN_CUES = [r"\+91", r"\bUHID\b", r"\blakhs?\b", r"/cumm", r"\bOPD\b", r"-[ ]?\d{6}\b",
            r"\bMBBS\b", r"\bNABL\b", r"\bGSTIN\b", r"\bRs\.", "₹",
            r"\bY[ ]*/[ ]*[MF]\b"]  # fmt: skip


def _field(
    confidence_of: ConfidenceOf,
    threshold: float,
    value: str,
    raw: str,
    start: int,
    end: int,
    *,
    factor: float = 1.0,
    label: str | None = None,
    floor: float = 0.0,
) -> ExtractedField:
    confidence = round(max(floor, min(1.0, confidence_of(start, end) * factor)), 4)
    return ExtractedField(
        value=value,
        raw=raw,
        span=Span(start=start, end=end),
        confidence=confidence,
        low_confidence=confidence < threshold,
        label=label,
    )


def sex_of(token: str) -> tuple[str, bool] | None:
    """(male|female|other, exact?) from an OCR token like ``F``, ``Female``, ``Fernale``."""
    lowered = token.lower()
    exact = {"m": "male", "male": "male", "f": "female", "female": "female",
             "o": "other", "other": "other", "t": "other", "transgender": "other"}  # fmt: skip
    if lowered in exact:
        return exact[lowered], True
    for word in ("female", "male", "other"):
        if difflib.SequenceMatcher(None, lowered, word).ratio() >= 0.75:
            return word, False
    return None


def clean_name(raw: str) -> tuple[str, bool]:
    """A printed name tidied: OCR dots between words become spaces, a leading
    lowercase ``l`` of a word becomes ``I`` (names are capitalised)."""
    name = re.sub(r"(?<=[a-z])\.(?=[A-Z])", " ", raw)
    name = " ".join(name.split()).strip(" .-,")
    fixed = re.sub(r"\bl(?=[a-z])", "I", name)
    return fixed, fixed != " ".join(raw.split()).strip(" .-,")


def split_name(name: str) -> tuple[str | None, list[str]]:
    """(family, given) from "LAST, FIRST M" or "FIRST [MIDDLE] LAST"."""
    if "," in name:
        family, _, rest = name.partition(",")
        return family.strip() or None, [g.strip(".") for g in rest.split() if g.strip(".")]
    parts = name.split()
    if len(parts) == 1:
        return parts[0], []
    return parts[-1], parts[:-1]


def decide_date_order(text: str, tenant_order: str | None, default_order: str) -> tuple[str, str]:
    """(DMY|MDY, source): the document's own dates, the tenant, cues, or the default."""
    proven = norm.date_order_evidence(text)
    if proven:
        return proven, "document"
    if tenant_order in ("DMY", "MDY"):
        return tenant_order, "tenant"
    us = sum(1 for p in _US_CUES if re.search(p, text))
    india = sum(1 for p in _IN_CUES if re.search(p, text, re.IGNORECASE))
    if us > india:
        return "MDY", "cues"
    if india > us:
        return "DMY", "cues"
    return (default_order if default_order in ("DMY", "MDY") else "DMY"), "default"


def foreign_numbers(text: str) -> set[str]:
    """Numbers printed after prescriber, facility or specimen labels."""
    found = set()
    for match in _FOREIGN.finditer(text):
        value = match.group("value").strip(" .-/")
        found.add(value.upper())
        found.add(value.split()[0].upper() if value.split() else value.upper())
    return found


def _is_foreign(value: str, foreign: set[str], text_before: str) -> bool:
    if value.upper() in foreign or _COUNCIL.match(value.upper()):
        return True
    # A patient label inside a clinician's line ("Dr. X ... Reg. No."): not the patient.
    return bool(re.search(r"\b(?:Dr\.?|MBBS|M\.?D\b|NPI|Prescriber|Consultant)", text_before))


def extract_patient(
    text: str,
    confidence_of: ConfidenceOf,
    threshold: float,
    *,
    date_order: str = "DMY",
    date_order_source: str = "default",
) -> PatientIdentifiers:
    """Patient identifiers printed on the document (first good occurrence of each)."""
    found: dict[str, object] = {}
    field = lambda *a, **k: _field(confidence_of, threshold, *a, **k)  # noqa: E731

    for match in _NAME.finditer(text):
        name, repaired = clean_name(match.group("name"))
        if len(name) < 2:
            continue
        family, given = split_name(name)
        found["name"] = field(name, match.group("name"), match.start("name"), match.end("name"),
                              factor=REPAIRED if repaired else 1.0)  # fmt: skip
        found["family_name"], found["given_names"] = family, given
        break

    foreign = foreign_numbers(text)
    candidates = []
    for match in _ID.finditer(text):
        value = match.group("value").strip("-/.").upper()
        # OCR may drop the space before the next label: "CP-100234Sex:".
        cut = re.sub(r"(?<=\d)(?:SEX|DOB|AGE|GENDER|ABHA|NAME|DATE)$", "", value)
        if not any(c.isdigit() for c in cut):
            continue
        line_start = max(text.rfind("\n", 0, match.start()), text.rfind("\f", 0, match.start()))
        cell_start = max(line_start, text.rfind("\t", 0, match.start()))
        if _is_foreign(cut, foreign, text[cell_start + 1 : match.start()]):
            continue
        rank = next(i for i in range(len(_ID_LABELS)) if match.group(f"l{i}"))
        candidates.append((rank, match.start(), match, cut, value))
    if candidates:
        rank, _, match, cut, value = min(candidates, key=lambda c: (c[0], c[1]))
        found["mrn"] = field(cut, match.group("value"), match.start("value"),
                             match.start("value") + len(cut), label=_ID_LABELS[rank][0],
                             factor=REPAIRED if cut != value else 1.0)  # fmt: skip

    if match := _ABHA_LABELLED.search(text):
        raw = match.group("value")
        digits = re.sub(r"[ \-\u2013]", "", raw).translate(norm.DIGIT_LOOKALIKES)
        repaired = digits != re.sub(r"[ \-\u2013]", "", raw)
        if len(digits) == 14 and digits.isdigit():
            value = f"{digits[:2]}-{digits[2:6]}-{digits[6:10]}-{digits[10:]}"
            found["abha_number"] = field(
                value, raw, match.start("value"), match.end("value"),
                factor=REPAIRED if repaired else 1.0, label="ABHA",
            )  # fmt: skip
    if "abha_number" not in found and (match := _ABHA_BARE.search(text)):
        # Unlabelled: shaped like an ABHA number, but less sure it is one.
        value = match.group("value")
        found["abha_number"] = field(
            value, value, match.start("value"), match.end("value"), factor=AMBIGUOUS
        )

    for match in _DOB_LABEL.finditer(text):
        window_end = match.end() + 24
        stop = re.search(r"[\n\f]", text[match.end() : window_end])
        window = (
            text[match.end() : match.end() + stop.start()]
            if stop
            else text[match.end() : window_end]
        )
        dates = norm.find_dates(window, date_order)
        if not dates or dates[0].start > 2:
            continue
        parsed = dates[0]
        start, end = match.end() + parsed.start, match.end() + parsed.end
        raw = text[start:end]
        factor = REPAIRED if any(c in raw for c in "OoIl") else 1.0
        if parsed.ambiguous and date_order_source == "default":
            factor *= AMBIGUOUS_DATE
        elif parsed.ambiguous and date_order_source == "cues":
            factor *= CUED_DATE
        found["birth_date"] = field(parsed.value.isoformat(), raw, start, end, factor=factor,
                                    label=date_order)  # fmt: skip
        break

    age_sex = _AGE_SEX.search(text)
    sex_match = age_sex or _SEX.search(text)
    if sex_match is not None:
        group = "sex" if age_sex else "value"
        parsed_sex = sex_of(sex_match.group(group))
        if parsed_sex:
            value, exact = parsed_sex
            # Tesseract scores one-letter words low whatever it read; an exact M/F/Male/
            # Female right after a Sex label was never wrong on the dev pages (82 of 82,
            # 19 of them below 0.70), so an exact reading there is trusted.
            found["sex"] = field(value, sex_match.group(group), sex_match.start(group),
                                 sex_match.end(group), factor=1.0 if exact else FUZZY,
                                 floor=EXACT_SEX if exact else 0.0)  # fmt: skip
    age_match = age_sex or _AGE.search(text)
    if age_match is not None:
        found["age_years"] = field(str(int(age_match.group("age"))), age_match.group("age"),
                                   age_match.start("age"), age_match.end("age"))  # fmt: skip
    return PatientIdentifiers(**found)  # type: ignore[arg-type]
