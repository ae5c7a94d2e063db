# size: the service table (one entry per test, study or referral), read as one table.
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


# "OT home assessment" (ninth pass), "OT home visit" (sixteenth pass)
_OT_VISIT = (
    r"(?:ot|occupational\s+therapy)\s+(?:home\s+|functional\s+)?(?:assessment|eval(?:uation)?"
    r"|visit)"
)
# "Counselling with clinical psychologist" (sixteenth pass): an order on its own
_WITH_PSYCHOLOGIST = (
    r"(?:counsell?ing|therapy|sessions?|cbt)\s+with\s+(?:a\s+|the\s+)?(?:clinical\s+)?psychologist"
)


# Imaging "modality of site" helpers: "CT head", "CT of the head", "head CT".
def _modality(mod: str, site: str) -> tuple[str, str]:
    # "MRI of that knee", "X-ray of his left hip": a determiner may stand before the site.
    det = r"(?:(?:the|that|this|his|her|your|their)\s+)?"
    return (rf"{mod}\s+(?:of\s+)?{det}{site}", rf"{site}\s+{mod}")


_MG = r"(?<!\d)(?<!\d\s)(?-i:Mg)"
_ENDOCRINE_REVIEW = r"endocrine(?=\s+(?:review|opinion|consult|team))"
_NOT_A_SALT = (
    r"(?!\s+(?:valproate|chloride|bicarbonate|citrate|phosphate|picosulfate|alginate"
    r"|nitroprusside|fusidate|lactate|polystyrene|zirconium|feredetate|docusate))"
)
_PT_VERB = (
    r"(?!\s+(?:wants|wanted|wishes|has|had|is|was|declines|declined|refuses|refused|agrees"
    r"|agreed|prefers|reports|says|states|feels|will|would|needs|asked|asks|understands)\b)"
)
# "PAC clearance", "pre-anaesthetic check-up": a referral to the anaesthetist in itself
# (eleventh pass), so also read with no referral word
_PAC = r"pac\s+(?:clearance|check(?:-?up)?)"
_PRE_ANAESTHETIC = (
    r"pre-?an(?:a)?esthe(?:tic|sia)\s+(?:check(?:-?up)?|clearance|assessment|evaluation)"
)
# Thirteenth pass: an eye examination by the specialist is the referral; "calcium" alone
# is the test when a list of levels follows ("check calcium and vitamin D levels").
_EYE_EXAM_BY = r"eye\s+exam(?:ination)?\s+by\s+(?:an?\s+|the\s+)?ophthalmologist"
# "Baseline eye check-up" before hydroxychloroquine (sixteenth pass; as b035's examination)
_EYE_CHECK_UP = r"(?:baseline\s+|annual\s+|yearly\s+)?eye\s+check[-\s]?ups?"
# Fourteenth pass: "Widal, CBC, MP": a bare "MP" is the malaria parasite smear in an order
# context only (AMBIGUOUS_ALIASES), and never methylprednisolone ("IV MP 1 g", "MP pulse").
_MP = r"(?<!iv\s)(?<!inj\s)mp(?!\s*(?:\d|pulse\b|iv\b|inj\b))"
_CALCIUM_ALONE = (
    r"calcium(?=\s*(?:,|and|&)\s*[\w\s,&-]{0,40}?\blevels?\b)"
    # "Check calcium before each dose", "bicarbonate, calcium and phosphate" (twentieth
    # pass): after a verb of testing, or beside phosphate, calcium is the level
    r"|(?<=\bcheck\s)calcium\b|(?<=\brecheck\s)calcium\b|(?<=\bmonitor\s)calcium\b"
    r"|calcium(?=\s*(?:,|and|&)\s*(?:phosphate|phosphorus|po4|pth|magnesium\s+and\s+phosphate)\b)"
)
_CT = r"(?:ct|cat)(?:\s+scan)?"
_MRI = r"mri(?:\s+scan)?"
# "Foot check with podiatry" (fifteenth pass): the service named with what it does
_FOOT_CHECK_BY = (
    r"(?:annual\s+)?foot\s+(?:check|care|review|assessment|screening)\s+with\s+(?:the\s+)?"
    r"(?:podiatry|podiatrist)"
)
_FLOW_RATE = (
    r"(?<!peak\s)(?<!oxygen\s)(?<!o2\s)(?<!infusion\s)(?:urinary\s+|urine\s+)?flow\s+rate"
    r"(?!\s*(?:of|at|[:=]|\d))"
)
_US = r"(?:ultrasound|ultrasonography|sonogram|usg|uss|us)(?:\s+scan)?"  # UK "USS": 15th pass
_XR = r"(?:x-?\s?rays?|xr|radiograph|film)"
# Views written after a plain film: "CXR PA view", "X-ray both knees AP/lat", "2 view".
_VIEW = r"(?:\s+(?:pa|ap|lat(?:eral)?|ap\s*/\s*lat|pa\s*/\s*lat|2|two|plain)(?:\s+views?)?)?"

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
        r"lipid\s+(?:panel|profile|screen|tests?)",
        r"lipids",
        r"fasting\s+lipids",
        r"(?:fasting\s+)?lipid\s+profile",
        r"cholesterol\s+panel",
    ),
    _lab(
        "CBC",
        "58410-2",
        r"cbc(?:\s+with\s+(?:diff(?:erential)?|platelets?(?:\s+count)?|esr))?",
        r"tlc(?:\s*(?:,|/|&|and)?\s*dlc)?",
        r"dlc",
        r"platelets?(?:\s+count)?",
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
        r"urine\s+r/?[em]",
        r"urine\s+routine(?:\s+(?:and|&)\s+microscopy)?",
        r"urine\s+examination",
        r"cue",
        r"complete\s+urine\s+examination",
        r"ua\s+with\s+reflex(?:\s+culture)?",
        r"(?:a\s+)?urine\s+dip(?:stick)?(?:\s+test)?",  # UK (tenth pass)
        r"dipstick\s+urin(?:e|alysis)",
    ),
    _lab(
        "Urine culture",
        None,
        r"urine\s+(?:for\s+)?(?:cultures?|c\s?&\s?s|c/s|cs|cx)",  # "cx": US (tenth pass)
        r"urine\s+(?:m\s?c\s?&\s?s|m/c/s|mcs)",  # UK microscopy, culture and sensitivity
        r"msu(?:\s+(?:for\s+)?(?:culture|m\s?c\s?&\s?s))?",  # a mid-stream urine is sent to culture
        r"urine\s+culture\s+and\s+sensitivity",
        r"u\s?cx",  # "UA/UCx": US shorthand (nineteenth pass)
    ),
    _lab(
        "Blood culture",
        None,
        r"blood\s+cultures?(?:\s+(?:and|&)\s+sensitivity)?",
        r"blood\s+cx",  # US (tenth pass)
        r"bcx",  # US ward shorthand (seventeenth pass)
        r"blood\s+(?:for\s+)?(?:c\s?&\s?s|c/s)",
    ),
    # "Repeat Cr in AM": "cr" alone only after a test verb (AMBIGUOUS_ALIASES; "Tab X CR"
    # is controlled release) (thirteenth pass)
    _lab(
        "Creatinine",
        "2160-0",
        r"(?:serum\s+)?creatinine",
        r"(?:serum\s+)?creat",
        r"s\.?\s?cr",
        "cr",
    ),
    _lab(
        "Potassium",
        "2823-3",
        r"(?:serum\s+)?potassium",
        r"(?:serum\s+)?k\+",
        r"(?<=check\s)k(?=\s|$)",  # "check K", "recheck K in 4 hours"
    ),
    # not a sodium salt given ("sodium valproate", "sodium chloride": tenth pass)
    _lab("Sodium", "2951-2", r"(?:serum\s+)?sodium" + _NOT_A_SALT, r"(?:serum\s+)?na\+"),
    _lab(
        "Fasting blood glucose",
        "1558-6",
        r"fbs",
        r"fbg",
        r"fpg",
        r"fasting\s+(?:blood\s+|plasma\s+)?(?:sugar|glucose)",
        r"fasting\s+finger\s?sticks?(?:\s+glucose)?",  # US (tenth pass)
    ),
    _lab(
        "Postprandial blood glucose",
        None,
        r"ppbs",
        r"ppbg",
        r"pp\s?bs",
        r"(?:2\s*(?:hr?|hour)\s+)?post[-\s]?prandial\s+(?:blood\s+)?(?:sugar|glucose)",
        r"pp\s+(?:blood\s+)?sugar",
    ),
    _lab(
        "Glucose",
        "2345-7",
        r"(?:serum\s+|blood\s+|plasma\s+)?glucose",
        r"blood\s+sugar",
        r"rbs",
        r"random\s+blood\s+(?:sugar|glucose)",
        r"fsbg",  # finger-stick blood glucose (tenth pass)
    ),
    # "H/H", "H&H": hemoglobin and hematocrit, ordered as the hemoglobin (eleventh pass)
    _lab("Hemoglobin", "718-7", r"h(?:a)?emoglobin", r"hgb", r"hb", r"h\s?[/&]\s?h"),
    _lab("INR", "6301-6", r"inr", r"pt\s*/\s*inr", r"pt\s*[-&]\s*inr"),
    _lab("Prothrombin time", "5902-2", r"prothrombin\s+time"),
    _lab("aPTT", "14979-9", r"a?ptt", r"activated\s+partial\s+thromboplastin\s+time"),
    _lab("CRP", "1988-5", r"crp", r"c[-\s]reactive\s+protein"),
    _lab("ESR", "30341-2", r"esr", r"sed(?:imentation)?\s+rate"),
    # "Mg" in a list of tests ("CMP, Mg, phos"): capitalised, with no number before it
    # (that "mg" is a unit), and only where the sentence orders tests.
    _lab("Magnesium", "19123-9", r"(?:serum\s+)?magnesium", r"mg\s+level", _MG),
    _lab("ALT", "1742-6", r"alt", r"sgpt", r"alanine\s+aminotransferase"),
    _lab("AST", "1920-8", r"sgot", r"aspartate\s+aminotransferase"),
    _lab(
        "Creatine kinase",
        "2157-6",
        r"cpk",
        r"creatine\s+(?:phospho)?kinase",
        r"ck",
        r"ck\s+levels?",  # "CK level." alone is the test, as "CK" in an order is
    ),
    _lab("CK-MB", None, r"cpk[-\s]?mb", r"ck[-\s]?mb"),
    _lab(
        "Uric acid",
        "3084-1",
        r"(?:serum\s+|s\.?\s?)?uric\s+acid",
        r"(?:serum\s+)?urate(?!\s*-?\s*lowering)",  # "urate-lowering therapy" is a drug class
    ),
    _lab(
        "Serum calcium",
        "17861-6",
        r"(?:serum|s\.)\s*calcium",
        r"calcium\s+levels?",
        _CALCIUM_ALONE,  # "check calcium and vitamin D levels" (thirteenth pass)
        r"(?:adjusted|corrected)\s+calcium",  # eleventh pass
    ),
    _lab("Lipase", None, r"(?:serum\s+)?lipase"),
    _lab("Amylase", None, r"(?:serum\s+)?amylase"),
    _lab("Ferritin", "2276-4", r"(?:serum\s+)?ferritin"),
    _lab("Iron studies", None, r"iron\s+(?:studies|profile|panel)", r"serum\s+iron", r"tibc"),
    _lab("Vitamin B12", None, r"(?:vitamin\s+|vit\.?\s*)?b12(?:\s+levels?)?", r"cobalamin"),
    _lab(
        "Vitamin D level",
        None,
        r"(?:serum\s+)?(?:vitamin|vit\.?)\s*d3?\s+(?:levels?|test)",
        r"25[-\s]?(?:oh|hydroxy)[-\s]*(?:vitamin|vit\.?)\s*d3?",
        # "vitamin D 25-OH" (twelfth pass): the hydroxy form after the name, not a dose
        r"(?:vitamin|vit\.?)\s*d3?\s*[,(]?\s*25[-\s]?(?:oh|hydroxy)\)?",
    ),
    _lab("PSA", "2857-1", r"psa", r"prostate[-\s]specific\s+antigen"),
    _lab("Free PSA", None, r"free\s+psa", r"free\s+prostate[-\s]specific\s+antigen"),
    _lab("Troponin", None, r"(?:hs[-\s]?)?troponins?(?:\s+[it])?", r"trop\s*[it]", r"trops?"),
    _lab("D-dimer", None, r"d[-\s]?dimer"),
    # NT-proBNP is a different assay from BNP (other cut-offs): not one order.
    _lab("BNP", None, r"bnp", r"b-type\s+natriuretic\s+peptide"),
    _lab("NT-proBNP", "33762-6", r"nt[-\s]?pro[-\s]?bnp"),
    _lab("Procalcitonin", "33959-8", r"procalcitonin", r"procal", r"pct(?=\s*(?:level|,|$))"),
    _lab("Arterial blood gas", None, r"abg", r"arterial\s+blood\s+gas(?:es)?"),
    _lab("Rheumatoid factor", None, r"ra\s+factor", r"rheumatoid\s+factor", r"rf"),
    _lab("ANA", None, r"ana", r"antinuclear\s+antibod(?:y|ies)"),
    _lab(
        "Thyroid profile",
        None,
        r"tfts?",
        r"thyroid\s+(?:function(?:\s+tests?)?|profile|panel)",
        r"t3\s*,?\s*t4\s*,?\s*(?:and\s+)?tsh",
    ),
    _lab(
        "Sputum AFB smear",
        None,
        r"sputum\s+(?:for\s+)?afb(?:\s+(?:smear|stain))?",
        r"afb\s+(?:smear|stain)",
        r"sputum\s+(?:for\s+)?(?:zn|ziehl[-\s]neelsen)\s+stain",
    ),
    _lab(
        "Sputum CBNAAT",
        None,
        r"(?:sputum\s+)?cbnaat(?:\s+sputum)?",
        r"(?:sputum\s+)?gene\s?xpert(?:\s+sputum)?",
        r"(?:sputum\s+)?truenat",
    ),
    _lab("Sputum culture", None, r"sputum\s+(?:for\s+)?(?:culture|c\s?&\s?s|c/s|cx)"),
    _lab("Dengue NS1 antigen", None, r"(?:dengue\s+)?ns1(?:\s+antigen)?", r"dengue\s+serology"),
    _lab(
        "Malaria parasite test",
        None,
        r"mp\s+smear",
        r"(?:smear|slide)\s+for\s+mp",
        r"malaria(?:l)?\s+(?:parasite|smear|card|test)(?:\s+test)?",
        r"mp\s+(?:card|test|qbc)(?:\s+test)?",
        r"qbc(?:\s+for\s+(?:mp|malaria))?",
        r"peripheral\s+smear\s+for\s+(?:mp|malaria(?:l)?\s+parasite)",
        _MP,
    ),
    # The rapid antigen test (RDT) is a test of its own beside the smear.
    _lab(
        "Malaria antigen",
        None,
        r"(?:rapid\s+)?malaria(?:l)?\s+(?:antigen|rdt)(?:\s+test)?",
        r"mp\s+(?:antigen|rdt)(?:\s+test)?",
        r"rapid\s+malaria\s+test",
    ),
    _lab("Widal test", None, r"widal(?:\s+test)?"),
    # the agglutination test of rickettsial fever, beside the scrub typhus IgM (twenty-first)
    _lab("Weil-Felix test", None, r"weil[-\s]?felix(?:\s+test)?"),
    # Typhidot is an IgM/IgG card test for typhoid, not the Widal agglutination test.
    _lab("Typhidot", None, r"typhidot(?:[-\s]?m)?(?:\s+test)?", r"typhoid\s+igm"),
    _lab(
        "Dengue IgM antibody",
        None,
        r"dengue\s+igm(?:\s+(?:antibod(?:y|ies)|elisa))?",
        r"dengue\s+igg\s*(?:/|&|and)\s*igm",
        r"igm\s+dengue",
    ),
    _lab("Chikungunya IgM", None, r"chikungunya(?:\s+igm)?", r"chik\s+igm"),
    _lab(
        "Scrub typhus IgM",
        None,
        r"scrub\s+typhus(?:\s+igm)?(?:\s+elisa)?",
        r"igm\s+scrub(?:\s+typhus)?(?:\s+elisa)?",  # "IgM scrub ELISA" (twenty-first pass)
    ),
    _lab("Leptospira IgM", None, r"lepto(?:spira)?\s+igm"),
    _lab("Blood urea", None, r"(?:blood|serum|s\.|sr\.)\s*urea(?:\s+nitrogen)?", r"bun"),
    _lab(
        "Bilirubin",
        None,
        r"(?:serum\s+|s\.\s*|sr\.\s*)?bilirubin(?:\s+(?:total|direct|indirect|t\s*/\s*d))?",
    ),
    _lab(
        "Alkaline phosphatase",
        None,
        r"alp",
        r"alkaline\s+phosphatase",
        r"(?:s\.?\s*)?alk\.?\s+phos",
    ),
    _lab("GGT", None, r"ggt", r"gamma[-\s]?gt", r"gamma[-\s]glutamyl\s+transferase"),
    _lab("LDH", None, r"ldh"),
    _lab(
        "Blood ketones",
        None,
        r"(?:blood|serum|capillary|plasma)\s+ketones?",
        r"(?:serum\s+)?beta[-\s]?hydroxybutyrate",
    ),
    _lab("Urine ketones", None, r"urine\s+(?:for\s+)?ketones?(?:\s+bodies)?"),
    _lab(
        "Urine protein/creatinine ratio",
        None,
        r"upcr",
        r"urine\s+protein\s*(?:/|:|-|to)?\s*creatinine\s+ratio",
        r"24[-\s]?(?:h|hr|hrs|hour)\s+urine\s+(?:for\s+)?protein",
        r"urine\s+pcr",  # "Urine PCR in 4 weeks" (twentieth pass; the dev labels' name)
    ),
    _lab("ASO titre", None, r"aso(?:\s+tit(?:re|er))?", r"anti[-\s]?streptolysin\s+o"),
    _lab("Anti-CCP", None, r"anti[-\s]?ccp(?:\s+antibod(?:y|ies))?"),
    _lab("HLA-B27", None, r"hla[-\s]?b27"),
    _lab("Prolactin", None, r"(?:serum\s+)?prolactin"),
    _lab("Cortisol", None, r"(?:serum\s+|morning\s+|8\s*am\s+)?cortisol"),
    _lab("Ammonia", None, r"(?:serum\s+|blood\s+|plasma\s+)?ammonia"),
    _lab("Sputum Gram stain", None, r"sputum\s+(?:for\s+)?gram(?:'?s)?\s+stain"),
    # the rectovaginal swab of late pregnancy (twenty-first pass)
    _lab(
        "Group B streptococcus culture",
        None,
        r"(?:gbs|group\s+b\s+strep(?:tococcus|tococcal)?)\s+(?:swab\s+|screen(?:ing)?\s+)?culture",
        r"gbs\s+(?:swab|screen)",
    ),
    _lab(
        "Throat swab culture",
        None,
        r"throat\s+swab(?:\s+(?:for\s+)?(?:culture|c\s?&\s?s|c/s))?",
        r"throat\s+culture",  # US (ninth pass)
    ),
    _lab(
        "Pus culture", None, r"pus\s+(?:for\s+)?(?:culture|c\s?&\s?s|c/s)(?:\s+and\s+sensitivity)?"
    ),
    _lab("Hepatitis A IgM", None, r"(?:anti[-\s]?)?hav\s+igm", r"igm\s+anti[-\s]?hav"),
    _lab("Hepatitis E IgM", None, r"(?:anti[-\s]?)?hev\s+igm", r"igm\s+anti[-\s]?hev"),
    _lab("Free T3", None, r"free\s+t3", r"ft3", r"free\s+triiodothyronine"),
    _lab(
        "Phosphorus",
        None,
        r"(?:(?:serum|s\.|sr\.)\s*)?(?:inorganic\s+)?phosph(?:orus|ate)(?:\s+levels?)?",
        r"phos",  # "Mg, phos" ("alk phos" is the longer ALP)
        r"po4",  # "Mg, PO4" (twentieth pass)
    ),
    # Serum bicarbonate; "sodium bicarbonate" is the drug (its name is read first).
    _lab(
        "Bicarbonate",
        None,
        r"(?:serum|s\.|venous|plasma)\s*bicarbonate",
        r"(?<=check\s)bicarbonate",
        r"hco3-?",
    ),
    _lab(
        "Oral glucose tolerance test",
        None,
        r"ogtt",
        r"(?:oral\s+)?glucose\s+tolerance\s+test",
        r"glucose\s+challenge\s+test",
        r"gct",
    ),
    _lab(
        "IGRA",
        None,
        r"igra",
        r"quantiferon(?:[-\s]tb(?:\s+gold)?)?",
        r"interferon[-\s]gamma\s+release\s+assay",
    ),
    _lab("AMH", None, r"amh", r"anti[-\s]?m(?:u|ü)llerian\s+hormone"),
    _lab("CA-125", None, r"ca[-\s]?125"),
    _lab("CEA", None, r"cea", r"carcinoembryonic\s+antigen"),
    _lab("AFP", None, r"afp", r"alpha[-\s]?fetoprotein"),
    _lab("Anti-dsDNA", None, r"anti[-\s]?ds[-\s]?dna"),
    _lab("Coombs test", None, r"(?:direct\s+|indirect\s+)?coombs(?:'?s)?(?:\s+test)?", r"dat"),
    _lab("G6PD", None, r"g6pd(?:\s+(?:assay|level|screen))?"),
    _lab(
        "Hemoglobin electrophoresis",
        None,
        r"h(?:b|a?emoglobin)\s+electrophoresis",
        r"hplc\s+for\s+(?:hb|h(?:a)?emoglobin)",
    ),
    _lab(
        "Bleeding and clotting time",
        None,
        r"bt\s*(?:,|/|&|and)?\s*ct",
        r"bleeding\s+time(?:\s*(?:,|/|&|and)\s*clotting\s+time)?",
    ),
    _lab(
        "H. pylori test",
        None,
        r"h\.?\s*pylori(?:\s+stool)?(?:\s+(?:antigen|serology|igg|test))?",
        r"stool\s+(?:for\s+)?h\.?\s*pylori(?:\s+antigen)?",
        r"urea\s+breath\s+test",
        r"ubt",
    ),
    _lab(
        "HIV test", None, r"hiv(?:\s*(?:1\s*(?:&|and)\s*2|elisa|test|serology|antibod(?:y|ies)))?"
    ),
    _lab("HBsAg", None, r"hbsag", r"hep(?:atitis)?\s+b\s+surface\s+(?:antigen|ag)"),
    _lab("Anti-HCV", None, r"anti[-\s]?hcv", r"hcv(?:\s+antibod(?:y|ies))?"),
    _lab("VDRL", None, r"vdrl", r"rpr"),
    _lab(
        "Blood group and Rh",
        None,
        r"blood\s+group(?:ing)?(?:\s*(?:&|and)\s*rh(?:\s+typing)?)?",
        r"abo\s*(?:&|and)?\s*rh(?:\s+typing)?",
        r"grouping\s+and\s+typing",
    ),
    _lab(
        "Urine pregnancy test",
        None,
        r"upt",
        r"urine\s+(?:pregnancy\s+test|hcg)",
        r"(?<!serum\s)(?<!blood\s)pregnancy\s+test",  # eleventh pass
    ),
    _lab("Beta hCG", None, r"(?:serum\s+)?(?:beta|β|b)[-\s]?hcg", r"serum\s+hcg"),
    _lab(
        "Stool routine",
        None,
        r"stool\s+(?:routine|r/?[em]|examination|for\s+ova\s+and\s+cysts|o\s?&\s?p)",
        r"stool\s+(?:for\s+)?ova(?:\s*(?:/|&|and)\s*cysts?)?",
        r"stool\s+routine\s+(?:and|&)\s+microscopy",
    ),
    _lab(
        "Stool occult blood",
        None,
        r"(?:stool\s+(?:for\s+)?)?occult\s+blood(?:\s+test)?",
        r"fobt",
        r"fecal\s+occult\s+blood(?:\s+test)?",
    ),
    _lab(
        "Fecal immunochemical test",
        None,
        r"fit\s+(?:test|kit)",
        # the capital abbreviation alone ("FIT requested"), not "fit to fly" (twelfth pass)
        r"(?-i:FIT)(?!\s+(?:to|for)\b)",
        r"fa?ecal\s+immunochemical\s+test(?:ing)?",
        r"qfit",
    ),
    # seventeenth pass: the stool DNA screen, by its US brand too
    _lab(
        "Multitarget stool DNA test",
        None,
        r"cologuard",
        r"(?:multi-?target\s+)?stool\s+dna(?:\s+test)?",
    ),
    _lab("Peripheral smear", None, r"peripheral\s+(?:blood\s+)?smear", r"gbp"),
    _lab("Reticulocyte count", None, r"retic(?:ulocyte)?\s+count"),
    _lab(
        "Pap smear",
        None,
        r"pap\s+(?:smear|test)",
        r"cervical\s+(?:cytology|smear)",
        r"pap(?=\s+(?:with|and|&|\+)\s+hpv\b)",  # "Pap with HPV cotesting" (17th pass)
    ),
    _lab("Semen analysis", None, r"semen\s+analysis"),
    _lab(
        "Urine albumin/creatinine ratio",
        None,
        r"uacr",
        r"(?:urine\s+)?albumin.creatinine\s+ratio",
        # "urine microalbumin/creatinine ratio" is one test, not also a serum creatinine
        r"(?:urine\s+)?micro\s?albumin\s*[/:]\s*creatinine(?:\s+ratio)?",
        r"urine\s+(?:micro\s?albumin|acr)",
        r"micro\s?albumin(?:uria)?",
    ),
    _lab(
        "Renal function panel",
        "24362-6",
        r"rfts?",
        r"renal\s+function\s+(?:tests?|panel)",
        r"kfts?",
        # "a full blood count and kidney function" (UK, ninth pass)
        r"(?<!for\s)(?<!on\s)(?<!to\s)kidney\s+function(?:\s+tests?)?",
        r"renal\s+profile",
        r"renal\s+panel",  # eighteenth pass
        # UK "U&Es" (urea, creatinine, sodium, potassium) is the kidney function panel that
        # batches 1-4 call KFT, not the electrolytes alone (eighth pass).
        r"u\s?&\s?es?",
        r"urea\s+(?:and|&)\s+electrolytes",
        r"u\s+and\s+es",  # "U and Es" (dictated, eleventh pass)
    ),
    _lab(
        "Electrolytes",
        None,
        r"(?:serum\s+)?electrolytes",
        r"lytes",
        r"(?:s\.?\s*)?na\+?\s*(?:/|,|&|and)?\s*k\+?",  # "S. Na K", "Na/K"
    ),
    _lab(
        "Coagulation panel",
        None,
        r"coag(?:ulation)?\s+(?:panel|profile|screen)",
        r"coags",
        r"clotting\s+(?:screen|profile|studies)",  # UK
        r"clotting",  # UK, in a list of tests ("Group and save, FBC, clotting"; ninth pass)
    ),
    _lab("Stool culture", None, r"stool\s+(?:for\s+)?culture"),
    # --- imaging -------------------------------------------------------------------------
    _img(
        "Chest X-ray",
        r"chest\s+" + _XR + _VIEW,
        r"cxr" + _VIEW,
        *(a + _VIEW for a in _modality(_XR, "chest")),
    ),
    _img("HRCT chest", r"hrct(?:\s+(?:of\s+)?(?:the\s+)?(?:chest|thorax|lungs?))?"),
    _img("CT KUB", r"(?:nc)?ct\s+kub"),
    _img("CT head", *_modality(r"(?:ncct|nect|plain\s+ct|" + _CT + ")", "(?:head|brain)")),
    _img("CT chest", *_modality(r"(?:cect|nect|" + _CT + ")", "(?:chest|thorax)")),
    _img("CT paranasal sinuses", *_modality(_CT, r"(?:pns|paranasal\s+sinuses)")),
    _img("CT angiography", r"ct\s+angio(?:gram|graphy)?", r"cta"),
    _img("MRCP", r"mrcp"),
    _img("PET-CT", r"pet[-\s]?ct(?:\s+scan)?"),
    _img("MRI spine", *_modality(_MRI, r"(?:whole\s+|full\s+)?spine")),
    _img(
        "CT abdomen and pelvis",
        *_modality(_CT, r"abd(?:o|omen)?\s*(?:and|&|/)\s*pelvis"),
        r"ct\s+a\s*/\s*p",
    ),
    # "CT abdo when stable" (eighteenth pass): the ward short form
    _img(
        "CT abdomen",
        *_modality(r"(?:cect|" + _CT + ")", r"abdo(?:men)?\b(?!\s*(?:and|&|/)\s*pelvis)"),
    ),
    _img("MRI brain", *_modality(_MRI, "(?:brain|head)")),
    _img(
        "MRI lumbar spine",
        *_modality(_MRI, r"(?:lumbar|l|ls|l-s|lumbosacral)(?:\s+|-)spine"),
        r"lumbar\s+mri",
    ),
    _img("MRI cervical spine", *_modality(_MRI, r"(?:cervical|c)(?:\s+|-)spine")),
    _img("MRI knee", *_modality(_MRI, r"(?:left\s+|right\s+)?knee")),
    _img(
        "Ultrasound abdomen and pelvis",
        *_modality(_US, r"(?:the\s+)?abdomen\s*(?:and|&)\s*pelvis"),
        r"(?:usg|ultrasound)\s+(?:of\s+the\s+)?whole\s+abdomen",
    ),
    _img(
        "Abdominal ultrasound",
        *_modality(_US, r"(?:the\s+)?abdomen"),
        *_modality(_US, r"ruq"),  # right upper quadrant: gallbladder and liver
        r"abdominal\s+" + _US,
        r"usg\s+abdomen",
        r"uss\s+(?:of\s+the\s+)?abdomen",  # UK "ultrasound scan" (twelfth pass)
    ),
    _img("Pelvic ultrasound", *_modality(_US, "pelvis"), r"pelvic\s+" + _US),
    _img("Thyroid ultrasound", *_modality(_US, r"(?:the\s+)?thyroid")),
    _img("Neck ultrasound", *_modality(_US, r"(?:the\s+)?neck")),
    _img(
        "Scrotal ultrasound", *_modality(_US, r"(?:the\s+)?(?:scrotum|testes)"), r"scrotal\s+" + _US
    ),
    _img("Breast ultrasound", *_modality(_US, r"(?:the\s+|both\s+)?breasts?"), r"breast\s+" + _US),
    _img(
        "Obstetric ultrasound",
        r"(?:obstetric|obs|ob)\s+(?:" + _US + r"|scan)",
        r"tiffa(?:\s+scan)?",
        r"level\s+(?:ii|2)\s+(?:usg|ultrasound|scan)",
        r"(?:growth|dating|viability)\s+scan",
        # the longer names of the growth and dating scans, "Dating US" (nineteenth pass)
        r"obstetric\s+(?:growth|dating)\s+(?:ultrasound|scan|usg)",
        r"dating\s+(?:us|usg|ultrasound)",
        r"(?:usg|ultrasound)\s+(?:obstetric|obs)",  # "USG obstetric" (ninth pass)
        # "Growth US in 2 weeks", "USG for viability" (twenty-first pass)
        r"(?:growth|viability)\s+(?:us|usg|ultrasound)",
        r"(?:usg|ultrasound)\s+for\s+(?:fetal\s+)?(?:growth|viability|dating)",
    ),
    _img(
        "Renal ultrasound",
        *_modality(_US, r"(?:the\s+)?kidneys?"),
        r"renal\s+" + _US,
        r"renal\s*/\s*bladder\s+" + _US,  # eleventh pass
        *_modality(_US, "kub"),
    ),
    # The two timed scans of pregnancy are ordered by name: each its own order.
    _img("NT scan", r"nt\s+scan", r"nuchal\s+translucency(?:\s+scan)?"),
    _img("Anomaly scan", r"anomaly\s+scan", r"(?:fetal\s+)?anomaly\s+(?:usg|ultrasound)"),
    # The trauma bedside scan: capitals only ("fast" is a word: "fast from midnight").
    _img("FAST ultrasound", r"(?-i:e?FAST)(?:\s+(?:scan|ultrasound|usg|exam))?", r"e?fast\s+scan"),
    _img("Cranial ultrasound", r"cranial\s+(?:ultrasound|usg|us)", r"neurosonogram"),
    _img(
        "Echocardiogram",
        r"echocardiogram",
        r"echocardiography",
        r"echo",
        # "Exercise stress echo", "dobutamine stress echo": an echo under stress (nineteenth
        # pass)
        r"(?:(?:exercise|dobutamine|treadmill)\s+)?stress\s+echo(?:cardiogram|cardiography)?",
        r"2d\s+echo",
        r"tte",
        # the transoesophageal study (sixteenth pass; capitals: "tee" is a word)
        r"(?-i:TEE)",
        r"trans-?o?esophageal\s+echo(?:cardiogram)?",
    ),
    _img("Mammogram", r"(?:screening\s+)?mammogram", r"mammography", r"mammo"),
    _img("DEXA scan", r"dexa(?:\s+scan)?", r"bone\s+density\s+(?:scan|test)"),
    _img(
        "Knee X-ray",
        *(a + _VIEW for a in _modality(_XR, r"(?:(?:left|right|rt|lt|both|bilateral)\s+)?knees?")),
    ),
    _img(
        "X-ray lumbar spine",
        *(a + _VIEW for a in _modality(_XR, r"(?:lumbar|ls|l-s|lumbosacral)\s+spine")),
    ),
    _img("X-ray cervical spine", *_modality(_XR, r"(?:cervical|c)(?:\s+|-)spine")),
    _img(
        "X-ray paranasal sinuses",
        *(a + r"(?:\s+waters?'?\s+view)?" for a in _modality(_XR, r"(?:pns|paranasal\s+sinuses)")),
    ),
    _img(
        "Lower limb venous Doppler",
        r"venous\s+doppler(?:\s+(?:of\s+)?(?:the\s+)?(?:(?:left|right|both|bilateral)\s+)?"
        r"(?:lower\s+limbs?|legs?|lower\s+extremit(?:y|ies)))?",
        r"(?:lower\s+limb|leg)\s+(?:venous\s+)?doppler",
        # "bilateral LE venous duplex" (fifteenth pass)
        r"(?:(?:left|right|bilateral|b/l)\s+)?(?:le|lower\s+(?:limb|extremity)|leg)s?\s+venous"
        r"\s+(?:duplex|doppler)(?:\s+(?:ultrasound|scan|us))?",
        r"venous\s+duplex(?:\s+(?:ultrasound|scan))?",
        # "Doppler LLE r/o DVT": the leg abbreviated after the study (eighteenth pass)
        r"doppler\s+(?:(?:left|right|both|bilateral|b/l)\s+)?(?:[lrb]?le|lower\s+limbs?|legs?)\b",
    ),
    _img("Carotid Doppler", r"carotid\s+(?:doppler|duplex)s?(?:\s+(?:scan|ultrasound)s?)?"),
    _img("Hysterosalpingography", r"hsg", r"hysterosalpingogra(?:m|phy)"),
    _img(
        "Transvaginal ultrasound",
        r"tvs",
        r"transvaginal\s+(?:scan|" + _US + r"|sonography)",
        r"tv\s+(?:usg|scan)",
    ),
    _img(
        "Arterial Doppler",
        r"arterial\s+doppler(?:\s+(?:of\s+)?(?:the\s+)?(?:\w+\s+)?(?:lower\s+|upper\s+)?limbs?)?",
        r"(?:(?:bilateral\s+)?(?:lower|upper)\s+(?:extremity|limb)\s+)?arterial\s+"
        r"(?:duplex|doppler)(?:\s+(?:scan|ultrasound))?",
    ),
    _proc("Ankle-brachial index", r"abi", r"ankle[-\s]brachial\s+(?:pressure\s+)?index"),
    _img("Renal Doppler", r"renal\s+(?:artery\s+)?doppler"),
    _img(
        "X-ray shoulder",
        *(a + _VIEW for a in _modality(_XR, r"(?:(?:left|right|both)\s+)?shoulders?")),
    ),
    _img(
        "X-ray pelvis",
        *(a + _VIEW for a in _modality(_XR, r"(?:pelvis|hips?|(?:both\s+)?hip\s+joints?)")),
    ),
    _img(
        "X-ray hand",
        *(
            a + _VIEW
            for a in _modality(_XR, r"(?:(?:left|right|both|r|l|rt|lt)\s+)?(?:hands?|wrists?)")
        ),
    ),
    _img(
        "X-ray foot",
        *(
            a + _VIEW
            for a in _modality(_XR, r"(?:(?:left|right|both|r|l|rt|lt)\s+)?(?:foot|feet|ankles?)")
        ),
    ),
    _img(
        "X-ray thoracic spine",
        *(a + _VIEW for a in _modality(_XR, r"(?:thoracic|dorsal|d)\s+spine")),
    ),
    _img("Abdominal X-ray", *_modality(_XR, "abdomen"), r"axr"),
    # --- procedures ----------------------------------------------------------------------
    # "serial ECGs": the plural is the same order, repeated.
    _proc("ECG", r"(?:serial\s+)?ecgs?", r"ekgs?", r"electrocardiograms?", r"12[-\s]lead\s+ecg"),
    _proc("Colonoscopy", r"colonoscopy"),
    _proc(
        "Upper GI endoscopy",
        r"endoscopy",
        r"egd",
        r"ogd(?:\s?scopy)?",
        r"ugie",
        r"upper\s+gi\s+(?:endoscopy|scopy)",
        r"ugi\s+(?:endo)?scopy",  # ninth pass
    ),
    _proc(
        "Fundoscopy",
        r"fundoscopy",
        r"(?:dilated\s+)?fundus\s+exam(?:ination)?",
        r"retinal\s+exam(?:ination)?",
        # "Annual retinal screening", "diabetic eye screening" (fifteenth pass); not the
        # purpose of a referral ("refer to ophthalmology for baseline retinal screening")
        r"(?<!for\s)(?<!baseline\s)(?:diabetic\s+)?retinal\s+screening",
        r"(?<!for\s)(?<!the\s)diabetic\s+eye\s+screening(?!\s+programme)",
        r"fundus",  # alone only in an order context (AMBIGUOUS_ALIASES): "fundus normal"
    ),
    _proc("Mantoux test", r"mantoux(?:\s+test)?", r"tuberculin\s+skin\s+test"),
    _proc("Ear syringing", r"ear\s+(?:syringing|irrigation)"),  # twenty-first pass
    _proc(
        "Spirometry",
        # "PFT with DLCO": the diffusing capacity is part of the tests (sixteenth pass;
        # first, as the alternation takes the first alias that matches)
        r"(?:pfts?|pulmonary\s+function\s+tests?)\s+(?:with|incl(?:uding)?|\+)\s+dlco",
        # "Incentive spirometry" is a breathing exercise on the ward, not the test (twenty-
        # first pass)
        r"(?<!incentive\s)spirometry",
        r"pfts?",
        r"pulmonary\s+function\s+tests?",
    ),
    # "24-hour tape" is the UK name for the Holter (eighth pass)
    # "24-hour ECG" (thirteenth pass): the ambulatory recording, as batches 8, 11, 12 label it
    _proc(
        "Holter monitor",
        r"holter(?:\s+monitor)?",
        r"24[-\s]?h(?:ou)?r?\s+(?:ecg\s+)?tape",
        r"(?:24|48)[-\s]?h(?:ou)?r?\s+(?:ambulatory\s+)?ecg(?:\s+monitor(?:ing)?)?",
    ),
    _proc("Event monitor", r"(?:cardiac\s+)?event\s+(?:monitor|recorder)"),
    _proc(
        "Stress test",
        r"(?:exercise\s+|treadmill\s+)?stress\s+test",
        r"tmt",
        r"exercise\s+(?:tolerance|treadmill)\s+test",  # eleventh pass
    ),
    _proc("EEG", r"eeg", r"electroencephalogra(?:m|phy)"),
    _proc(
        "Nerve conduction study",
        r"ncs",
        r"ncv",
        r"nerve\s+conduction\s+(?:study|studies|velocity)",
    ),
    _proc("EMG", r"emg", r"electromyogra(?:m|phy)"),
    # "EMG/NCS", "NCS and EMG": one electrodiagnostic study (sixteenth pass)
    _proc(
        "EMG/nerve conduction study",
        r"emg\s*(?:/|and|&|\+)\s*nc[sv]",
        r"nc[sv]\s*(?:/|and|&|\+)\s*emg",
    ),
    _proc("FNAC", r"fnac", r"fnab", r"fine[-\s]needle\s+aspiration(?:\s+(?:cytology|biopsy))?"),
    _proc("Bronchoscopy", r"(?:fiberoptic\s+|fob\s+)?bronchoscopy"),
    _proc("Sigmoidoscopy", r"(?:flexible\s+)?sigmoidoscopy"),
    _proc(
        "Audiometry",
        r"(?:pure[-\s]tone\s+)?audiometry",
        r"pta",
        r"hearing\s+test",
        r"(?:pure[-\s]tone\s+)?audiogram",  # nineteenth pass
    ),
    _proc("Sleep study", r"sleep\s+study", r"polysomnography", r"psg"),
    # --- referrals (found after "refer to"/"referral to"/"consult") ------------------------
    _ref(
        "Cardiology",
        r"cardiology",
        r"cardiologist",
        r"cardio",
        r"cards(?=\s+(?:consult(?:ation)?|referral|opinion)\b)",  # US ward shorthand (17th pass)
        r"rapid\s+access\s+chest\s+pain\s+clinic",  # UK cardiology clinic (eighth pass)
    ),
    _ref(
        "Ophthalmology",
        r"ophthalmology",
        r"ophthalmologist",
        r"eye\s+clinic",
        r"eye\s+(?:referral|consult(?:ation)?|opinion|specialist|department|opd)",
        r"eye\s+exam(?:ination)?\s+referral",  # eleventh pass
        _EYE_EXAM_BY,  # "eye examination by ophthalmologist" (thirteenth pass)
        _EYE_CHECK_UP,
        r"ophthal",
    ),
    _ref("Podiatry", r"podiatry", r"podiatrist", r"foot\s+clinic", _FOOT_CHECK_BY),
    # fourteenth pass: braces, insoles and splints are made by the orthotics service
    _ref("Orthotics", r"orthotics?(?:\s+(?:clinic|department|service))?", r"orthotists?"),
    _ref("Gastroenterology", r"gastroenterology", r"gastroenterologist", r"gi", r"gastro"),
    # "Pt wants a second opinion": the patient, not physiotherapy (tenth pass)
    _ref("Physiotherapy", r"physiotherapy", r"physical\s+therapy", r"physio", r"pt" + _PT_VERB),
    _ref(
        "Endocrinology",
        r"endocrinology",
        r"endocrinologist",
        r"endo",
        _ENDOCRINE_REVIEW,  # tenth pass
    ),
    _ref("Nephrology", r"nephrology", r"nephrologist", r"renal\s+clinic", r"nephro"),
    _ref("Neurology", r"neurology", r"neurologist", r"neuro"),
    _ref("Dermatology", r"dermatology", r"dermatologist", r"derm(?:at)?", r"skin\s+opd"),
    _ref("Orthopedics", r"orthop(?:a)?edics?", r"orthop(?:a)?edic\s+surgeon", r"ortho"),
    _ref(
        "Psychiatry",
        r"psychiatry",
        r"psychiatrist",
        r"psych",
        r"de-?addiction(?:\s+(?:centre|center|clinic|services?))?",
    ),
    _ref(
        "Psychology",
        _WITH_PSYCHOLOGIST,
        r"psychologist",
        r"(?:clinical\s+)?psychology",
        r"psychotherapy",
    ),
    _ref(
        "Pulmonology",
        r"pulmonology",
        r"pulmonologist",
        r"chest\s+clinic",
        r"chest\s+physician",
        r"pulmo?",
        r"respiratory\s+medicine",
    ),
    _ref(
        "Dietitian",
        r"dietitian",
        r"dietician",
        r"nutritionist",
        r"nutrition",
        r"diet(?:ary)?\s+counsell?ing",
    ),
    # UK community services referred to by name (thirteenth pass)
    _ref("District nursing", r"district\s+nurs(?:es?|ing)(?:\s+team)?"),
    _ref("Diabetes specialist nurse", r"diabetes\s+specialist\s+nurses?", r"dsn"),
    _ref(
        "Talking therapies",
        r"(?:nhs\s+)?talking\s+therap(?:y|ies)",
        r"iapt",
        # the service's former name, Improving Access to Psychological Therapies (15th pass)
        r"psychological\s+therap(?:y|ies)(?:\s+services?)?",
    ),
    # DESMOND: the UK's structured education course for type 2 diabetes (eleventh pass)
    _ref("Diabetes education", r"diabetes\s+educat(?:ion|or)", r"desmond"),
    _ref("Urology", r"urology", r"urologist", r"uro"),
    _ref("ENT", r"ent", r"otolaryngology"),
    _ref("Oncology", r"oncology", r"oncologist", r"onco"),
    _ref(
        "General surgery",
        r"general\s+surgery",
        r"surgeon",
        r"surgery",
        r"surgical",
        # "2WW referral to colorectal", "refer to colorectal surgeons" (fourteenth pass);
        # not "colorectal cancer screening"
        r"colorectal(?!\s+(?:cancer|carcinoma|ca|screening|polyps?|neoplasia)\b)"
        r"(?:\s+(?:surgeons?|surgical\s+team|team|clinic))?",
        # "2WW referral to lower GI" (fifteenth pass): the suspected-cancer pathway the
        # colorectal surgeons run, not a gastroenterology clinic; not the study or the bleed
        r"lower\s+gi(?!\s+(?:endoscopy|bleed\w*|symptoms?|series|study)\b)",
    ),
    _ref("Rheumatology", r"rheumatology", r"rheumatologist", r"rheum(?:at)?"),
    _ref(
        "Obstetrics and gynecology",
        r"ob[-/\s]?gyn",
        r"gyn(?:a)?ecology",
        r"gyn(?:a)?ecologist",
        r"obstetrics",
        r"obstetrician",
        r"gyn(?:a)?e?",
        r"obg(?:yn)?",
        r"obs\s*(?:&|and)\s*gyn(?:a)?e?(?:cology)?",
    ),
    _ref("Dentistry", r"dental", r"dentist", r"dentistry", r"dental\s+surgeon"),
    _ref(
        "Neurosurgery",
        r"neurosurgery",
        r"neurosurgeon",
        r"neuro[-\s]?surg(?:ery|eon|ical)?",
    ),
    # "paediatric dermatology" is one subspecialty, not two referrals (eleventh pass)
    _ref(
        "Pediatrics",
        r"pa?ediatrics?(?!\s+(?:[a-z]+olog(?:y|ist)|surg(?:ery|eon)|orthop|ent\b|gastro|endo))",
        r"pa?ediatrician",
        r"peds",
        r"paeds",
    ),
    _ref("Hematology", r"ha?ematology", r"ha?ematologist"),
    _ref("Cardiothoracic surgery", r"ctvs", r"cardiothoracic(?:\s+surg(?:ery|eon))?"),
    _ref("Vascular surgery", r"vascular\s+surg(?:ery|eon)"),
    _ref("Plastic surgery", r"plastic\s+surg(?:ery|eon)"),
    _ref("Palliative care", r"palliative(?:\s+care)?"),
    _ref(
        "Internal medicine",
        r"internal\s+medicine",
        r"medicine\s+(?:opinion|consult(?:ation)?|referral|opd|department)",
        r"physician\s+(?:opinion|consult(?:ation)?|referral)",
    ),
    _ref("Occupational therapy", r"occupational\s+therapy", r"ot"),
    # UK "SALT" (speech and language therapy): in capitals only, "salt" is a word
    _ref(
        "Speech therapy",
        r"speech\s+(?:and\s+language\s+)?therapy",
        r"(?-i:SALT)",
        r"speech\s+(?:eval(?:uation)?|assessment)",  # seventeenth pass
    ),
    _ref("Memory clinic", r"memory\s+(?:clinic|service|assessment\s+service)"),
    _lab("Bone profile", None, r"bone\s+profile"),  # UK: calcium, phosphate, ALP, albumin
    _lab("Coeliac serology", None, r"c(?:o)?eliac\s+(?:serology|screen|antibod(?:y|ies))"),
    # --- 2026-11-28: breadth written from clinical knowledge, not from corpus cases -------
    _lab("Transferrin saturation", None, r"transferrin\s+saturation", r"tsat"),
    _lab(
        "Folate", "2284-8", r"(?:serum\s+|rbc\s+)?folate(?:\s+levels?)?", r"folic\s+acid\s+levels?"
    ),
    _lab("hs-CRP", "30522-7", r"hs[-\s]?crp", r"high[-\s]sensitivity\s+crp"),
    _lab("Fibrinogen", "3255-7", r"(?:plasma\s+)?fibrinogen(?:\s+levels?)?"),
    _lab(
        "Lactate",
        "2524-7",
        # Not the IV fluid: "Ringer's lactate", "RL", "sodium lactate".
        r"(?<!ringer\s)(?<!ringers\s)(?<!ringer's\s)(?<!sodium\s)"
        r"(?:serum\s+|blood\s+|venous\s+)?lactate(?:\s+levels?)?",
        r"lactic\s+acid",
    ),
    _lab("Venous blood gas", None, r"vbg", r"venous\s+blood\s+gas(?:es)?"),
    _lab("Serum osmolality", None, r"(?:serum\s+|plasma\s+)osmolality", r"s\.?\s?osm"),
    _lab("Urine osmolality", None, r"urine\s+osmolality", r"u\.?\s?osm"),
    _lab(
        "C. difficile toxin", None, r"c\.?\s?diff(?:icile)?(?:\s+toxin)?(?:\s+(?:assay|pcr|test))?"
    ),
    _lab("COVID-19 PCR", None, r"covid(?:-?19)?\s+(?:rt[-\s]?)?pcr", r"sars[-\s]cov[-\s]2\s+pcr"),
    _lab(
        "Influenza PCR", None, r"(?:influenza|flu)\s+(?:a\s*(?:/|and|&)\s*b\s+)?(?:pcr|swab|test)"
    ),
    _lab(
        "HBV DNA", None, r"hbv\s+dna(?:\s+(?:pcr|viral\s+load))?", r"hepatitis\s+b\s+viral\s+load"
    ),
    _lab(
        "HCV RNA", None, r"hcv\s+rna(?:\s+(?:pcr|viral\s+load))?", r"hepatitis\s+c\s+viral\s+load"
    ),
    _lab("CD4 count", None, r"cd4(?:\s+(?:count|cells))?"),
    _lab("TPHA", None, r"tpha", r"treponemal\s+(?:antibod(?:y|ies)|test)"),
    _lab(
        "Complement C3 and C4", None, r"c3\s*(?:,|/|and|&)?\s*c4", r"complement\s+(?:levels|c3|c4)"
    ),
    _lab("ACTH", None, r"acth", r"(?:plasma\s+)?corticotropin"),
    _lab("FSH", None, r"(?:serum\s+)?fsh"),
    _lab("LH", None, r"lh", r"serum\s+lh"),
    _lab(
        "Fasting insulin",
        None,
        r"fasting\s+(?:serum\s+)?insulin(?:\s+levels?)?",
        r"serum\s+insulin(?:\s+levels?)?",
    ),
    _lab("C-peptide", "1986-9", r"c[-\s]?peptide"),
    _lab("PTH", "2731-8", r"(?:intact\s+|serum\s+)?pth", r"parathyroid\s+hormone"),
    _lab("Ceruloplasmin", None, r"(?:serum\s+)?ca?eruloplasmin"),
    _lab("Lithium level", None, r"(?:serum\s+)?lithium\s+levels?", r"s\.?\s?lithium"),
    _lab("Valproate level", None, r"(?:serum\s+)?(?:valproate|valproic\s+acid|vpa)\s+levels?"),
    _lab("Phenytoin level", None, r"(?:serum\s+)?phenytoin\s+levels?"),
    # "tacrolimus trough in 3 days" (twentieth pass): the trough is the level
    _lab("Tacrolimus level", None, r"tacrolimus\s+(?:trough\s+)?levels?", r"tacrolimus\s+troughs?"),
    # twelfth pass: the other drug levels monitored on the ward, from clinical knowledge
    _lab("Gentamicin level", None, r"gent(?:amicin)?\s+(?:trough\s+|peak\s+)?levels?"),
    _lab("Amikacin level", None, r"amikacin\s+(?:trough\s+|peak\s+)?levels?"),
    _lab("Digoxin level", None, r"(?:serum\s+)?(?:digoxin|dig)\s+levels?"),  # "dig": 17th pass
    _lab("Carbamazepine level", None, r"(?:serum\s+)?carbamazepine\s+levels?"),
    # The overdose level (4 h after ingestion), not an order for the drug.
    _lab("Paracetamol level", None, r"(?:paracetamol|acetaminophen|apap)\s+levels?"),
    _lab("Urine drug screen", None, r"urine\s+(?:drug|tox(?:icology)?)\s+screen", r"uds"),
    _lab(
        "Blood alcohol",
        None,
        r"blood\s+alcohol(?:\s+level)?",
        r"(?:serum\s+|blood\s+)?(?:ethanol|etoh)(?:\s+level)",  # eleventh pass
        r"serum\s+ethanol",
    ),
    _lab("CSF analysis", None, r"csf\s+(?:analysis|routine|studies|examination|cell\s+count)"),
    _lab("CSF culture", None, r"csf\s+(?:culture|c\s*/\s*s)"),
    _lab("Urine cytology", None, r"urine\s+(?:for\s+)?cytology"),
    _lab(
        "Pleural fluid analysis",
        None,
        r"pleural\s+fluid(?:\s+(?:analysis|routine|studies|examination))?",
    ),
    _lab(
        "Ascitic fluid analysis",
        None,
        r"ascitic\s+fluid(?:\s+(?:analysis|routine|studies|examination))?",
        r"saag",
    ),
    _lab(
        "Synovial fluid analysis",
        None,
        r"(?:synovial|joint)\s+fluid(?:\s+(?:analysis|routine|studies|examination))?",
    ),
    _lab("HPV test", None, r"hpv\s+(?:dna\s+)?(?:test|testing|screen)", r"hpv\s+co-?test(?:ing)?"),
    _img("Bone scan", r"(?:whole[-\s]body\s+)?bone\s+scan", r"skeletal\s+scintigraphy"),
    _img("Thyroid scan", r"thyroid\s+(?:uptake\s+)?scan", r"thyroid\s+scintigraphy"),
    _img("X-ray KUB", r"x-?\s?ray\s+kub", r"kub\s+(?:x-?\s?ray|film)", r"plain\s+kub"),
    _img("CT pulmonary angiography", r"ctpa", r"ct\s+pulmonary\s+angiogra(?:m|phy)"),
    _img("CT coronary angiography", r"ct\s+coronary\s+angiogra(?:m|phy)", r"ccta"),
    _proc(
        "Ambulatory BP monitoring",
        r"ambulatory\s+(?:bp|blood\s+pressure)(?:\s+monitoring)?",
        r"abpm",
    ),
    _proc("DLCO", r"dlco", r"diffusion\s+capacity"),
    _proc("ERCP", r"ercp"),
    _proc("Cystoscopy", r"cystoscopy"),
    _proc("Tympanometry", r"tympanometry", r"impedance\s+audiometry"),
    _proc("Visual field test", r"visual\s+fields?(?:\s+(?:test|testing|exam))?", r"perimetry"),
    _proc(
        "OCT",
        r"oct",
        r"oct\s+(?:macula|scan|of\s+the\s+macula|rnfl)",
        r"optical\s+coherence\s+tomography",
    ),
    _proc("Fundus photography", r"fundus\s+(?:photo(?:graph|graphy)?s?|imaging)"),
    _proc(
        "Bone marrow biopsy",
        r"bone\s+marrow\s+(?:aspiration\s+(?:and|&)\s+)?(?:biopsy|aspirat(?:e|ion))",
    ),
    _proc("Skin biopsy", r"(?:punch\s+)?skin\s+biopsy", r"punch\s+biopsy"),
    # "Lp(a)" is lipoprotein(a), not a lumbar puncture (ninth pass)
    _proc("Lumbar puncture", r"lumbar\s+puncture", r"lp(?!\s?\(a\))"),
    _proc("Thoracentesis", r"thora(?:co)?centesis", r"pleural\s+tap"),
    _proc("Joint aspiration", r"(?:joint|knee)\s+aspiration", r"arthrocentesis"),
    _proc("Incision and drainage", r"incision\s+(?:and|&)\s+drainage", r"i\s*(?:&|and)\s*d"),
    _proc("Wound dressing", r"wound\s+dressing(?:\s+change)?", r"dressing\s+change"),
    # "suture removal after 7 days" is the visit it is done at, a follow-up (every dev label
    # reads it so; twenty-first pass): the service only with no time after it
    _proc(
        "Suture removal",
        r"suture\s+removal(?!\s+(?:after|in|on)\s+(?:\d|pod))",
        r"(?:removal\s+of|remove)\s+sutures",
    ),
    _proc(
        "Blood transfusion",
        r"(?:blood|prbc|packed\s+(?:red\s+)?cells?)\s+transfusion",
        r"transfuse\s+\d+\s+units?(?:\s+(?:of\s+)?prbcs?)?",
        r"red\s+(?:blood\s+)?cell\s+transfusion",  # eleventh pass
        # "Give 1 unit PRBCs over 2 hours" (twenty-first pass)
        r"give\s+\d+\s+units?\s+(?:of\s+)?(?:prbcs?|packed\s+(?:red\s+)?(?:blood\s+)?cells)",
    ),
    # "on dialysis", "dialysis patient": history, not an order; the session must be asked for.
    _proc("Hemodialysis", r"(?<!on\s)(?:ha?emo)?dialysis(?!\s+(?:patient|dependent|days?))"),
    _proc(
        "Urinary catheterization",
        r"(?:urinary\s+|foley\s+)?catheteri[sz]ation",
    ),
    _ref(
        "Infectious diseases",
        r"infectious\s+diseases?",
        r"id\s+(?:consult|opinion|referral)",
        r"consult\s+(?-i:ID)",  # sixteenth pass
        # "refer to ID clinic" (seventh pass): the capitals say it ("id" is also a word).
        r"(?-i:ID)\s+(?:clinic|team|opd)",
    ),
    _ref("Geriatrics", r"geriatrics?", r"geriatrician", r"care\s+of\s+the\s+elderly"),
    _ref("Allergy clinic", r"allergy\s+(?:clinic|specialist)", r"allergist", r"immunology"),
    _ref(
        "Sleep clinic",
        r"sleep\s+(?:clinic|medicine)(?:\s+(?:referral|consult(?:ation)?|opinion|opd))?",
    ),
    _ref("Pain clinic", r"pain\s+(?:clinic|management|medicine)"),
    # Rehabilitation programmes are referrals of their own (after MI, in COPD).
    _ref("Cardiac rehabilitation", r"cardiac\s+rehab(?:ilitation)?"),
    _ref("Pulmonary rehabilitation", r"pulmonary\s+rehab(?:ilitation)?"),
    _ref(
        "Smoking cessation",
        r"smoking\s+cessation(?:\s+(?:clinic|service|program(?:me)?))?",
        r"stop\s+smoking\s+service",
        # fourteenth pass
        r"(?:tobacco|nicotine)\s+cessation(?:\s+(?:clinic|service|program(?:me)?))?",
        r"quit\s+smoking\s+(?:clinic|service|program(?:me)?)",
    ),
    _ref("Social work", r"social\s+work(?:er)?", r"medical\s+social\s+work(?:er)?"),
    _lab(
        "Legionella urinary antigen",
        None,
        r"(?:urine|urinary)\s+legionella(?:\s+antigen)?",
        r"legionella\s+(?:urinary\s+|urine\s+)?antigen",
    ),
    _lab("Ionized calcium", None, r"ioni[sz]ed\s+calcium", r"ionised\s+ca"),
    _lab("Total T3", None, r"(?:total\s+|serum\s+)?t3"),
    _lab("Total T4", None, r"(?:total\s+|serum\s+)?t4"),
    _lab(
        "Vancomycin trough level",
        None,
        r"vanc(?:o(?:mycin)?)?\s+trough(?:\s+levels?)?",
        r"trough\s+vanc(?:o(?:mycin)?)?(?:\s+levels?)?",
    ),
    _img("CT cervical spine", *_modality(_CT, r"(?:cervical|c)[-\s]?spine")),
    # --- 2026-11-28, second list: common tests, studies and procedures the table lacked,
    # from clinical knowledge (checked one by one: "Order X" read nothing). LOINC codes
    # only where certain. Not taken, for precision: "albumin" and "GTT" alone (IV albumin
    # is a drug, "gtt" is drops), bare "biopsy" ("with the biopsy report"), "eGFR" (read
    # with the creatinine it comes from) and "nebulisation" (the route of a drug).
    _lab(
        "Albumin",
        "1751-7",
        r"(?:serum|s\.)\s*albumin",
        r"albumin\s+levels?",
        r"(?<=check\s)albumin",  # "check albumin": a test (IV albumin is a drug)
    ),
    _lab("Total protein", "2885-2", r"(?:serum\s+)?total\s+proteins?"),
    _lab(
        "Protein electrophoresis",
        None,
        r"(?:serum\s+)?protein\s+electrophoresis",
        r"spep",
        r"serum\s+(?:and|&)\s+urine\s+protein\s+electrophoresis",
    ),
    _lab(
        "Urine protein creatinine ratio",
        None,
        r"(?:spot\s+)?urine\s+(?:protein\s*[:/-]?\s*creatinine\s+ratio|pcr|upcr)",
        r"upcr",
    ),
    _lab("Testosterone", "2986-8", r"(?:serum\s+|total\s+|free\s+)?testosterone"),
    _lab("Homocysteine", None, r"(?:serum\s+|plasma\s+)?homocysteine"),
    _lab("CA 19-9", None, r"ca\s?19[-.\s]?9"),
    _lab(
        "Anti-TPO antibodies",
        None,
        r"anti[-\s]?tpo(?:\s+(?:antibod(?:y|ies)|abs?))?",
        r"(?:anti[-\s]?)?thyroid\s+peroxidase\s+antibod(?:y|ies)",
        r"tpo\s+(?:antibod(?:y|ies)|abs?)",
    ),
    _lab("HOMA-IR", None, r"homa[-\s]?ir"),
    _lab("KOH mount", None, r"koh\s+(?:mount|prep(?:aration)?|smear)"),
    _lab("Gram stain", None, r"gram(?:'s)?\s+stain"),
    _lab(
        "Blood crossmatch",
        None,
        r"(?:blood\s+)?cross[-\s]?match(?:ing)?",
        r"type\s+(?:and|&)\s+cross(?:[-\s]?match)?",  # eleventh pass
    ),
    _lab(
        "Capillary blood glucose",
        None,
        r"cbg(?:\s+(?:monitoring|charting|chart))?",
        r"capillary\s+blood\s+(?:glucose|sugar)(?:\s+monitoring)?",
        r"grbs",
        r"finger[-\s]?stick\s+(?:glucose|sugar)s?",
        r"accu-?chek",
    ),
    _img("HRCT temporal bone", r"hrct\s+(?:of\s+)?(?:the\s+)?temporal\s+bones?"),
    _img("HIDA scan", r"hida(?:\s+scan)?", r"hepatobiliary\s+scintigraphy"),
    _img("Barium swallow", r"barium\s+swallow"),
    _img("Barium meal", r"barium\s+meal(?:\s+follow[-\s]?through)?"),
    _img("Barium enema", r"barium\s+enema"),
    _img("IVP", r"ivp", r"ivu", r"intravenous\s+(?:pyelogra(?:m|phy)|urogra(?:m|phy))"),
    _img("MCU", r"mcug?", r"micturating\s+cysto-?urethrogra(?:m|phy)", r"vcug"),
    _img("Thallium scan", r"(?:thallium|myocardial\s+perfusion)\s+(?:scan|imaging)", r"mpi"),
    _img("DTPA renal scan", r"dtpa(?:\s+(?:renal\s+)?scan)?", r"renogram"),
    _img("DMSA scan", r"dmsa(?:\s+scan)?"),
    _img("Thyroid scan", r"thyroid\s+(?:uptake\s+)?scan", r"tc-?99m?\s+thyroid\s+scan"),
    _proc("Slit lamp examination", r"slit[-\s]?lamp(?:\s+(?:exam(?:ination)?|biomicroscopy))?"),
    _proc("Gonioscopy", r"gonioscopy"),
    _proc("Visual evoked potentials", r"veps?", r"visual\s+evoked\s+potentials?"),
    _proc(
        "Coronary angiography",
        r"(?:coronary\s+)?angiography(?!\s+ct)",
        r"coronary\s+angiogram",
        r"cag",
    ),
    _proc("Angioplasty", r"angioplasty", r"ptca"),
    _proc("Excision biopsy", r"excision(?:al)?\s+biopsy"),
    _proc("Trucut biopsy", r"tru-?cut\s+biopsy", r"core\s+(?:needle\s+)?biopsy"),
    _proc("Paracentesis", r"paracentesis", r"ascitic\s+tap"),
    _proc("Colposcopy", r"colposcopy"),
    _proc("Hysteroscopy", r"hysteroscopy"),
    _proc("Laparoscopy", r"(?:diagnostic\s+)?laparoscopy"),
    _proc("Tonometry", r"tonometry", r"iop\s+(?:check|measurement)"),
    _proc("Refraction", r"refraction(?:\s+test)?", r"vision\s+test(?:ing)?"),
    _proc("Ankle-brachial index", r"ankle[-\s]brachial\s+(?:pressure\s+)?index"),
    _proc("Fibroscan", r"fibro-?scan", r"transient\s+elastography"),
    _proc("Bone marrow aspiration", r"bma"),
    _proc("EUS", r"eus", r"endoscopic\s+ultrasound"),
    _proc("Capsule endoscopy", r"capsule\s+endoscopy"),
    _proc("Manometry", r"(?:oesophageal|esophageal|anorectal)\s+manometry"),
    _proc("24 h pH study", r"24\s*-?\s*h(?:ou)?r?\s+ph\s+(?:study|monitoring|metry)"),
    # Labs, studies and bedside procedures of a third list (2026-11-28).
    _lab("Urine microscopy", None, r"urine\s+(?:for\s+)?micro(?:scopy)?"),
    # "HCT" is also hydrochlorothiazide and "PCV 13" a vaccine: not taken in those forms.
    _lab("Hematocrit", None, r"pcv(?!\s*-?\s*\d)", r"ha?ematocrit", r"packed\s+cell\s+volume"),
    _lab("MCV", None, r"mcv", r"mean\s+corpuscular\s+volume"),
    _lab("Anti-HBs", None, r"anti[-\s]?hbs(?:\s+(?:titre|titer|antibod(?:y|ies)))?"),
    _lab(
        "HIV viral load",
        None,
        r"hiv[-\s]?1?\s+viral\s+load",
        r"(?<!hbv\s)(?<!hcv\s)(?<!cmv\s)(?<!ebv\s)viral\s+load",
        r"hiv\s+rna",
    ),
    _lab(
        "Wound swab culture",
        None,
        r"(?:wound|pus)\s+(?:swab\s+)?(?:for\s+)?(?:culture|m?c\s?&\s?s|c/s)",
        # "swab the wound for MC&S" (thirteenth pass)
        r"swab\s+(?:the\s+)?wound\s+for\s+(?:culture|m?c\s?&\s?s|c/s)",
        # "Please swab the wound" (fourteenth pass); not "swab the wound with betadine"
        r"swab\s+(?:the\s+)?wound(?!\s+(?:with|using|in)\b)",
    ),
    _lab("Nasal swab", None, r"nasal\s+swab", r"nasopharyngeal\s+swab"),
    _lab("SARS-CoV-2 RT-PCR", None, r"(?:covid(?:-?19)?\s+)?rt-?pcr(?:\s+for\s+covid(?:-?19)?)?"),
    _lab("Growth hormone", None, r"growth\s+hormone(?:\s+level)?", r"serum\s+gh"),
    _lab("IGF-1", None, r"igf[-\s]?1", r"somatomedin\s+c"),
    _lab(
        "Fasting insulin",
        None,
        r"(?:fasting\s+(?:serum\s+)?insulin|insulin\s+fasting)(?:\s+level)?",
    ),
    _lab(
        "Serum ACE",
        None,
        r"(?:serum\s+)?ace\s+level",
        r"serum\s+ace",
        r"angiotensin[-\s]converting\s+enzyme",
    ),
    _lab("ANCA", None, r"anca", r"[cp]-?anca"),
    _lab("Immunoglobulins", None, r"(?:serum\s+)?immunoglobulins?(?:\s+levels?)?"),
    _lab("Total IgE", None, r"(?:total\s+|serum\s+)?ige(?:\s+levels?)?"),
    # AEC: the Indian allergy work-up's eosinophil count (capitals only: "aec" is no word).
    _lab("Absolute eosinophil count", None, r"(?-i:AEC)", r"absolute\s+eosinophil\s+count"),
    _proc("Skin prick test", r"skin\s+prick\s+tests?(?:ing)?", r"allergy\s+skin\s+tests?"),
    _lab("Fecal calprotectin", None, r"(?:stool|fa?ecal)\s+calprotectin"),
    _img("MR venography", r"mrv", r"mr\s+venogra(?:m|phy)"),
    _proc("Non-stress test", r"nst", r"non[-\s]?stress\s+test"),
    _proc("Cardiotocography", r"ctg", r"cardiotocogra(?:m|phy)"),
    _img("Biophysical profile", r"bpp", r"biophysical\s+profile"),
    _proc("BERA", r"bera", r"abr", r"brainstem\s+evoked\s+response\s+audiometry"),
    _proc("Otoacoustic emissions", r"oae", r"otoacoustic\s+emissions?"),
    _proc("Six-minute walk test", r"6\s*-?\s*(?:min(?:ute)?)\s+walk(?:\s+test)?", r"6mwt"),
    _proc(
        "IV cannulation",
        r"(?:iv|intravenous)\s+cannulation",
        r"(?:insert|secure)\s+(?:an?\s+)?iv\s+(?:line|access|cannula)",
    ),
    _proc(
        "Nasogastric tube insertion",
        r"(?:ng|nasogastric|ryles?'?)\s+tube(?:\s+insertion)?",
        r"rt\s+insertion",
    ),
    _img("OPG", r"opg(?:\s+x-?\s?ray)?", r"orthopantomogra(?:m|ph)"),
    # Imaging of more body sites, in the table's "modality site" form.
    *(
        _img(f"{name} {site}", *_modality(mod, f"(?:{rx})"))
        for name, mod, sites in (
            (
                "MRI",
                _MRI,
                (
                    ("shoulder", r"(?:(?:left|right)\s+)?shoulder"),
                    ("hip", r"(?:(?:left|right)\s+)?hips?"),
                    ("pelvis", "pelvis"),
                    ("abdomen", "abdomen"),
                    ("dorsal spine", r"(?:dorsal|thoracic|d)[-\s]?spine"),
                    ("ankle", r"(?:(?:left|right)\s+)?ankle"),
                    ("wrist", r"(?:(?:left|right)\s+)?wrist"),
                    ("elbow", r"(?:(?:left|right)\s+)?elbow"),
                    ("orbit", r"orbits?"),
                    ("neck", "neck"),
                    ("prostate", "prostate"),
                    ("breast", r"breasts?"),
                    ("liver", "liver"),
                ),
            ),
            (
                "CT",
                r"(?:cect|" + _CT + ")",
                (
                    ("neck", "neck"),
                    ("orbit", r"orbits?"),
                    ("pelvis", "pelvis"),
                    ("lumbar spine", r"(?:lumbar|ls|l-s)[-\s]?spine"),
                    ("face", r"face|facial\s+bones"),
                ),
            ),
            (
                "X-ray",
                _XR,
                (
                    ("skull", "skull"),
                    ("elbow", r"(?:(?:left|right)\s+)?elbow"),
                    ("forearm", r"(?:(?:left|right)\s+)?forearm"),
                    ("humerus", r"(?:(?:left|right)\s+)?(?:humerus|arm)"),
                    ("femur", r"(?:(?:left|right)\s+)?(?:femur|thigh)"),
                    ("leg", r"(?:(?:left|right)\s+)?(?:leg|tibia|tib\s*fib)"),
                    ("clavicle", r"(?:(?:left|right)\s+)?clavicle"),
                    ("ribs", r"ribs?|chest\s+wall"),
                    ("nasal bones", r"nasal\s+bones?"),
                    ("soft tissue neck", r"(?:soft\s+tissue|sti)\s+neck"),
                ),
            ),
            (
                "USG",
                _US,
                (
                    ("soft tissue", r"(?:local\s+part|soft\s+tissue|swelling)"),
                    ("hip", r"(?:(?:left|right)\s+)?hips?"),
                    ("knee", r"(?:(?:left|right)\s+)?knee"),
                    ("shoulder", r"(?:(?:left|right)\s+)?shoulder"),
                    ("chest", r"chest|thorax"),
                ),
            ),
        )
        for site, rx in sites
    ),
    _proc("Urodynamic study", r"urodynamics?(?:\s+stud(?:y|ies))?"),
    # a flow test alone, not full urodynamics; "flow rate" only in an order context and not
    # a peak flow or an oxygen or infusion rate (fifteenth pass)
    _proc("Uroflowmetry", r"uroflow(?:metry)?", _FLOW_RATE),
    # Seventh pass (2026-11-28): common tests and specialties batch 9 named that the table
    # lacked. Display names only (no LOINC code was confirmed for them).
    _lab("Haptoglobin", None, r"(?:serum\s+)?haptoglobin(?:\s+levels?)?"),
    _lab("Anti-Xa level", None, r"anti-?\s?(?:factor\s+)?xa(?:\s+(?:levels?|assay|activity))?"),
    # First- and second-trimester aneuploidy screens of Indian antenatal care.
    _lab("Double marker test", None, r"double\s+marker(?:\s+(?:test|screen))?", r"dual\s+marker"),
    _lab("Triple marker test", None, r"triple\s+marker(?:\s+(?:test|screen))?"),
    _lab("Quadruple marker test", None, r"quad(?:ruple)?\s+marker(?:\s+(?:test|screen))?"),
    _img(
        "MRI pituitary",
        *_modality(_MRI, r"(?:pituitary(?:\s+gland)?|sella)"),
        rf"{_MRI}\s+sella(?:\s+turcica)?",
    ),
    _ref("Hepatology", r"hepatology", r"hepatologist", r"liver\s+clinic"),
    # Ninth pass (2026-11-28): common tests, studies and services batch 11 named that the
    # table lacked (UK and US names of each). Display names only, no LOINC code.
    _lab(
        "Type and screen",
        None,
        r"type\s+(?:and|&)\s+screen",
        r"group\s+(?:and|&)\s+save",  # UK
        r"(?-i:G\s?&\s?S)",
    ),
    _lab(
        "Chlamydia/gonorrhea NAAT",
        None,
        r"(?:gc|ng|gonorrh?o?ea)\s*(?:/|and|&|\+)\s*(?:chlamydia|ct)\s+(?:naat|pcr|nat)",
        r"chlamydia\s*(?:/|and|&|\+)\s*(?:gc|ng|gonorrh?o?ea)\s+(?:naat|pcr|nat)",
        r"(?:naat|pcr)\s+for\s+(?:gc|gonorrh?o?ea)\s+(?:and|&)\s+chlamydia",
        r"(?:naat|pcr)\s+for\s+chlamydia\s+(?:and|&)\s+(?:gc|gonorrh?o?ea)",
    ),
    _lab(
        "Hepatitis panel",
        None,
        r"(?:acute\s+|viral\s+)?hepatitis\s+(?:panel|serology|screen)",
        r"hep\s+(?:panel|serology|screen)",
        # "Hep B/C serologies", "hepatitis B and C serology" (eleventh pass)
        r"hep(?:atitis)?\s+b\s*(?:/|and|&|\+)\s*c\s+(?:serolog(?:y|ies)|screen(?:ing)?|panel)",
        r"hep(?:atitis)?\s+serologies",
    ),
    # "hepatitis B panel" (twentieth pass): the hepatitis B markers together
    _lab("Hepatitis B panel", None, r"hep(?:atitis)?\s+b\s+(?:panel|profile|serology)"),
    _lab("Renin", None, r"(?:plasma\s+)?renin(?:\s+(?:activity|levels?))?"),
    # --- tenth pass (2026-11-28): tests batch 12 named that the table lacked --------------
    _lab(
        "Aldosterone",
        None,
        r"(?:plasma\s+|serum\s+)?aldosterone(?!\s+(?:antagonists?|receptor|blockers?))",
    ),
    _lab(
        "Pneumococcal urinary antigen",
        None,
        r"pneumococcal\s+(?:urin(?:e|ary)\s+)?(?:antigens?|ag)\b",
        r"(?:urine|urinary)\s+pneumococcal\s+(?:antigen|ag)\b",
    ),
    _lab("Rapid urease test", None, r"rapid\s+urease\s+test", r"clo\s+test"),
    # the antenatal booking test of immunity (nineteenth pass)
    _lab(
        "Rubella IgG",
        None,
        r"rubella\s+igg(?:\s+antibod(?:y|ies))?",
        r"rubella\s+(?:immunity|serology|antibod(?:y|ies))",
    ),
    _lab(
        "Rapid strep test",
        None,
        r"rapid\s+strep(?:\s+(?:a\s+)?(?:test|antigen(?:\s+test)?|swab|screen))?",
        r"strep\s+a\s+rapid\s+(?:antigen\s+)?test",
    ),
    _lab("Lipoprotein(a)", None, r"lp\s?\(a\)", r"lipoprotein\s?\(a\)", r"lipoprotein\s+a"),
    _lab("Apolipoprotein B", None, r"apo\s?b(?:-?100)?", r"apolipoprotein\s+b(?:-?100)?"),
    _img(
        "Coronary artery calcium score",
        r"(?:coronary\s+(?:artery\s+)?)?calcium\s+scor(?:e|ing)",
        r"cac\s+scor(?:e|ing)",
    ),
    _img(
        "Liver Doppler ultrasound",
        r"liver\s+(?:ultrasound|usg|us)(?:\s+scan)?\s+with\s+doppler",
        r"(?:liver|hepatic|portal\s+venous|portal)\s+doppler(?:\s+(?:ultrasound|usg|scan))?",
        r"doppler\s+(?:ultrasound|usg)\s+(?:of\s+)?(?:the\s+)?liver",
    ),
    _ref("Falls clinic", r"falls?\s+(?:clinic|service|team|prevention\s+service)"),
    _ref(
        "Occupational therapy",
        _OT_VISIT,
    ),
    # --- eleventh pass (2026-11-29): tests and referrals batch 13 named that the table
    # lacked, written in their usual general forms (not only the case's spelling) ---------
    _lab(
        "Urine sodium",
        None,
        r"(?:spot\s+)?(?:urine|urinary)\s+(?:na|sodium)(?!\s*/)",
    ),
    _lab(
        "Urine creatinine",
        None,
        r"(?:spot\s+)?(?:urine|urinary)\s+(?:cr|creat|creatinine)"
        r"(?!\s*(?:ratio|clearance|[:/]))",
    ),
    _lab("Mast cell tryptase", None, r"(?:mast\s+cell\s+|serum\s+)?tryptase"),
    _lab(
        "Chlamydia NAAT",
        None,
        r"chlamydia\s+(?:naat|pcr|nat|screen(?:ing)?|test(?:ing)?|swab)"
        r"(?!\s*(?:/|and|&|\+)\s*(?:gc|ng|gonorrh))",
    ),
    _proc(
        "Cardiac catheterization",
        r"(?:left|right)\s+heart\s+cath(?:eteri[sz]ation)?",
        r"cardiac\s+cath(?:eteri[sz]ation)?",
    ),
    _ref(
        "Anesthesiology",
        r"an(?:a)?esthesiology",
        r"an(?:a)?esthe(?:tics|tist)",
        _PAC,
        _PRE_ANAESTHETIC,
    ),
    # --- fifteenth pass (2026-11-29): tests, studies and services batch 17 named that the
    # table lacked, written in their usual general forms (not only the case's spelling) ----
    _lab(
        "Alpha-1 antitrypsin",
        None,
        r"(?:serum\s+)?(?:alpha|a)[-\s]?1[-\s]?anti-?trypsin(?:\s+(?:levels?|phenotype))?",
        r"a1at(?:\s+levels?)?",
    ),
    _lab(
        "Ear swab culture",
        None,
        r"ear\s+swabs?(?:\s+(?:for\s+)?(?:culture|m?c\s?&\s?s|c/s))?",
    ),
    _lab(
        "Nail clippings for fungal culture",
        None,
        r"(?:toe|finger)?nail\s+(?:clippings?|scrapings?)(?:\s+(?:for\s+)?(?:mycology|fungal\s+(?:culture"
        r"|microscopy)|koh|microscopy\s+and\s+culture))?",
    ),
    _img(
        "Liver ultrasound",
        *_modality(_US, r"(?:the\s+)?liver(?!\s+(?:with\s+)?doppler)"),
        r"hepatic\s+" + _US,
    ),
    _img(
        "Bladder ultrasound",
        r"post[-\s]?void\s+residual(?:\s+(?:volume|urine))?(?:\s+(?:scan|ultrasound|us))?",
        r"pvr\s+(?:scan|ultrasound)",
        r"bladder\s+scan",
        *_modality(_US, r"(?:the\s+)?bladder"),
    ),
    _ref(
        "Child and adolescent mental health services",
        r"camhs",
        r"child\s+and\s+adolescent\s+mental\s+health(?:\s+services?)?",
    ),
    _ref(
        "Heart failure nurse",
        r"heart\s+failure\s+(?:specialist\s+)?nurses?(?:\s+(?:team|service))?",
        r"hf\s+(?:specialist\s+)?nurses?",
    ),
    _ref("Behavioral health", r"behaviou?ral\s+health"),
    # twentieth pass: the specialist nurse of Parkinson's disease (as the heart failure nurse)
    _ref("Parkinson's nurse", r"parkinson'?s\s+(?:disease\s+)?(?:specialist\s+)?nurses?"),
)

