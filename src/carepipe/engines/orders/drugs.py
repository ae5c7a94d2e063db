"""Names the orders engine knows beyond the shared clinical NLP's lexicon.

Prescriptions written in India name brands more often than generics ("Tab Glycomet 500
1-0-1"), many of them combinations ("Pan-D", "Telma-H"), and clinicians everywhere
abbreviate ("amox", "doxy", "KCl"). This module maps those names to the generic(s) they
contain, keeping the brand as written. Entries here win over the shared NLP where both
match the same words (its lexicon reads "Montair" in "Montair LC" as montelukast alone).

Brand -> composition pairs are public facts (the pack label). They were written from
clinical knowledge of the Indian and US markets and list only single, well-known
compositions; a brand sold in several compositions is listed by the suffix that tells
them apart ("Telma" vs "Telma-H" vs "Telma-AM") or not at all.

Canonical names follow the shared NLP lexicon (RxNorm-style "acetaminophen"); a
combination is its ingredients joined by " / " in label order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class DrugName:
    """One way of writing a medication, and what it means."""

    generic: str  # canonical generic, "a / b" for a combination
    brand: bool  # True: a brand name (kept as written on the order)
    default_unit: str = "mg"  # unit of a bare strength number ("Thyronorm 50" is mcg)
    case_sensitive: bool = False  # "NS", "TT": only in capitals (else ordinary words)

    @property
    def combination(self) -> bool:
        """True for a product with more than one active ingredient."""
        return " / " in self.generic


def _b(generic: str, unit: str = "mg") -> DrugName:
    return DrugName(generic, True, unit)


def _g(generic: str, unit: str = "mg", case_sensitive: bool = False) -> DrugName:
    return DrugName(generic, False, unit, case_sensitive)


APAP = "acetaminophen"

# Written form (a regular expression, matched on word boundaries) -> meaning.
NAMES: dict[str, DrugName] = {
    # --- single-ingredient brands (India unless noted) -----------------------------------
    r"crocin": _b(APAP),
    r"dolo": _b(APAP),
    r"calpol": _b(APAP),
    r"pacimol": _b(APAP),
    r"tylenol": _b(APAP),  # US
    r"glycomet": _b("metformin"),
    r"glyciphage": _b("metformin"),
    r"gluconorm": _b("metformin"),
    r"obimet": _b("metformin"),
    r"telma": _b("telmisartan"),
    r"telmikind": _b("telmisartan"),
    r"pantocid": _b("pantoprazole"),
    r"pantop": _b("pantoprazole"),
    r"pantodac": _b("pantoprazole"),
    r"pan(?=\s*(?:\d|iv\b|inj))": _b("pantoprazole"),  # "Pan 40", "Pan IV": else a word
    r"razo": _b("rabeprazole"),
    r"rablet": _b("rabeprazole"),
    r"omez": _b("omeprazole"),
    r"nexpro": _b("esomeprazole"),
    r"sompraz": _b("esomeprazole"),
    r"ecosprin": _b("aspirin"),
    r"loprin": _b("aspirin"),
    r"atorva": _b("atorvastatin"),
    r"storvas": _b("atorvastatin"),
    r"lipvas": _b("atorvastatin"),
    r"rosuvas": _b("rosuvastatin"),
    r"rozavel": _b("rosuvastatin"),
    r"amlong": _b("amlodipine"),
    r"stamlo": _b("amlodipine"),
    r"amlokind": _b("amlodipine"),
    r"amlopres": _b("amlodipine"),
    r"cilacar": _b("cilnidipine"),
    r"thyronorm": _b("levothyroxine", "mcg"),
    r"eltroxin": _b("levothyroxine", "mcg"),
    r"thyrox": _b("levothyroxine", "mcg"),
    r"lasix": _b("furosemide"),
    r"dytor": _b("torsemide"),
    r"aldactone": _b("spironolactone"),
    r"met\s*xl": _b("metoprolol"),
    r"metolar": _b("metoprolol"),
    r"concor": _b("bisoprolol"),
    r"cardace": _b("ramipril"),
    r"repace": _b("losartan"),
    r"losar": _b("losartan"),
    r"clopilet": _b("clopidogrel"),
    r"clavix": _b("clopidogrel"),
    r"deplatt": _b("clopidogrel"),
    r"amaryl": _b("glimepiride"),
    r"glimestar": _b("glimepiride"),
    r"glizid": _b("gliclazide"),
    r"istavel": _b("sitagliptin"),
    r"jalra": _b("vildagliptin"),
    r"zyloric": _b("allopurinol"),
    r"wysolone": _b("prednisolone"),
    r"omnacortil": _b("prednisolone"),
    r"dexona": _b("dexamethasone"),
    r"novamox": _b("amoxicillin"),
    r"azee": _b("azithromycin"),
    r"azithral": _b("azithromycin"),
    r"ciplox": _b("ciprofloxacin"),
    r"cifran": _b("ciprofloxacin"),
    r"taxim[-\s]?o": _b("cefixime"),
    r"zifi": _b("cefixime"),
    r"monocef": _b("ceftriaxone"),
    r"metrogyl": _b("metronidazole"),
    r"flagyl": _b("metronidazole"),
    r"allegra": _b("fexofenadine"),
    r"cetzine": _b("cetirizine"),
    r"okacet": _b("cetirizine"),
    r"montair": _b("montelukast"),
    r"asthalin": _b("albuterol", "mcg"),
    r"budecort": _b("budesonide", "mcg"),
    r"ondem": _b("ondansetron"),
    r"emeset": _b("ondansetron"),
    r"zofran": _b("ondansetron"),  # US
    r"domstal": _b("domperidone"),
    r"calcirol": _b("cholecalciferol", "[iU]"),
    r"uprise[-\s]?d3": _b("cholecalciferol", "[iU]"),
    r"folvite": _b("folic acid"),
    r"becosules": _b("vitamin b complex"),
    r"zerodol": _b("aceclofenac"),
    r"voveran": _b("diclofenac"),
    r"brufen": _b("ibuprofen"),
    r"lantus": _b("insulin glargine", "[iU]"),
    r"basalog": _b("insulin glargine", "[iU]"),
    r"(?:human\s+)?actrapid": _b("insulin regular", "[iU]"),
    r"lovenox": _b("enoxaparin"),  # US
    r"clexane": _b("enoxaparin"),
    r"levipil": _b("levetiracetam"),
    r"nexito": _b("escitalopram"),
    r"alprax": _b("alprazolam"),
    r"restyl": _b("alprazolam"),
    r"rivotril": _b("clonazepam"),
    r"clonotril": _b("clonazepam"),
    r"vertin": _b("betahistine"),
    r"stugeron": _b("cinnarizine"),
    r"duphalac": _b("lactulose"),
    r"sorbitrate": _b("isosorbide dinitrate"),
    # --- combination brands --------------------------------------------------------------
    r"augmentin": _b("amoxicillin / clavulanate"),
    r"clavam": _b("amoxicillin / clavulanate"),
    r"moxclav": _b("amoxicillin / clavulanate"),
    r"pan[-\s]?d": _b("pantoprazole / domperidone"),
    r"pantocid[-\s]?d(?:sr)?": _b("pantoprazole / domperidone"),
    r"pantop[-\s]?d": _b("pantoprazole / domperidone"),
    r"razo[-\s]?d": _b("rabeprazole / domperidone"),
    r"omez[-\s]?d": _b("omeprazole / domperidone"),
    r"rablet[-\s]?d": _b("rabeprazole / domperidone"),
    r"ecosprin[-\s]?av": _b("aspirin / atorvastatin"),
    r"telma[-\s]?h": _b("telmisartan / hydrochlorothiazide"),
    r"telma[-\s]?am": _b("telmisartan / amlodipine"),
    r"glycomet[-\s]?gp": _b("glimepiride / metformin"),
    r"gemer": _b("glimepiride / metformin"),
    r"janumet": _b("sitagliptin / metformin"),
    r"istamet": _b("sitagliptin / metformin"),
    r"galvus\s*met": _b("vildagliptin / metformin"),
    r"montair[-\s]?lc": _b("montelukast / levocetirizine"),
    r"montek[-\s]?lc": _b("montelukast / levocetirizine"),
    r"shelcal": _b("calcium carbonate / cholecalciferol"),
    r"combiflam": _b(f"ibuprofen / {APAP}"),
    r"zerodol[-\s]?p": _b(f"aceclofenac / {APAP}"),
    r"hifenac[-\s]?p": _b(f"aceclofenac / {APAP}"),
    r"ultracet": _b(f"tramadol / {APAP}"),
    r"norflox[-\s]?tz": _b("norfloxacin / tinidazole"),
    r"seroflo": _b("salmeterol / fluticasone", "mcg"),
    r"foracort": _b("formoterol / budesonide", "mcg"),
    r"duolin": _b("levalbuterol / ipratropium"),
    r"septran": _b("sulfamethoxazole / trimethoprim"),
    r"bactrim": _b("sulfamethoxazole / trimethoprim"),
    r"deriphyllin(?:\s+retard)?": _b("etofylline / theophylline"),
    # --- generics and combinations the shared lexicon lacks or splits --------------------
    r"iron\s+sucrose": _g("iron sucrose"),
    r"tetanus\s+toxoid": _g("tetanus toxoid"),
    r"TT": _g("tetanus toxoid", case_sensitive=True),
    r"etofylline": _g("etofylline"),
    r"amoxicillin[-\s]+clavulan(?:ate|ic\s+acid)|co-amoxiclav|amoxiclav": _g(
        "amoxicillin / clavulanate"
    ),
    # --- abbreviations ---------------------------------------------------------------------
    r"amox": _g("amoxicillin"),
    r"doxy": _g("doxycycline"),
    r"azithro": _g("azithromycin"),
    r"kcl": _g("potassium chloride", "meq"),
    r"mgso4|mg\s+so4": _g("magnesium sulfate", "g"),
    r"ntg": _g("nitroglycerin"),
    r"apap": _g(APAP),
    r"mtx": _g("methotrexate"),
    r"vit\.?\s*d3?": _g("cholecalciferol", "[iU]"),
    r"vit\.?\s*b12": _g("cyanocobalamin", "mcg"),
    r"NS": _g("sodium chloride", "mL", case_sensitive=True),
    r"normal\s+saline": _g("sodium chloride", "mL"),
}

# Shared-NLP canonical names of combinations, in this module's "a / b" form.
NLP_COMBINATIONS: dict[str, str] = {
    "amoxicillin clavulanate": "amoxicillin / clavulanate",
    "sulfamethoxazole trimethoprim": "sulfamethoxazole / trimethoprim",
    "budesonide formoterol": "formoterol / budesonide",
    "fluticasone salmeterol": "salmeterol / fluticasone",
    "carbidopa levodopa": "carbidopa / levodopa",
}

# Units of a bare strength ("Thyronorm 50", "Lantus 10") by canonical generic.
DEFAULT_UNITS: dict[str, str] = {
    "levothyroxine": "mcg",
    "insulin": "[iU]",
    "heparin": "[iU]",
    "cholecalciferol": "[iU]",
    "cyanocobalamin": "mcg",
}


def default_unit(generic: str) -> str:
    """The unit of a strength written without one, for ``generic``."""
    if generic.startswith("insulin"):
        return "[iU]"
    return DEFAULT_UNITS.get(generic, "mg")


@dataclass(frozen=True)
class NameMatch:
    """A name found in text."""

    start: int
    end: int
    surface: str
    name: DrugName


@lru_cache(maxsize=1)
def _patterns() -> tuple[tuple[re.Pattern[str], DrugName], ...]:
    out = []
    for pattern, name in NAMES.items():
        flags = 0 if name.case_sensitive else re.IGNORECASE
        out.append((re.compile(rf"(?<![\w-])(?:{pattern})(?!\w|-[A-Za-z])", flags), name))
    return tuple(out)


def find_names(text: str) -> list[NameMatch]:
    """Names of this module in ``text``: longest first, never overlapping, in text order."""
    hits: list[NameMatch] = []
    for rx, name in _patterns():
        for m in rx.finditer(text):
            hits.append(NameMatch(m.start(), m.end(), m.group(0), name))
    hits.sort(key=lambda h: (-(h.end - h.start), h.start))
    chosen: list[NameMatch] = []
    for h in hits:
        if not any(h.start < c.end and c.start < h.end for c in chosen):
            chosen.append(h)
    return sorted(chosen, key=lambda h: h.start)


def canonical_combination(name: str) -> str:
    """The "a / b" form of a shared-NLP combination name; other names unchanged."""
    return NLP_COMBINATIONS.get(name, name)


def digest_source() -> str:
    """Everything in this module that changes what the engine reads (for model_version)."""
    return repr(sorted((k, v) for k, v in NAMES.items())) + repr(sorted(NLP_COMBINATIONS.items()))
