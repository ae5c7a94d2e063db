"""Generic names read by exact spelling only: beyond the scribe's recognition vocabulary.

The main medication lexicon (:mod:`carepipe.engines.nlp.lexicon.medications`) is also what
the scribe's recogniser is biased towards and what heard words are repaired to (phonetic
matching, one-edit slips): each name there is a target a garbled phrase can be rewritten
into, so it is kept to the drugs of primary and emergency care. These names are read only
when written (or heard) exactly: a clinician's typed order, or a transcript that spells
them right. They are never a repair target, and a phrase that is one of them is never
repaired into another drug (the scribe once rewrote a correctly heard "felodipine" as
nifedipine, "fludrocortisone" as hydrocortisone, "nitrazepam" as diazepam).

The names were written on 2026-11-28 from clinical knowledge of common outpatient,
inpatient, ICU, oncology-support, ophthalmic and dermatological prescribing (not from any
corpus case), for the orders engine first, and only names that are not ordinary English
words were taken, so a match needs no context. No RxNorm code is claimed for them.
"""

from __future__ import annotations

#: One word or phrase per generic, written as the canonical name (lower case).
WIDER_GENERICS: tuple[str, ...] = (
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
    "adalimumab", "golimumab", "certolizumab", "ixekizumab", "tocilizumab", "calcipotriene",
)  # fmt: skip

#: Other names of one ingredient, read by exact spelling only (never a repair target, so
#: the scribe's recognition is untouched): the international name where the canonical one
#: is the US name, and the grade a product names. Each maps to the canonical name the
#: engines write, so a label or a formulary that uses the other name means the same drug.
WIDER_SYNONYMS: dict[str, str] = {
    # phenoxymethylpenicillin is the INN of penicillin V (BNF and WHO list it so)
    "phenoxymethylpenicillin": "penicillin v",
    # glycopyrronium bromide is the INN of glycopyrrolate (USAN): one salt, one drug
    "glycopyrronium": "glycopyrrolate",
    "glycopyrronium bromide": "glycopyrrolate",
    # the laxative is macrogol of mean molecular weight 3350 (MiraLAX, Movicol, Laxido)
    "polyethylene glycol 3350": "polyethylene glycol",
    "peg 3350": "polyethylene glycol",
    "macrogol 3350": "polyethylene glycol",
    # nineteenth pass (orders, batch 21's labels): benzylpenicillin is the INN of penicillin
    # G (BNF, WHO); methylergometrine the INN of methylergonovine (USAN); lactated Ringer's
    # (US) is Ringer's lactate, Hartmann's solution (UK): one fluid
    "penicillin g": "benzylpenicillin",
    "methylergonovine": "methylergometrine",
    "lactated ringer": "ringer lactate",
    "lactated ringers": "ringer lactate",
    "lactated ringer's": "ringer lactate",
}