# Referral specialties are matched only in a referral context: "pt", "gi", "ent", "ot",
# "endo" and "surgery" are far too common as plain words.
REFERRAL_CONTEXT = re.compile(
    # "see her pediatrician in 3-5 days" is a follow-up with her own doctor (tenth pass)
    r"\b(?:refer(?:rals?|red)?|consult(?:ation)?s?|send\s+to|see\s+(?!(?:her|his|their|your)\b)"
    r"(?:the\s+)?|review\s+by|"
    # "cardiology OPA": a UK outpatient appointment (thirteenth pass)
    r"appointment\s+with|opinion|eval(?:uation)?|opd|(?-i:OPA)"
    # "Surgery reference": the Indian word for a referral (fourteenth pass); not a
    # reference range or "for reference"
    r"|(?<!for\s)reference(?!\s+(?:range|ranges|values?|intervals?|lab|laborator\w*)\b))\b"
    # "Geriatrics to see", "Neurology (stroke team) paged": a team asked to see the patient
    # (twenty-first pass)
    r"|\bto\s+see(?=\s*(?:(?:the\s+)?(?:patient|pt|him|her|them)\s*)?(?:[.;,]|$|today|tomorrow))"
    r"|\b(?:paged|bleeped)\b"
    r"|\br/v\b",
    re.IGNORECASE,
)
# Short lab/imaging aliases that also spell ordinary words need an order context.
AMBIGUOUS_ALIASES = frozenset(
    {
        "ua",
        "fundus",
        "hb",
        "abi",
        _MG,
        "echo",
        "alt",
        "pt",
        "ot",
        "ent",
        "gi",
        "endo",
        "ck",
        "rf",
        "ana",
        "gbp",
        "rpr",
        "cue",
        "pta",
        r"lp(?!\s?\(a\))",
        "clotting",
        "lh",
        "oct",
        "uds",
        "cr",
        _MP,
        _FLOW_RATE,
    }
)
# Referral aliases that are an order on their own ("Physiotherapy for low back pain").
STANDALONE_REFERRALS = frozenset(
    {
        r"physiotherapy",
        r"physio",
        _ENDOCRINE_REVIEW,  # "Urgent endocrine review" (tenth pass)
        r"diet(?:ary)?\s+counsell?ing",
        r"speech\s+(?:and\s+language\s+)?therapy",
        r"social\s+work(?:er)?",
        _PAC,
        _PRE_ANAESTHETIC,
        _EYE_EXAM_BY,
        _EYE_CHECK_UP,
        _FOOT_CHECK_BY,
        _WITH_PSYCHOLOGIST,
        # "OT home assessment" (ninth pass)
        _OT_VISIT,
    }
)


