"""Words the rules engine knows: tests, studies, referrals, order verbs, negation cues.

LOINC codes are given only where the code is certain for the test as usually ordered;
everything else carries a display name and no code (the FHIR stage sends ``code.text``).
Aliases are regular expressions matched case-insensitively on word boundaries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from carepipe.engines.orders.models import LOINC, ServiceCategory


@dataclass(frozen=True)
class ServiceEntry:
    """One orderable service and the ways clinicians write it."""

    display: str
    category: ServiceCategory
    aliases: tuple[str, ...]
    code: str | None = None
    system: str | None = None


def _lab(display: str, code: str | None, *aliases: str) -> ServiceEntry:
    return ServiceEntry(display, "laboratory", aliases, code, LOINC if code else None)


def _img(display: str, *aliases: str) -> ServiceEntry:
    return ServiceEntry(display, "imaging", aliases)


def _proc(display: str, *aliases: str) -> ServiceEntry:
    return ServiceEntry(display, "procedure", aliases)


def _ref(specialty: str, *aliases: str) -> ServiceEntry:
    return ServiceEntry(specialty, "referral", aliases)


# Imaging "modality of site" helpers: "CT head", "CT of the head", "head CT".
def _modality(mod: str, site: str) -> tuple[str, str]:
    return (rf"{mod}\s+(?:of\s+)?(?:the\s+)?{site}", rf"{site}\s+{mod}")


_CT = r"(?:ct|cat)(?:\s+scan)?"
_MRI = r"mri(?:\s+scan)?"
_US = r"(?:ultrasound|ultrasonography|sonogram|usg|us)(?:\s+scan)?"
_XR = r"(?:x-?\s?rays?|xr|radiograph|film)"

SERVICES: tuple[ServiceEntry, ...] = (
    # --- laboratory ---------------------------------------------------------------------
    _lab(
        "HbA1c",
        "4548-4",
        r"hb\s?a1c",
        r"a1c",
        r"h(?:a)?emoglobin\s+a1c",
        r"glycated\s+h(?:a)?emoglobin",
        r"glycosylated\s+h(?:a)?emoglobin",
    ),
    _lab(
        "Lipid panel",
        "57698-3",
        r"lipid\s+(?:panel|profile|screen)",
        r"lipids",
        r"fasting\s+lipids",
        r"cholesterol\s+panel",
    ),
    _lab(
        "CBC",
        "58410-2",
        r"cbc(?:\s+with\s+diff(?:erential)?)?",
        r"complete\s+blood\s+(?:count|picture)",
        r"full\s+blood\s+count",
        r"fbc",
        r"hemogram",
    ),
    _lab("BMP", "51990-0", r"bmp", r"basic\s+metabolic\s+panel", r"chem\s?7"),
    _lab(
        "CMP",
        "24323-8",
        r"cmp",
        r"comprehensive\s+metabolic\s+panel",
        r"chem\s?14",
    ),
    _lab(
        "Hepatic function panel",
        "24325-3",
        r"lfts?",
        r"liver\s+function\s+(?:tests?|panel)",
        r"hepatic\s+(?:function\s+)?panel",
        r"liver\s+panel",
    ),
    _lab("TSH", "3016-3", r"tsh", r"thyroid[-\s]stimulating\s+hormone", r"thyrotropin"),
    _lab("Free T4", "3024-7", r"free\s+t4", r"ft4", r"free\s+thyroxine"),
    _lab(
        "Urinalysis",
        "24356-8",
        r"urinalysis",
        r"urine\s+analysis",
        r"ua",
        r"urine\s+r/?e",
        r"urine\s+routine",
    ),
    _lab(
        "Urine culture",
        None,
        r"urine\s+(?:for\s+)?(?:culture|c\s?&\s?s|c/s)",
        r"urine\s+culture\s+and\s+sensitivity",
    ),
    _lab("Blood culture", None, r"blood\s+cultures?"),
    _lab("Creatinine", "2160-0", r"(?:serum\s+)?creatinine", r"(?:serum\s+)?creat", r"s\.?\s?cr"),
    _lab("Potassium", "2823-3", r"(?:serum\s+)?potassium", r"(?:serum\s+)?k\+"),
    _lab("Sodium", "2951-2", r"(?:serum\s+)?sodium", r"(?:serum\s+)?na\+"),
    _lab("Glucose", "2345-7", r"(?:serum\s+|blood\s+|plasma\s+)?glucose", r"blood\s+sugar"),
    _lab("Hemoglobin", "718-7", r"h(?:a)?emoglobin", r"hgb", r"hb"),
    _lab("INR", "6301-6", r"inr", r"pt\s*/\s*inr"),
    _lab("CRP", "1988-5", r"crp", r"c[-\s]reactive\s+protein"),
    _lab("ESR", None, r"esr", r"sed(?:imentation)?\s+rate"),
    _lab("Magnesium", "19123-9", r"(?:serum\s+)?magnesium", r"mg\s+level"),
    _lab("ALT", "1742-6", r"alt", r"sgpt", r"alanine\s+aminotransferase"),
    _lab("Lipase", None, r"(?:serum\s+)?lipase"),
    _lab("Amylase", None, r"(?:serum\s+)?amylase"),
    _lab("Ferritin", None, r"(?:serum\s+)?ferritin"),
    _lab("Vitamin B12", None, r"(?:vitamin\s+)?b12(?:\s+level)?", r"cobalamin"),
    _lab(
        "Vitamin D level",
        None,
        r"vitamin\s+d\s+(?:level|test)",
        r"25[-\s]?(?:oh|hydroxy)\s+vitamin\s+d",
    ),
    _lab("PSA", None, r"psa", r"prostate[-\s]specific\s+antigen"),
    _lab("Troponin", None, r"troponins?"),
    _lab(
        "Urine albumin/creatinine ratio", None, r"uacr", r"(?:urine\s+)?albumin.creatinine\s+ratio"
    ),
    _lab("Renal function panel", None, r"rfts?", r"renal\s+function\s+(?:tests?|panel)", r"kfts?"),
    _lab("Electrolytes", None, r"electrolytes", r"lytes", r"u\s?&\s?es?"),
    _lab("Coagulation panel", None, r"coag(?:ulation)?\s+(?:panel|profile|screen)", r"coags"),
    _lab("Stool culture", None, r"stool\s+(?:for\s+)?culture"),
    # --- imaging -------------------------------------------------------------------------
    _img("Chest X-ray", r"chest\s+" + _XR, r"cxr", *_modality(_XR, "chest")),
    _img("CT head", *_modality(_CT, "(?:head|brain)")),
    _img("CT chest", *_modality(_CT, "chest")),
    _img("CT abdomen and pelvis", *_modality(_CT, r"abdomen\s+(?:and|&)\s+pelvis")),
    _img("CT abdomen", *_modality(_CT, "abdomen")),
    _img("MRI brain", *_modality(_MRI, "(?:brain|head)")),
    _img("MRI lumbar spine", *_modality(_MRI, r"(?:lumbar|l)(?:\s+|-)spine"), r"lumbar\s+mri"),
    _img("MRI cervical spine", *_modality(_MRI, r"(?:cervical|c)(?:\s+|-)spine")),
    _img("MRI knee", *_modality(_MRI, r"(?:left\s+|right\s+)?knee")),
    _img(
        "Abdominal ultrasound",
        *_modality(_US, r"(?:the\s+)?abdomen"),
        r"abdominal\s+" + _US,
        r"usg\s+abdomen",
    ),
    _img("Pelvic ultrasound", *_modality(_US, "pelvis"), r"pelvic\s+" + _US),
    _img("Thyroid ultrasound", *_modality(_US, r"(?:the\s+)?thyroid")),
    _img("Renal ultrasound", *_modality(_US, r"(?:the\s+)?kidneys?"), r"renal\s+" + _US),
    _img("Echocardiogram", r"echocardiogram", r"echocardiography", r"echo", r"2d\s+echo", r"tte"),
    _img("Mammogram", r"(?:screening\s+)?mammogram", r"mammography"),
    _img("DEXA scan", r"dexa(?:\s+scan)?", r"bone\s+density\s+(?:scan|test)"),
    _img("Knee X-ray", *_modality(_XR, r"(?:left\s+|right\s+)?knee")),
    _img("Abdominal X-ray", *_modality(_XR, "abdomen"), r"axr"),
    # --- procedures ----------------------------------------------------------------------
    _proc("ECG", r"ecg", r"ekg", r"electrocardiogram", r"12[-\s]lead\s+ecg"),
    _proc("Colonoscopy", r"colonoscopy"),
    _proc("Upper GI endoscopy", r"endoscopy", r"egd", r"ogd", r"upper\s+gi\s+endoscopy"),
    _proc("Spirometry", r"spirometry", r"pfts?", r"pulmonary\s+function\s+tests?"),
    _proc("Holter monitor", r"holter(?:\s+monitor)?"),
    _proc("Stress test", r"(?:exercise\s+|treadmill\s+)?stress\s+test", r"tmt"),
    # --- referrals (found after "refer to"/"referral to"/"consult") ------------------------
    _ref("Cardiology", r"cardiology", r"cardiologist"),
    _ref("Ophthalmology", r"ophthalmology", r"ophthalmologist", r"eye\s+clinic"),
    _ref("Podiatry", r"podiatry", r"podiatrist", r"foot\s+clinic"),
    _ref("Gastroenterology", r"gastroenterology", r"gastroenterologist", r"gi"),
    _ref("Physiotherapy", r"physiotherapy", r"physical\s+therapy", r"physio", r"pt"),
    _ref("Endocrinology", r"endocrinology", r"endocrinologist", r"endo"),
    _ref("Nephrology", r"nephrology", r"nephrologist", r"renal\s+clinic"),
    _ref("Neurology", r"neurology", r"neurologist"),
    _ref("Dermatology", r"dermatology", r"dermatologist"),
    _ref("Orthopedics", r"orthop(?:a)?edics?", r"orthop(?:a)?edic\s+surgeon", r"ortho"),
    _ref("Psychiatry", r"psychiatry", r"psychiatrist"),
    _ref("Pulmonology", r"pulmonology", r"pulmonologist", r"chest\s+clinic"),
    _ref("Dietitian", r"dietitian", r"dietician", r"nutritionist", r"nutrition"),
    _ref("Diabetes education", r"diabetes\s+educat(?:ion|or)"),
    _ref("Urology", r"urology", r"urologist"),
    _ref("ENT", r"ent", r"otolaryngology"),
    _ref("Oncology", r"oncology", r"oncologist"),
    _ref("General surgery", r"general\s+surgery", r"surgeon", r"surgery"),
    _ref("Rheumatology", r"rheumatology", r"rheumatologist"),
    _ref("Obstetrics and gynecology", r"ob[-/\s]?gyn", r"gyn(?:a)?ecology", r"obstetrics"),
    _ref("Occupational therapy", r"occupational\s+therapy", r"ot"),
    _ref("Speech therapy", r"speech\s+(?:and\s+language\s+)?therapy"),
)

# Referral specialties are matched only in a referral context: "pt", "gi", "ent", "ot",
# "endo" and "surgery" are far too common as plain words.
REFERRAL_CONTEXT = re.compile(
    r"\b(?:refer(?:ral|red)?|consult(?:ation)?|send\s+to|see\s+(?:the\s+)?|review\s+by|"
    r"appointment\s+with|opinion)\b",
    re.IGNORECASE,
)
# Short lab/imaging aliases that also spell ordinary words need an order context.
AMBIGUOUS_ALIASES = frozenset({"ua", "hb", "echo", "alt", "pt", "ot", "ent", "gi", "endo"})


@dataclass(frozen=True)
class CompiledService:
    entry: ServiceEntry
    pattern: re.Pattern[str]
    ambiguous: re.Pattern[str] | None


@lru_cache(maxsize=1)
def compiled_services() -> tuple[CompiledService, ...]:
    """Each service with one alternation of its aliases (compiled once per process)."""
    out = []
    for entry in SERVICES:
        plain = [a for a in entry.aliases if a not in AMBIGUOUS_ALIASES]
        amb = [a for a in entry.aliases if a in AMBIGUOUS_ALIASES]
        pattern = re.compile(r"(?<![\w-])(?:" + "|".join(plain) + r")(?![\w])", re.IGNORECASE)
        amb_re = (
            re.compile(r"(?<![\w-])(?:" + "|".join(amb) + r")(?![\w])", re.IGNORECASE)
            if amb
            else None
        )
        out.append(CompiledService(entry, pattern, amb_re))
    return tuple(out)


def service_by_name(name: str, category: str | None = None) -> ServiceEntry | None:
    """The lexicon entry a free-form service name means (used to code LLM output).

    A whole-name alias match wins; otherwise the longest alias found inside the name
    ("Hemoglobin A1c test" -> HbA1c), restricted to ``category`` when given.
    """
    cleaned = re.sub(r"\s+", " ", name.strip())
    best: tuple[int, ServiceEntry] | None = None
    for cs in compiled_services():
        if cs.entry.display.lower() == cleaned.lower():
            return cs.entry
        for pat in (cs.pattern, cs.ambiguous):
            if pat is None:
                continue
            if pat.fullmatch(cleaned):
                return cs.entry
            if category is not None and cs.entry.category != category:
                continue
            if pat is cs.ambiguous:
                continue  # "pt" inside a longer name is too weak to code it
            for m in pat.finditer(cleaned):
                if best is None or m.end() - m.start() > best[0]:
                    best = (m.end() - m.start(), cs.entry)
    return best[1] if best else None


# --- verbs ---------------------------------------------------------------------------------

_VERB_GROUPS: dict[str, str] = {
    "start": "start starts started starting begin commence initiate prescribe prescribed "
    "give administer take add put resume restart trial",
    "stop": "stop discontinue discontinued cease hold withhold suspend withdraw d/c dc",
    "change": "increase increased decrease decreased reduce reduced titrate uptitrate "
    "up-titrate downtitrate change adjust double halve taper wean",
    "continue": "continue continued keep maintain remain",
}
# Medication verbs -> order action.
VERBS: dict[str, str] = {w: action for action, ws in _VERB_GROUPS.items() for w in ws.split()}

ORDER_VERBS = re.compile(
    r"\b(?:order|orders|ordered|check|recheck|repeat|get|obtain|send|do|draw|request|arrange|"
    r"schedule|book|perform|need|needs|please|refer|referral|plan)\b",
    re.IGNORECASE,
)

# Clause-level negation: the clause declines, defers or refuses something.
NEGATION = re.compile(
    r"\b(?:no\s+need\s+(?:for|of|to)|no(?=\s+\w)|not\s+(?:needed|required|indicated|necessary)|"
    r"not\s+(?:a|an|any)\b|"
    r"do\s+not|don't|avoid|avoiding|declines?|declined|refuses?|refused|defer|deferred|"
    r"hold\s+off|unnecessary|without\s+(?:any\s+)?(?:need|indication))\b",
    re.IGNORECASE,
)
# Words after which the rest of the clause is a reason, not an order ("due to low eGFR").
REASON = re.compile(
    r"\b(?:due\s+to|because(?:\s+of)?|secondary\s+to|given|in\s+view\s+of|owing\s+to|since)\b",
    re.IGNORECASE,
)

FOLLOW_UP = re.compile(
    r"\b(?:follow[-\s]?up|f/u|fu|review|see\s+(?:me|him|her|them|the\s+patient|patient)?\s*"
    r"(?:back|again)?|return(?:\s+to\s+clinic)?|rtc|come\s+back|revisit|recall|re-?visit|"
    r"next\s+(?:visit|appointment)|reassess|re-?evaluate)\b"
    r"[^.;]*?\b(?:in|after|within)\s+(?:about\s+|approximately\s+|another\s+)?"
    r"(?P<value>\d+(?:\.\d+)?|a|an)\s*(?P<unit>days?|d|weeks?|wks?|w|months?|mos?|m|years?|yrs?|y)\b",
    re.IGNORECASE,
)

TIME_UNITS: dict[str, str] = {
    "day": "d",
    "days": "d",
    "d": "d",
    "week": "wk",
    "weeks": "wk",
    "wk": "wk",
    "wks": "wk",
    "w": "wk",
    "month": "mo",
    "months": "mo",
    "mo": "mo",
    "mos": "mo",
    "m": "mo",
    "year": "a",
    "years": "a",
    "yr": "a",
    "yrs": "a",
    "y": "a",
    "hour": "h",
    "hours": "h",
    "hr": "h",
    "hrs": "h",
    "h": "h",
    "minute": "min",
    "minutes": "min",
    "min": "min",
    "mins": "min",
}
