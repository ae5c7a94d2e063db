"""Written forms of generics that only typed orders use: ward names of IV fluids, UK and US
short forms ("pred", "co-codamol", "PTU"), salts and two-drug products by their names.

The wider list of generics itself is shared with the scribe
(:mod:`carepipe.engines.nlp.lexicon.wider_medications`, read by exact spelling only);
these patterns are the orders engine's alone (abbreviations such as "lr" or "bpo" would be
ordinary words in a heard consultation).
"""

from __future__ import annotations

_CALCIPOTRIOL = r"(?:calcipotriol|calcipotriene)"
_BETAMETHASONE = r"betamethasone(?:\s+dipropionate)?"
_CALCIPOTRIOL_BETAMETHASONE = (
    rf"{_CALCIPOTRIOL}\s*(?:/|\+|and|with)\s*{_BETAMETHASONE}"
    rf"|{_BETAMETHASONE}\s*(?:/|\+|and|with)\s*{_CALCIPOTRIOL}"
)

#: Written forms (a regular expression) -> the canonical name.
SPELLINGS: dict[str, str] = {
    # tenth pass: IV fluids by their ward names, and the UK short form of prednisolone
    r"hartmann'?s(?:\s+solution)?": "ringer lactate",
    r"compound\s+sodium\s+lactate": "ringer lactate",
    r"lr": "ringer lactate",
    r"d(?:10|25|50)w?": "dextrose",
    r"pred": "prednisolone",
    r"co-?codamol": "acetaminophen / codeine",
    r"co-?dydramol": "acetaminophen / dihydrocodeine",
    r"bendroflume?thiazide|bendrofluazide": "bendroflumethiazide",
    r"amphotericin(?:\s+b)?": "amphotericin b",
    r"polymyxin(?:\s+b)?": "polymyxin b",
    r"zoledronic\s+acid|zoledronate": "zoledronic acid",
    r"mefenamic\s+acid": "mefenamic acid",
    r"noradrenaline": "norepinephrine",
    r"dexmed": "dexmedetomidine",
    # seventeenth pass: ward short forms ("methylpred 125 mg IV", "MVI daily", "T. metfor 500")
    r"methyl-?pred": "methylprednisolone",
    r"mvi": "multivitamin",
    r"metfor": "metformin",
    r"sodium\s+polystyrene\s+sulfonate|kayexalate": "sodium polystyrene sulfonate",
    r"bpo": "benzoyl peroxide",
    r"g-?csf": "filgrastim",
    r"coenzyme\s+q\s?10|co-?q\s?10": "ubidecarenone",
    r"omega-?\s?3(?:\s+fatty\s+acids?)?": "omega-3 fatty acids",
    r"l-?carnitine": "levocarnitine",
    r"l-?methylfolate": "levomefolate",
    r"l-?arginine": "arginine",
    r"5-?fu": "fluorouracil",
    r"sux(?:amethonium)?": "succinylcholine",
    r"vit(?:amin)?\s*k1?": "phytonadione",
    r"tnk(?:-?tpa)?": "tenecteplase",
    # Penicillin V is the oral penicillin; "penicillin" alone is not the same order.
    r"penicillin\s+v(?:k)?|pen\s+vk?|phenoxymethyl\s*penicillin": "penicillin v",
    # "Mag oxide" is how ward notes shorten magnesium oxide ("mag" alone is no drug).
    r"mag\.?\s+ox(?:ide)?": "magnesium oxide",
    # PTU: propylthiouracil, the thionamide of the first trimester (seventh pass).
    r"ptu": "propylthiouracil",
    # fourteenth pass: the UK names of levodopa with its decarboxylase inhibitor, the UK
    # name of calcipotriene, and the two-drug psoriasis gel written with a slash
    r"co-?careldopa": "carbidopa / levodopa",
    # "Hold heparin gtt", "Heparin bolus per protocol": a heparin infusion or bolus named
    # with no medication cue (the shared NLP reads a bare "heparin" only after one)
    r"heparin(?=\s+(?:gtt|drip|infusion|bolus|nomogram)\b)": "heparin",
    r"co-?beneldopa": "benserazide / levodopa",
    r"calcipotriol": "calcipotriene",
    _CALCIPOTRIOL_BETAMETHASONE: "betamethasone / calcipotriene",
    # fifteenth pass: the peripherally acting opioid antagonist of opioid constipation
    r"naloxegol": "naloxegol",
    # sixteenth pass: real generics no table held (a low molecular weight heparin, the
    # lipase inhibitor, a herbal product patients take, the adult pertussis booster), the
    # full name of mycophenolate's mofetil salt, and the fluid's name with "solution"
    r"tinzaparin": "tinzaparin",
    r"orlistat": "orlistat",
    r"st\.?\s*john'?s\s+wort": "st john's wort",
    r"tdap(?:\s+vaccine)?": "tdap vaccine",
    r"mycophenolate\s+mofetil": "mycophenolate mofetil",
    r"lactated\s+ringer'?s(?:\s+solution)?": "ringer lactate",
    # eighteenth pass: penicillin G (benzylpenicillin) is not the oral penicillin V, so
    # "penicillin" alone is not its name; the immunoglobulin given after a rabies exposure
    # (not the serum immunoglobulins test); the croup nebuliser
    r"penicillin\s+g|pen\s+g": "penicillin g",
    r"rabies\s+immun(?:e\s+)?o?globulin": "rabies immune globulin",
    r"racemic\s+epi(?:nephrine)?|racepinephrine": "racepinephrine",
    r"pegfilgrastim": "pegfilgrastim",
    # "Epi 0.3 mg IM": epinephrine only with its dose right after ("epi" is also epidural)
    r"epi(?=\s+\d+(?:\.\d+)?\s*(?:mg|mcg|micrograms?|ml)\b)": "epinephrine",
    # nineteenth pass: the UK tetracycline of acne (no table held it; not an English word)
    r"lymecycline": "lymecycline",
    # twentieth pass: "hold ferrous sulfate" (the shared NLP reads the salt only after a
    # start), NPH insulin by its US short name, vitamin D2 by its number
    r"ferrous\s+sul(?:f|ph)ate": "ferrous sulfate",
    r"nph(?:\s+insulin)?|insulin\s+nph": "insulin isophane",
    r"vitamin\s+d2|vit\.?\s*d2": "ergocalciferol",
    # twenty-first pass: the two-drug bowel tablet by its US name (the shared NLP read only
    # the docusate, leaving "senna" out)
    r"senna[-\s]?(?:plus[-\s]?)?docusate|docusate[-\s]senna": "docusate / senna",
    # "IVF DNS @ 100 ml/hr": dextrose in normal saline, only with its rate or volume after
    # it ("refer to ENT for DNS" is a deviated septum)
    r"dns(?=\s*(?:@|\d))": "dextrose / sodium chloride",
    # "Rhesus negative - anti-D at 28 weeks": the immunoglobulin given, not the antibody test
    r"anti[-\s]?d(?:\s+(?:immuno)?globulin)?(?!\s*(?:antibod|titre|titer|screen|level|ab\b))": (
        "rho(d) immune globulin"
    ),
}