# A clause that is only a short test name, maybe with when ("UA", "Hb after 1 month"):
# in an order text that is the test, though the name alone would be too weak in prose.
_LONE_TEST = re.compile(
    r"\s*(?P<name>[A-Za-z][\w+-]{0,5})\s*(?:(?:after|in)\s+\d+\s*(?:days?|weeks?|wks?|months?|"
    # "Echo in AM", "Echo tomorrow morning" (ninth pass)
    r"mths?)|tomorrow(?:\s+morning|\s+am)?|today|now|stat|in\s+(?:the\s+)?(?i:am|morning))?"
    r"\s*\.?\s*"
)
# "GI for urgent EGD", "Cards for cath": a specialty named first, then what it is for.
_SPECIALTY_FOR = re.compile(r"\s*(?P<name>[A-Za-z][\w-]{1,20})\s+for\b")


def names_a_test(text: str) -> bool:
    """True when ``text`` names a lab test or study unambiguously: the context in which
    "Hb" or "ALT" in a list means the test."""
    return any(
        cs.entry.category != "referral" and cs.pattern.search(text) for cs in compiled_services()
    )


def lone_test(text: str) -> bool:
    """True when ``text`` is only a short lab name such as "UA" or "Hb after 1 month" (or a
    short study's: "Echo in AM")."""
    m = _LONE_TEST.fullmatch(text)
    return m is not None and any(
        cs.entry.category in ("laboratory", "imaging")
        and cs.ambiguous is not None
        and cs.ambiguous.fullmatch(m.group("name"))
        for cs in compiled_services()
    )


