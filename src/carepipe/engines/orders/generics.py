"""Generic names the orders engine reads beyond the shared clinical NLP's lexicon.

The shared lexicon (``carepipe.engines.nlp.lexicon.medications``) is also the scribe's ASR
vocabulary: every name added there changes what the recogniser is biased towards and which
heard words it corrects. Orders are typed, not heard, so a wider list of generics costs
nothing here; it lives in this engine only. The names were written on 2026-11-28 from
clinical knowledge of common outpatient, inpatient, ICU, oncology-support, ophthalmic and
dermatological prescribing (not from any corpus case), and only names that are not ordinary
English words were taken, so a match needs no context.
"""

from __future__ import annotations

#: One word or phrase per generic, written as the canonical name (lower case).
GENERICS: tuple[str, ...] = (
    # cardiovascular, renal
    "amiloride", "bumetanide", "metolazone", "nadolol", "sotalol", "flecainide",
    "propafenone", "mexiletine", "dronedarone", "moxonidine", "doxazosin", "dipyridamole",
    "cilostazol", "pentoxifylline", "dobutamine", "dopamine", "norepinephrine", "adenosine",
    "alteplase", "hydromorphone",
    # diabetes, endocrine, bone
    "alogliptin", "nateglinide", "repaglinide", "exenatide", "fludrocortisone",
    "desmopressin", "cabergoline", "bromocriptine", "raloxifene", "teriparatide",
    "denosumab", "ibandronate", "zoledronic acid", "levonorgestrel",
    # respiratory, allergy
    "acebrophylline", "aminophylline", "terbutaline", "ketotifen", "cyproheptadine",
    "omalizumab", "dupilumab",
    # GI
    "magaldrate", "docusate", "prucalopride", "linaclotide", "otilonium", "pinaverium",
    "sodium picosulfate", "granisetron", "palonosetron", "aprepitant", "meclizine",
    "dimenhydrinate", "octreotide",
    # neurology, psychiatry
    "rivastigmine", "galantamine", "rasagiline", "pyridostigmine", "neostigmine",
    "phenobarbital", "clozapine", "amisulpride", "asenapine", "brexpiprazole",
    "lurasidone", "paliperidone", "ziprasidone", "fluphenazine", "chlorpromazine",
    "imipramine", "fluvoxamine", "vortioxetine", "agomelatine", "buspirone",
    "chlordiazepoxide", "disulfiram", "naltrexone", "buprenorphine", "atomoxetine",
    "methylphenidate",
    # pain, rheumatology
    "meloxicam", "piroxicam", "etodolac", "indomethacin", "mefenamic acid", "probenecid",
    "tofacitinib", "etanercept", "infliximab", "rituximab", "secukinumab", "ustekinumab",
    "vedolizumab",
    # anti-infectives
    "cefazolin", "cefepime", "cefoxitin", "ceftaroline", "cefoperazone", "aztreonam",
    "ertapenem", "tigecycline", "daptomycin", "polymyxin b", "minocycline", "tetracycline",
    "nitazoxanide", "praziquantel", "quinine", "dapsone", "rifabutin", "bedaquiline",
    "micafungin", "voriconazole", "miconazole", "natamycin", "amphotericin b",
    "ganciclovir", "valganciclovir", "famciclovir", "remdesivir", "tenofovir",
    "lamivudine", "zidovudine", "abacavir", "entecavir",
    # oncology and its support, haematology
    "anastrozole", "bicalutamide", "capecitabine", "carboplatin", "cisplatin",
    "chlorambucil", "cyclophosphamide", "hydroxyurea", "imatinib", "leucovorin", "mesna",
    "filgrastim", "ferrous fumarate", "magnesium oxide",
    # anaesthesia, ICU
    "atracurium", "dexmedetomidine", "ketamine", "midazolam", "propofol",
    # eye, skin
    "bimatoprost", "travoprost", "brimonidine", "brinzolamide", "dorzolamide",
    "tropicamide", "cyclopentolate", "fluorometholone", "olopatadine", "gatifloxacin",
    "adapalene", "tretinoin", "isotretinoin", "benzoyl peroxide", "minoxidil",
    "methoxsalen", "chlorhexidine",
    # urology
    "vardenafil",
)  # fmt: skip

#: Spellings of some of them (a regular expression -> the canonical name).
SPELLINGS: dict[str, str] = {
    r"amphotericin(?:\s+b)?": "amphotericin b",
    r"polymyxin(?:\s+b)?": "polymyxin b",
    r"zoledronic\s+acid|zoledronate": "zoledronic acid",
    r"mefenamic\s+acid": "mefenamic acid",
    r"noradrenaline": "norepinephrine",
    r"dexmed": "dexmedetomidine",
    r"bpo": "benzoyl peroxide",
    r"g-?csf": "filgrastim",
}
