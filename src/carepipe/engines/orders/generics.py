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
    "cyclizine",  # UK antiemetic (eighth pass)
    # anti-infective: pivmecillinam, the UK first-line for lower UTI (eighth pass)
    "pivmecillinam",
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
    # --- 2026-11-28, second list: the commonest outpatient and inpatient generics the
    # tables still lacked, checked one by one against the engine ("Tab X 10 mg OD" read
    # nothing, or read a near spelling of another drug: pitavastatin as pravastatin,
    # cycloserine as cyclosporine, which an exact entry here now prevents).
    # analgesia, anaesthesia, ICU
    "methadone", "nalbuphine", "pentazocine", "butorphanol", "remifentanil", "etomidate",
    "esketamine", "thiopentone", "rocuronium", "vecuronium", "succinylcholine",
    "sugammadex", "bupivacaine", "ropivacaine", "vasopressin", "terlipressin",
    "phenylephrine", "milrinone", "esmolol", "nicardipine", "clevidipine", "mannitol",
    "pralidoxime",
    # cardiovascular, lipids, haematology
    "edoxaban", "dalteparin", "phytonadione", "streptokinase", "tenecteplase", "lovastatin",
    "pitavastatin", "gemfibrozil", "niacin", "evolocumab", "bempedoic acid", "felodipine",
    "lercanidipine", "benidipine", "azelnidipine", "azilsartan", "terazosin",
    "acetazolamide", "ambrisentan", "bosentan", "macitentan", "riociguat", "tolvaptan",
    "conivaptan", "deferasirox", "deferoxamine", "eltrombopag", "darbepoetin",
    "iron dextran",
    # diabetes, endocrine, kidney and bone
    "miglitol", "tirzepatide", "cinacalcet", "paricalcitol", "alfacalcidol",
    "ergocalciferol", "sevelamer", "risedronate",
    # respiratory, allergy, GI, liver
    "ciclesonide", "indacaterol", "roflumilast", "rupatadine", "carbocisteine", "mosapride",
    "trimethobenzamide", "pancreatin", "pancrelipase", "silymarin", "obeticholic acid",
    "l-ornithine l-aspartate",
    # anti-infectives
    "cloxacillin", "piperacillin", "imipenem", "doripenem", "ceftolozane", "teicoplanin",
    "colistimethate", "sulfamethoxazole", "streptomycin", "ethionamide", "cycloserine",
    "delamanid", "griseofulvin", "posaconazole", "sertaconazole", "caspofungin",
    "anidulafungin", "favipiravir", "ribavirin", "sofosbuvir", "daclatasvir",
    "velpatasvir", "dolutegravir", "efavirenz", "nevirapine", "artemether",
    "lumefantrine", "sulfadiazine", "pyrimethamine",
    # neurology, psychiatry, sleep
    "fosphenytoin", "brivaracetam", "zonisamide", "ethosuximide", "perampanel",
    "cenobamate", "eslicarbazepine", "clomipramine", "dosulepin", "carbidopa", "amantadine",
    "methocarbamol", "zolmitriptan", "naratriptan", "modafinil", "armodafinil",
    "lisdexamfetamine", "ramelteon", "suvorexant", "eszopiclone", "zopiclone",
    "nitrazepam",
    # women's health, urology
    "methylergometrine", "estriol", "desogestrel", "drospirenone", "cyproterone",
    "conjugated estrogens",
    # oncology
    "fluorouracil", "paclitaxel", "docetaxel", "gemcitabine", "oxaliplatin", "doxorubicin",
    "vincristine", "etoposide", "bortezomib", "lenalidomide", "thalidomide",
    # supplements and skin
    "levocarnitine", "ubidecarenone", "biotin", "lycopene", "hydroquinone",
    # the generics of the brands in brands.py that the tables did not yet know
    "fidaxomicin", "varenicline", "ebastine", "nepafenac", "azelastine", "dienogest",
    "carboprost", "fluocinolone", "amphetamine", "dextroamphetamine", "vilanterol",
    "umeclidinium", "chymotrypsin", "serratiopeptidase", "framycetin", "povidone iodine",
    "saccharomyces boulardii", "bacillus clausii", "lactic acid bacillus", "levomefolate",
    "arginine", "halobetasol", "pimecrolimus", "sucroferric oxyhydroxide",
    "phenazopyridine", "ethinyl estradiol", "omega-3 fatty acids",
    # fifth pass: salts that are prescribed by their salt name (calcium acetate is a phosphate
    # binder, calcium gluconate the IV calcium: neither is the carbonate supplement), and
    # common UK/US antibiotics and an antiemetic the tables lacked
    "calcium acetate", "calcium gluconate", "calcium citrate", "lithium carbonate",
    "flucloxacillin", "dicloxacillin", "doxylamine",
    # ninth pass: UK generics of eye drops, palliative care, B12 injection and IV penicillin,
    # and the generics of the ninth pass's brands
    "chloramphenicol", "levomepromazine", "hydroxocobalamin", "benzylpenicillin",
    "nirmatrelvir", "sodium zirconium cyclosilicate", "disodium hydrogen citrate",
    # eleventh pass: a US antitussive, an anticholinergic of psychiatry, a moderate topical
    # steroid (clobetasone, not the potent clobetasol it was read as), the estrogen of HRT,
    # and the generics of the eleventh pass's brands
    "benzonatate", "procyclidine", "clobetasone", "estradiol", "neomycin", "acetic acid",
    "benzathine penicillin",
    # fourteenth pass: the biologics of rheumatology, dermatology and IBD (none of them an
    # English word), and the vitamin D analogue of psoriasis
    "adalimumab", "etanercept", "infliximab", "golimumab", "certolizumab", "ustekinumab",
    "secukinumab", "ixekizumab", "tocilizumab", "vedolizumab", "rituximab",
    "calcipotriene",
)  # fmt: skip

_CALCIPOTRIOL = r"(?:calcipotriol|calcipotriene)"
_BETAMETHASONE = r"betamethasone(?:\s+dipropionate)?"
_CALCIPOTRIOL_BETAMETHASONE = (
    rf"{_CALCIPOTRIOL}\s*(?:/|\+|and|with)\s*{_BETAMETHASONE}"
    rf"|{_BETAMETHASONE}\s*(?:/|\+|and|with)\s*{_CALCIPOTRIOL}"
)

#: Spellings of some of them (a regular expression -> the canonical name).
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
}