# "Follow-up after 1 year with ECHO": a short test name right after "with" in a follow-up
# is done for that visit. Not the names of people or specialties ("with PT", "with ENT").
_WITH_TEST = re.compile(r"\bwith\s+(?:an?\s+|the\s+|repeat\s+)?(?P<name>[A-Za-z][\w-]{1,5})\b")
_SEEN_WITH = frozenset({"pt", "ot", "ent", "gi", "endo"})


def follow_up_with_test(text: str) -> bool:
    """True when ``text`` is a follow-up that names a short test after "with"."""
    m = _WITH_TEST.search(text)
    return (
        m is not None
        and m.group("name").lower() not in _SEEN_WITH
        and FOLLOW_UP.search(text, 0, m.start()) is not None
    )


# "Vanc 1.25 g IV q12h, trough before 4th dose": the level of the drug just ordered.
_LEVEL_WORD = re.compile(
    r"\s*(?:(?:check|send|get|draw)\s+(?:a\s+)?)?(?P<w>trough(?:\s+levels?)?|"
    r"(?:drug\s+)?levels?|peak(?:\s+levels?)?)\b"
    # "levels are fine": a result, not an order.
    r"(?!\s+(?:are|is|was|were|ok|fine|normal|stable|within)\b)",
    re.IGNORECASE,
)


# "Vancomycin 1.25 g IV q12h with trough before 4th dose": the level in the drug's own
# clause, after "with" / "and" (twelfth pass).
_WITH_LEVEL = re.compile(r"\b(?:with|and|plus)(?=\s)", re.IGNORECASE)


def level_of(generic: str, text: str, within: bool = False) -> tuple[int, int, ServiceEntry] | None:
    """The drug-level test that ``text`` (a clause after ``generic``'s order, or with
    ``within`` the drug's own clause) asks for, with the span of its word, when the table
    has that drug's level."""
    if within:
        joins = (_LEVEL_WORD.match(text, j.end()) for j in _WITH_LEVEL.finditer(text))
        m = next((j for j in joins if j is not None), None)
    else:
        m = _LEVEL_WORD.match(text)
    if m is None:
        return None
    word = re.sub(r"^drug\s+", "", m.group("w").lower())
    for cs in compiled_services():
        if cs.entry.category == "laboratory" and cs.pattern.fullmatch(f"{generic} {word}"):
            return m.start("w"), m.end("w"), cs.entry
    return None


def specialty_for(text: str) -> bool:
    """True when ``text`` opens with a specialty and "for" ("GI for urgent EGD")."""
    m = _SPECIALTY_FOR.match(text)
    return m is not None and any(
        cs.entry.category == "referral"
        and any(p is not None and p.fullmatch(m.group("name")) for p in (cs.pattern, cs.ambiguous))
        for cs in compiled_services()
    )


_OPEN = re.compile(r"\s*\(\s*")
_CLOSE = re.compile(r"\s*\)")
_MODALITY = re.compile(r"\b(?:usg|ultrasound|us|ct|mri|x-?\s?ray|xr|doppler)\b", re.IGNORECASE)


def without_bracketed_names(
    text: str, chosen: list[tuple[int, int, ServiceEntry, bool]]
) -> list[tuple[int, int, ServiceEntry, bool]]:
    """ "USG pelvis (TVS)", "USG obstetric (NT scan)", "anomaly scan (obstetric USG)": two
    studies, one in brackets right after the other, are one order. It is the one written
    by its modality and site; the named scan beside it says what it is for (ninth pass).
    When both or neither name a modality, both are kept."""
    ordered = sorted(chosen, key=lambda h: h[0])
    drop: set[int] = set()
    for i in range(1, len(ordered)):
        outer, inner = ordered[i - 1], ordered[i]
        if not (
            outer[2].category == inner[2].category == "imaging"
            and _OPEN.fullmatch(text, outer[1], inner[0])
            and _CLOSE.match(text, inner[1])
        ):
            continue
        outer_mod = _MODALITY.search(text, outer[0], outer[1]) is not None
        inner_mod = _MODALITY.search(text, inner[0], inner[1]) is not None
        if outer_mod != inner_mod:
            drop.add(i if outer_mod else i - 1)
    return [h for i, h in enumerate(ordered) if i not in drop]


@dataclass(frozen=True)
class CompiledService:
    entry: ServiceEntry
    pattern: re.Pattern[str]
    ambiguous: re.Pattern[str] | None
    standalone: re.Pattern[str] | None = None  # referral aliases needing no context


@lru_cache(maxsize=1)
def compiled_services() -> tuple[CompiledService, ...]:
    """Each service with one alternation of its aliases (compiled once per process)."""
    out = []
    for entry in SERVICES:
        plain = [a for a in entry.aliases if a not in AMBIGUOUS_ALIASES]
        amb = [a for a in entry.aliases if a in AMBIGUOUS_ALIASES]
        # An entry written only with ambiguous aliases has no plain pattern (an empty
        # alternation would match everywhere).
        plain_alt = "|".join(plain) if plain else r"(?!)"
        pattern = re.compile(r"(?<![\w-])(?:" + plain_alt + r")(?![\w])", re.IGNORECASE)
        amb_re = (
            re.compile(r"(?<![\w-])(?:" + "|".join(amb) + r")(?![\w])", re.IGNORECASE)
            if amb
            else None
        )
        alone = [a for a in entry.aliases if a in STANDALONE_REFERRALS]
        alone_re = (
            re.compile(r"(?<![\w-])(?:" + "|".join(alone) + r")(?![\w])", re.IGNORECASE)
            if alone
            else None
        )
        out.append(CompiledService(entry, pattern, amb_re, alone_re))
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
    "give administer take add added adding put resume restart trial rx "
    # "try you on some ibuprofen gel", "I've suggested she takes lansoprazole" (ninth pass)
    "try suggest suggested advise advised recommend recommended",
    "stop": "stop stopped discontinue discontinued cease withdraw d/c dc",
    # Hold pauses an order without ending it (MedicationRequest.status on-hold).
    # "Skip tonight's warfarin dose": one dose left out (twentieth pass)
    "hold": "hold held holding withhold withheld suspend pause paused omit skip",
    "change": "increase increased decrease decreased reduce reduced cut titrate uptitrate "
    "up-titrate downtitrate change adjust double halve taper wean bump escalate ↑ ↓ "
    "inc incr",  # "Inc Inj Basaglar to 18 units" (seventh pass)
    # "Refill lisinopril 20 mg daily x 90 days": a refill goes on with the drug (eleventh pass)
    "continue": "continue continued cont keep maintain remain refill refilled renew",
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
    # "not keen on the colonoscopy", "Not starting insulin yet" (seventh pass)
    r"not\s+(?:keen\s+on|starting(?!\s+to\b)|to\s+start)\b|"
    # "Not for antibiotics; not for CT": a ceiling of care (ninth pass)
    r"^\s*not\s+for\s+(?!more|longer|over|than|long|use|\d)|"
    # "CHA2DS2-VASc 0 - not for anticoagulation": after a dash or colon too (twelfth pass)
    r"(?<=[-\u2013:]\s)not\s+for\s+(?!more|longer|over|than|long|use|\d)|"
    r"not\s+(?:scheduling|booking|ordering|arranging|requesting|sending)\b|"
    r"do\s+not|don't|avoid|avoiding|declines?|declined|refuses?|refused|defer|deferred|"
    # "She does not want to start sertraline", "Advised not to take painkillers" (thirteenth
    # pass)
    r"(?:does|did)\s+not\s+(?:want|wish)|(?:doesn't|didn't)\s+(?:want|wish)|"
    r"not\s+to\s+(?:take|use|start|have)\b|"
    r"hold\s+off|unnecessary|without\s+(?:any\s+)?(?:need|indication)|"
    # "I would not recommend a repeat MRI" (fifteenth pass)
    r"(?:would|will|do|did)\s+not\s+(?:recommend|advise|suggest)|not\s+recommended|"
    # "Denies use of NSAIDs", "advised against diphenhydramine" (nineteenth pass)
    r"denies\s+(?:any\s+)?(?:use\s+of|taking|using)|(?:advised|advises|advise|recommended"
    r"|counsell?ed)\s+against|"
    r"(?:keep|stay)\s+off)\b",  # "Keep off ibuprofen": avoid it
    re.IGNORECASE,
)
# Words after which the rest of the clause is a reason, not an order ("due to low eGFR").
REASON = re.compile(
    r"\b(?:due\s+to|because(?:\s+of)?|secondary\s+to|given|in\s+view\s+of|owing\s+to|since"
    # "vancomycin 125 mg QID x 10 days for C. diff": "for" after a course's length names
    # what is treated, unless a sample is sent (twenty-first pass)
    r"|(?:days?|weeks?|wks?|months?)\s+for(?![^;]*\b(?:send|sent|check|test|stool|urine"
    r"|sample|swab)\b))\b",
    re.IGNORECASE,
)

FOLLOW_UP = re.compile(
    r"\b(?:follow[-\s]?up|f/u|fu|review(?:\s+in\s+opd)?|r/v|rv(?=\s+(?:after|in)\b)|"
    r"see\s+(?:me|you|him|her|them|the\s+patient|patient)?\s*(?:back|again)?|"
    # "return if fever > 3 days" is a safety net, not a booking (tenth pass)
    r"return(?!\s+if\b)(?:\s+to\s+clinic)?|rtc|tca|tci|come\s+(?:back|again|after|for)|revisit|recall"
    r"|re-?visit|next\s+(?:visit|appointment|review)|reassess|re-?evaluate"
    # "Appointment in 1 week", "Wound check in 2 days", "phone back in 2 weeks", "recheck HR
    # and BP in clinic in 2/52" (tenth pass)
    r"|appointment|wound\s+check|(?:bp|blood\s+pressure)\s+check|suture\s+removal|phone\s+back|(?:tele)?phone\s+review|in\s+clinic"
    # "Fracture clinic in 1/52", "Endocrine clinic 6/52", "Recheck in 48-72 hours": a clinic
    # or a recheck with its time right after it (eleventh pass)
    r"|clinic(?=\s+(?:in\s+|after\s+|within\s+)?\d)|re-?check(?=\s+(?:in|after|within)\s+\d)"
    r"|opd(?=\s+(?:in\s+|after\s+|within\s+)?\d))\b"  # "Cardiology OPD 6 weeks" (18th pass)
    # the dot of a title is no full stop: "F/u with Dr. Patel in 2 wks" (twelfth pass)
    r"(?:[^.;]|(?<=\bdr)\.|(?<=\bmr)\.|(?<=\bms)\.|(?<=\bmrs)\.|(?<=\bprof)\.)*?"
    r"(?:\b(?:in|after|within)\s+(?:about\s+|approximately\s+|another\s+)?)?"
    # A word value needs a space before its unit: "and" is not "an" + "d", "am" not "a" + "m".
    # "in 3-5 days": the earliest (tenth pass, as a dose range gives its lower bound)
    r"(?:\b(?P<value>\d+(?:\.\d+)?|(?:a|an|one)(?=\s))(?:\s*(?:-|\u2013|to)\s*\d+)?\s*"
    r"(?P<unit>days?|d|weeks?|wks?|w|months?|mos?|mths?|mnths?|m|years?|yrs?|y|fortnights?|"
    r"hours?|hrs?|h)\b"
    # "2/52" (weeks), "3/12" (months), "5/7" (days): British clinic notation
    r"|(?P<num>\d{1,2})\s*/\s*(?P<den>52|12|7)(?![\d/]))",
    re.IGNORECASE,
)
# "Review tomorrow", "F/u tomorrow": one day, only right after the word (eleventh pass; "see
# him on their ward round tomorrow", "see you at 10 am tomorrow" give no interval).
FOLLOW_UP_TOMORROW = re.compile(
    r"\b(?:review|r/v|follow[-\s]?up|f/u|reassess|re-?evaluate)\s+(?:again\s+)?(?P<tomorrow>tomorrow)\b",
    re.IGNORECASE,
)
# "Annual review", "yearly follow-up": a booking in a year (twelfth pass).
FOLLOW_UP_ANNUAL = re.compile(
    r"\b(?P<annual>annual|yearly)\s+(?:review|follow[-\s]?up|f/u|check[-\s]?up|visit)\b",
    re.IGNORECASE,
)
# "Recheck ears in 48 hours", "recheck the wound in 5 days": a visit to look again at a part
# of the body or a lesion (twelfth pass). Only those: "recheck potassium in 2 days" or
# "recheck thyroid function in 8 weeks" is a test, and a measurement, "recheck BP in 15 min"
# or "lying/standing BP", no visit (batches 6, 9 and 13 label them so).
FOLLOW_UP_RECHECK = re.compile(
    r"\bre-?check\s+(?:the\s+|his\s+|her\s+|their\s+|(?:left|right|both)\s+)*"
    r"(?P<what>ears?|eyes?|throat|chest|skin|rash|lesions?|wounds?|sites?|feet|foot|toes?|nails?"
    r"|knees?|ankles?|legs?|arms?|hands?|abdomen|tummy|swelling|moles?|ulcers?|burns?|scars?"
    r"|incisions?|cellulitis|tonsils?|joints?)\s+(?:in|after|within)"
    r"\s+(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>hours?|hrs?|days?|weeks?|wks?|months?|mos?)\b",
    re.IGNORECASE,
)
# "Recheck BP in 4 weeks with the practice nurse": a recheck with someone is a visit
# (thirteenth pass; "review with practice nurse in 2 weeks" is one in batch 11's p051)
FOLLOW_UP_RECHECK_WITH = re.compile(
    r"\bre-?check\b[^.;]*?\b(?:in|after|within)\s+(?P<value>\d+(?:\.\d+)?)\s*"
    r"(?P<unit>days?|weeks?|wks?|months?|mos?)\s+with\s+(?:the\s+|her\s+|his\s+|their\s+)?"
    r"(?:practice\s+nurse|nurse|gp|pcp|doctor|dr\.?\s+[a-z]+|clinic|team)\b",
    re.IGNORECASE,
)
# "Follow up with cardiology in 1 week and PCP in 2 weeks": a second booking after "and",
# with its own time (eleventh pass).
FOLLOW_UP_AND = re.compile(
    r"\s*(?:,\s*)?(?:and|&)\s+(?:(?:with|see)\s+)?(?:the\s+|her\s+|his\s+|their\s+)?"
    r"(?:pcp|gp|primary\s+care|dr\.?\s+[a-z]+|[a-z]+olog(?:y|ist)|(?:[a-z]+\s+)?clinic|nurse"
    r"|surgeons?|surgery|opd|me|us)\s+(?:in|after|within)\s+"
    r"(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>days?|weeks?|wks?|months?|mos?|years?|yrs?)\b",
    re.IGNORECASE,
)
FRACTION_UNITS: dict[str, str] = {"52": "wk", "12": "mo", "7": "d"}

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
    "mth": "mo",
    "mths": "mo",
    "mnth": "mo",
    "mnths": "mo",
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
    "fortnight": "wk",
    "fortnights": "wk",
}
