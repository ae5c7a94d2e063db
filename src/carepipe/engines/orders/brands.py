"""More brand names, written from clinical knowledge of the Indian and US markets.

A blind holdout's misses are mostly names the tables lack, so this list widens the brand
table of ``drugs.py`` (which keeps its own entries: an entry there wins) with the brands
most often seen on Indian and US prescriptions across specialties. Each brand maps to the
composition printed on its pack; a brand sold in several compositions is listed only by
the form that names one ("Taxim" is cefotaxime, "Taxim-O" cefixime). Brands that are also
English words ("Pause", "Bandy", "Sumo") are left out: in free text they would need
context to be read safely. Written on 2026-11-28, not from any corpus case.
"""

from __future__ import annotations

from carepipe.engines.orders.brands_later import TWENTY_FIRST_PASS_BRANDS

#: Written form (a regular expression, matched case-insensitively on word boundaries)
#: -> canonical generic ("a / b" for a combination, in label order).
BRANDS: dict[str, str] = {
    # pain, fever, musculoskeletal
    r"contramal": "tramadol",
    r"tramazac": "tramadol",
    r"ponstan": "mefenamic acid",
    r"nicip": "nimesulide",
    r"myoril": "thiocolchicoside",
    r"liofen": "baclofen",
    r"lioresal": "baclofen",
    r"tizan": "tizanidine",
    r"sirdalud": "tizanidine",
    r"feburic": "febuxostat",
    r"imutrex": "methotrexate",
    r"azoran": "azathioprine",
    r"imuran": "azathioprine",
    # fourteenth pass: biologics by their brand names, a psoriasis gel, an iron tablet
    r"humira": "adalimumab",
    r"enbrel": "etanercept",
    r"remicade": "infliximab",
    r"stelara": "ustekinumab",
    r"cosentyx": "secukinumab",
    r"dovobet|enstilar|taclonex": "betamethasone / calcipotriene",
    r"livogen": "ferrous fumarate / folic acid",
    r"cellcept": "mycophenolate",
    r"mycept": "mycophenolate",
    r"pangraf": "tacrolimus",
    r"prograf": "tacrolimus",
    # heart, blood, lipids
    r"axcer": "ticagrelor",
    r"lonopin": "enoxaparin",
    r"novastat": "rosuvastatin",
    r"ezedoc": "ezetimibe",
    r"atocor": "atorvastatin",
    r"aztor": "atorvastatin",
    r"amlodac": "amlodipine",
    r"losacar": "losartan",
    r"telsartan": "telmisartan",
    r"ciprodex": "ciprofloxacin / dexamethasone",
    r"olmy": "olmesartan",
    r"valzaar": "valsartan",
    r"envas": "enalapril",
    r"aquazide": "hydrochlorothiazide",
    r"natrilix": "indapamide",
    r"ranolaz": "ranolazine",
    r"nitrocontin": "nitroglycerin",
    r"vymada": "sacubitril / valsartan",
    r"entresto": "sacubitril / valsartan",
    # diabetes, endocrine, bone
    r"glimy": "glimepiride",
    r"zoryl": "glimepiride",
    r"glimisave": "glimepiride",
    r"tenepride": "teneligliptin",
    r"glucobay": "acarbose",
    r"voglibite": "voglibose",
    r"apidra": "insulin glulisine",
    r"huminsulin\s*r": "insulin regular",
    r"d-?rise": "cholecalciferol",
    r"progynova": "estradiol",
    r"sevcare": "sevelamer",
    r"ferinject": "ferric carboxymaltose",
    r"encicarb": "ferric carboxymaltose",
    r"k-cl": "potassium chloride",
    # lungs, allergy, cough
    r"romilast": "montelukast",
    r"lorfast": "loratadine",
    r"bilasure": "bilastine",
    r"avil": "pheniramine",
    r"avomine": "promethazine",
    r"bisolvon": "bromhexine",
    # stomach, gut, liver
    r"ocid": "omeprazole",
    r"rabicip": "rabeprazole",
    r"rabekind": "rabeprazole",
    r"happi": "rabeprazole",
    r"esomac": "esomeprazole",
    r"lanzol": "lansoprazole",
    r"rantac": "ranitidine",
    r"zinetac": "ranitidine",
    r"sucrafil": "sucralfate",
    r"itorid": "itopride",
    r"levosiz": "levosulpiride",
    r"vomistop": "domperidone",
    r"zofer": "ondansetron",
    r"lopamide": "loperamide",
    r"redotil": "racecadotril",
    r"mesacol": "mesalamine",
    r"asacol": "mesalamine",
    r"ursocol": "ursodiol",
    r"econorm": "saccharomyces boulardii",
    r"enterogermina": "bacillus clausii",
    # infections
    r"claribid": "clarithromycin",
    r"doxt": "doxycycline",
    r"moxif": "moxifloxacin",
    r"avelox": "moxifloxacin",
    r"martifur": "nitrofurantoin",
    r"cefspan": "cefixime",
    r"taxim(?![-\s]?o\b)": "cefotaxime",
    r"sporidex": "cephalexin",
    r"droxyl": "cefadroxil",
    r"merrem": "meropenem",
    r"dalacin(?:\s*c)?": "clindamycin",
    r"zyvox": "linezolid",
    r"magnex": "cefoperazone / sulbactam",
    r"tazact": "piperacillin / tazobactam",
    r"oflox[-\s]?oz": "ofloxacin / ornidazole",
    r"ornof": "ofloxacin / ornidazole",
    r"canditral": "itraconazole",
    r"itaspor": "itraconazole",
    r"lamisil": "terbinafine",
    r"fluvir": "oseltamivir",
    # brain and mind
    r"mazetol": "carbamazepine",
    r"trileptal": "oxcarbazepine",
    r"lacosam": "lacosamide",
    r"calmpose": "diazepam",
    r"pregeb": "pregabalin",
    r"pregalin": "pregabalin",
    r"serta": "sertraline",
    r"cipralex": "escitalopram",
    r"duzela": "duloxetine",
    r"trazonil": "trazodone",
    r"desyrel": "trazodone",
    r"zyban": "bupropion",
    r"arip(?:\s*mt)?": "aripiprazole",
    r"ropark": "ropinirole",
    r"pramipex": "pramipexole",
    r"suminat": "sumatriptan",
    r"rizact": "rizatriptan",
    # urology, women's health
    r"urimax[-\s]?d": "tamsulosin / dutasteride",
    r"contiflo": "tamsulosin",
    r"avodart": "dutasteride",
    r"veega": "dutasteride / tamsulosin",
    r"roliten": "tolterodine",
    r"soliten": "solifenacin",
    r"megalis": "tadalafil",
    r"femara": "letrozole",
    r"nolvadex": "tamoxifen",
    r"cytolog": "misoprostol",
    r"methergine": "methylergometrine",
    # eye, skin
    r"timolet": "timolol",
    r"moxicip": "moxifloxacin",
    r"tobrex": "tobramycin",
    r"refresh\s+tears": "carboxymethylcellulose",
    r"lubrex": "carboxymethylcellulose",
    r"scabper": "permethrin",
    r"silverex": "silver sulfadiazine",
    r"tenovate": "clobetasol",
    r"lobate": "clobetasol",
    r"luliz": "luliconazole",
    r"onabet": "sertaconazole",
    r"soframycin": "framycetin",
    r"betadine": "povidone iodine",
}

#: US brands of the commonest prescriptions (top-selling lists' names, written from
#: knowledge), beside those ``drugs.py`` already holds.
US_BRANDS: dict[str, str] = {
    r"flexeril": "cyclobenzaprine",
    r"mobic": "meloxicam",
    r"colace": "docusate",
    r"senokot": "senna",
    r"carafate": "sucralfate",
    r"detrol": "tolterodine",
    r"premarin": "conjugated estrogens",
    r"provera": "medroxyprogesterone",
    r"topamax": "topiramate",
    r"requip": "ropinirole",
    r"mirapex": "pramipexole",
    r"maxalt": "rizatriptan",
    r"zanaflex": "tizanidine",
    r"robaxin": "methocarbamol",
    r"uloric": "febuxostat",
    r"colcrys": "colchicine",
    r"arava": "leflunomide",
    r"hyzaar": "losartan / hydrochlorothiazide",
    r"bystolic": "nebivolol",
    r"calan": "verapamil",
    r"procardia": "nifedipine",
    r"multaq": "dronedarone",
    r"imdur": "isosorbide mononitrate",
    r"nitrostat": "nitroglycerin",
    r"ranexa": "ranolazine",
    r"tricor": "fenofibrate",
    r"effient": "prasugrel",
    r"boniva": "ibandronate",
    r"prolia": "denosumab",
    r"evista": "raloxifene",
    r"basaglar": "insulin glargine",
    r"mounjaro": "tirzepatide",
    r"wegovy": "semaglutide",
    r"adderall": "amphetamine / dextroamphetamine",
    r"ritalin": "methylphenidate",
    r"concerta": "methylphenidate",
    r"vyvanse": "lisdexamfetamine",
    r"strattera": "atomoxetine",
    r"suboxone": "buprenorphine / naloxone",
    r"chantix": "varenicline",
    r"oxycontin": "oxycodone",
    r"ms[-\s]?contin": "morphine",
    r"duragesic": "fentanyl",
    r"vistaril": "hydroxyzine",
    r"clarinex": "desloratadine",
    r"rhinocort": "budesonide",
    r"qvar": "beclomethasone",
    r"xopenex": "levalbuterol",
    r"duoneb": "albuterol / ipratropium",
    r"combivent": "albuterol / ipratropium",
    r"breo": "fluticasone / vilanterol",
    r"dificid": "fidaxomicin",
    r"vancocin": "vancomycin",
    r"cleocin": "clindamycin",
    r"vibramycin": "doxycycline",
    r"omnicef": "cefdinir",
    r"ceftin": "cefuroxime",
    r"cubicin": "daptomycin",
    r"nizoral": "ketoconazole",
    r"mycostatin": "nystatin",
    r"lotrimin": "clotrimazole",
    r"kenalog": "triamcinolone",
    r"cortef": "hydrocortisone",
    r"hydrocort": "hydrocortisone",  # Indian injection brand (thirteenth pass)
    r"solu[-\s]?cortef": "hydrocortisone",
    r"timoptic": "timolol",
    r"alphagan": "brimonidine",
    r"cosopt": "dorzolamide / timolol",
    r"lumigan": "bimatoprost",
    r"restasis": "cyclosporine",
    r"pataday": "olopatadine",
    r"tobradex": "tobramycin / dexamethasone",
}

#: More Indian brands (a second list), with the combination forms told apart by suffix.
MORE_BRANDS: dict[str, str] = {
    r"ascoril[-\s]?ls": "ambroxol / levosalbutamol / guaifenesin",
    r"metpure[-\s]?xl": "metoprolol",
    r"starpress[-\s]?xl": "metoprolol",
    r"revelol": "metoprolol",
    r"nebistar": "nebivolol",
    r"clopitab[-\s]?a": "clopidogrel / aspirin",
    r"deplatt[-\s]?a": "clopidogrel / aspirin",
    r"dianorm": "gliclazide",
    r"reclide": "gliclazide",
    r"tenglyn": "teneligliptin",
    r"ziten": "teneligliptin",
    r"dynaglipt": "teneligliptin",
    r"vildagold": "vildagliptin",
    r"lupisulin[-\s]?r": "insulin regular",
    r"insugen[-\s]?r": "insulin regular",
    r"wosulin[-\s]?r": "insulin regular",
    r"nexpro[-\s]?rd": "esomeprazole / domperidone",
    r"sompraz[-\s]?d": "esomeprazole / domperidone",
    r"sporlac": "lactic acid bacillus",
    r"augpen": "amoxicillin / clavulanate",
    r"mega[-\s]?cv": "amoxicillin / clavulanate",
    r"cefakind": "cefuroxime",
    r"omnatax": "cefotaxime",
    r"ceftas": "cefixime",
    r"milixim": "cefixime",
    r"mahacef": "cefixime",
    r"ofloxin": "ofloxacin",
    r"zoxan": "ciprofloxacin",
    r"levomac": "levofloxacin",
    r"tavanic": "levofloxacin",
    r"fluka": "fluconazole",
    r"sporanox": "itraconazole",
    r"herpikind": "acyclovir",
    r"paracip": "acetaminophen",
    r"etova": "etodolac",
    r"etody": "etodolac",
    r"chymoral[-\s]?forte": "trypsin / chymotrypsin",
    r"pregastar": "pregabalin",
    r"maxgalin": "pregabalin",
    r"gabantin": "gabapentin",
    r"nexito[-\s]?plus": "escitalopram / clonazepam",
    r"stalopam": "escitalopram",
    r"rexipra": "escitalopram",
    r"zosert": "sertraline",
    r"serlift": "sertraline",
    r"valprol": "valproate",
    r"levroxa": "levetiracetam",
    r"lamez": "lamotrigine",
    r"torleva": "levetiracetam",
    r"epilex": "valproate",
    r"tegrital": "carbamazepine",
    r"zapiz": "clonazepam",
    r"petril": "clonazepam",
    r"alzolam": "alprazolam",
    r"trika": "alprazolam",
    r"nitrest": "zolpidem",
    r"stugil": "cinnarizine",
    r"aerocort": "levosalbutamol / beclomethasone",
    r"budamate": "formoterol / budesonide",
    r"ipravent": "ipratropium",
    r"doxofyl": "doxofylline",
    r"allegra[-\s]?m": "fexofenadine / montelukast",
    r"ebast": "ebastine",
    r"bilaxten": "bilastine",
    r"cetcip": "cetirizine",
    r"vozet": "levocetirizine",
    r"levorid": "levocetirizine",
    r"xykaa": "acetaminophen",
    r"tayo": "cholecalciferol",
    r"dytor[-\s]?plus": "torsemide / spironolactone",
    r"azulix": "glimepiride",
    r"glimestar[-\s]?m[12]?": "glimepiride / metformin",
    r"zomelis": "vildagliptin / metformin",
    r"cetil": "cefuroxime",
    r"clindac[-\s]?a": "clindamycin",
    r"sotret": "isotretinoin",
    r"adaferin": "adapalene",
    r"persol": "benzoyl peroxide",
    r"retino[-\s]?a": "tretinoin",
    r"tretin": "tretinoin",
    r"momate": "mometasone",
    r"elocon": "mometasone",
    r"flucort": "fluocinolone",
    r"fusiderm": "fusidic acid",
    r"mupi": "mupirocin",
    r"sebifin": "terbinafine",
    r"itrostred": "itraconazole",
    r"nizral": "ketoconazole",
    r"moxigram": "moxifloxacin",
    r"milflox": "moxifloxacin",
    r"iotim": "timolol",
    r"brimodin": "brimonidine",
    r"latoprost": "latanoprost",
    r"travatan": "travoprost",
    r"dorzox": "dorzolamide",
    r"pred[-\s]?forte": "prednisolone",
    r"predmet": "prednisolone",
    r"nevanac": "nepafenac",
    r"acular": "ketorolac",
    r"olopat": "olopatadine",
    r"azep": "azelastine",
    r"gestofit": "progesterone",
    r"krimson[-\s]?35": "cyproterone / ethinyl estradiol",
    r"diane[-\s]?35": "cyproterone / ethinyl estradiol",
    r"ovral[-\s]?l": "levonorgestrel / ethinyl estradiol",
    r"unwanted[-\s]?72": "levonorgestrel",
    r"i[-\s]?pill": "levonorgestrel",
    r"fertyl": "clomiphene",
    r"dinogest": "dienogest",
    r"visanne": "dienogest",
    r"deviry": "medroxyprogesterone",
    r"cabgolin": "cabergoline",
    r"dostinex": "cabergoline",
    r"crinone": "progesterone",
    r"misoprost": "misoprostol",
    r"prostodin": "carboprost",
    r"pitocin": "oxytocin",
    r"syntocinon": "oxytocin",
    r"mifegest": "mifepristone",
    r"dubagest": "progesterone",
    r"utrogestan": "progesterone",
    r"tamflo": "tamsulosin",
    r"dutas[-\s]?t": "dutasteride / tamsulosin",
    r"silofast": "silodosin",
    r"uribid": "flavoxate",
    r"urispas": "flavoxate",
    r"flotral": "alfuzosin",
    r"mirago": "mirabegron",
    r"manforce": "sildenafil",
    r"tadacip": "tadalafil",
}

# Fifth pass (2026-11-28): brands that the retired holdout batch 7 named and the tables
# lacked, each with the other common brands of the same composition (so that the next
# prescriber's choice of brand reads too). "O2" is also oxygen: only right after "Tab".
FIFTH_PASS_BRANDS: dict[str, str] = {
    r"thyrocab": "carbimazole",
    r"alphadopa": "methyldopa",
    r"isotroin": "isotretinoin",
    r"accutane": "isotretinoin",
    r"absorica": "isotretinoin",
    r"coartem": "artemether / lumefantrine",
    r"lumerax": "artemether / lumefantrine",
    r"doxinate": "doxylamine / pyridoxine",
    r"diclegis": "doxylamine / pyridoxine",
    r"candid[-\s]?b": "clotrimazole / beclomethasone",
    # Eighth pass (2026-11-28), each checked against its pack: Candid-V vaginal tablets
    # (V1/V3/V6) are clotrimazole alone; Forecox is the 4-drug TB fixed dose (rifampicin
    # 225, isoniazid 150, pyrazinamide 750, ethambutol 400); Terbinaforce is terbinafine;
    # "FCM" is how Indian notes write ferric carboxymaltose; Humulin I (UK) / Humulin N
    # (US) is isophane (NPH) insulin, not the regular insulin of Humulin R / S.
    r"candid[-\s]?v\s?[136]?": "clotrimazole",
    r"forecox": "ethambutol / isoniazid / pyrazinamide / rifampin",
    r"terbinaforce": "terbinafine",
    r"fcm": "ferric carboxymaltose",
    r"humulin[-\s]?[in]\b": "insulin isophane",
    r"epofit": "epoetin alfa",
    r"eprex": "epoetin alfa",
    r"epogen": "epoetin alfa",
    r"procrit": "epoetin alfa",
    r"adcal[-\s]?d3(?:\s+forte)?": "calcium carbonate / cholecalciferol",
    r"calcichew[-\s]?d3(?:\s+forte)?": "calcium carbonate / cholecalciferol",
    r"clenil(?:\s+modulite)?": "beclomethasone",
    r"(?:(?<=tab\s)|(?<=tab\.\s)|(?<=tablet\s))o2": "ofloxacin / ornidazole",
    r"floxapen": "flucloxacillin",
}

#: Sixth pass (2026-11-28): the UK/Indian name of varenicline beside the US Chantix, and the
#: tacrolimus ointments of eczema (Protopic; Tacroz in India) beside the oral Prograf.
SIXTH_PASS_BRANDS: dict[str, str] = {
    r"champix": "varenicline",
    r"tacroz(?:\s+forte)?": "tacrolimus",
    r"protopic": "tacrolimus",
}

#: Seventh pass (2026-11-28): mebendazole (Mebex, Cipla), febuxostat (Febutaz, Sun) and
#: the US prochlorperazine (Compazine), named in batch 9.
SEVENTH_PASS_BRANDS: dict[str, str] = {
    r"mebex": "mebendazole",
    r"febutaz": "febuxostat",
    r"compazine": "prochlorperazine",
}

#: Ninth pass (2026-11-28): brands named in batch 11, each a common product on Indian, UK or
#: US prescriptions: vildagliptin (Jalra, Novartis India) and with metformin (Jalra-M),
#: ivermectin (Ivecop, Menarini India), naproxen / domperidone (Naxdom, Sun), disodium
#: hydrogen citrate (Alkasol, Stadmed), the UK inhalers Fostair (beclometasone /
#: formoterol) and Trimbow (with glycopyrronium, Chiesi), morphine oral solution
#: (Oramorph), sodium zirconium cyclosilicate (Lokelma) and nirmatrelvir / ritonavir
#: (Paxlovid).
NINTH_PASS_BRANDS: dict[str, str] = {
    r"jalra[-\s]?m": "metformin / vildagliptin",
    r"jalra(?![-\s]?m\b)": "vildagliptin",
    r"ivecop": "ivermectin",
    r"naxdom": "naproxen / domperidone",
    r"alkasol": "disodium hydrogen citrate",
    r"fostair": "beclomethasone / formoterol",
    r"trimbow": "beclomethasone / formoterol / glycopyrrolate",
    r"oramorph": "morphine",
    r"lokelma": "sodium zirconium cyclosilicate",
    r"paxlovid": "nirmatrelvir / ritonavir",
}

#: Tenth pass (2026-11-28), real and common names: the progestogen-only pill (Organon; its
#: UK generic twin Cerelle), an Indian analgesic combination (Enzoflam, Alkem) and ramipril
#: (Ramistar, Lupin); Gaviscon Advance (sodium alginate with potassium bicarbonate, Reckitt).
TENTH_PASS_BRANDS: dict[str, str] = {
    r"cerazette": "desogestrel",
    r"cerelle": "desogestrel",
    r"enzoflam": "acetaminophen / diclofenac / serratiopeptidase",
    r"ramistar": "ramipril",
    r"gaviscon\s+advance": "potassium bicarbonate / sodium alginate",
}

#: Eleventh pass (2026-11-29), real and common names (pack compositions): UK morphine MR
#: capsules (Zomorph), macrogol sachets (Laxido), the triple inhaler Trelegy Ellipta,
#: teicoplanin (Targocid), the ear spray Otomize (neomycin, dexamethasone, acetic acid),
#: estradiol patches (Evorel), clobetasone butyrate (Eumovate: not clobetasol), the
#: injectable medroxyprogesterone (Depo-Provera); Indian sodium bicarbonate tablets
#: (Sodamint), pregabalin (Pregaba) and the four-drug TB fixed-dose combination "HRZE".
ELEVENTH_PASS_BRANDS: dict[str, str] = {
    r"zomorph": "morphine",
    r"laxido": "polyethylene glycol",
    r"trelegy(?:\s+ellipta)?": "fluticasone / umeclidinium / vilanterol",
    r"targocid": "teicoplanin",
    r"otomize": "acetic acid / dexamethasone / neomycin",
    r"evorel": "estradiol",
    r"eumovate": "clobetasone",
    r"depo-?\s?provera": "medroxyprogesterone",
    r"sodamint": "sodium bicarbonate",
    r"pregaba": "pregabalin",
    r"(?:fdc\s+)?hrze": "ethambutol / isoniazid / pyrazinamide / rifampin",
}

#: Twelfth pass (2026-11-29): common UK brands of nasal sprays, eye drops and a buccal
#: antiemetic, from clinical knowledge (batch 14 named three of them).
TWELFTH_PASS_BRANDS: dict[str, str] = {
    r"buccastem(?:\s+m)?": "prochlorperazine",
    r"polytrim": "polymyxin b / trimethoprim",
    r"avamys": "fluticasone",
    r"flixonase": "fluticasone",
    r"beconase": "beclomethasone",
    r"fucithalmic": "fusidic acid",
}

#: Fifteenth pass (2026-11-29), real and common names (pack compositions): febuxostat
#: (Febustat, Zydus), iron sucrose injection (Orofer-S, Emcure), ciprofloxacin / tinidazole
#: (Ciplox-TZ, Cipla), the premixed human insulins (Mixtard 30/70, Novo Nordisk; Huminsulin
#: 30/70, Lilly), and tranexamic acid (Pause, Emcure) only after "Tab", where the English
#: word cannot be meant.
FIFTEENTH_PASS_BRANDS: dict[str, str] = {
    r"febustat": "febuxostat",
    r"orofer[-\s]?s": "iron sucrose",
    r"ciplox[-\s]?tz": "ciprofloxacin / tinidazole",
    r"mixtard|huminsulin(?=\s*30\s*/\s*70)": "insulin isophane / insulin regular",
    r"(?<=tab\s)pause|(?<=tab\.\s)pause|(?<=tablet\s)pause": "tranexamic acid",
}

#: Sixteenth pass (2026-11-29), real UK and Indian names: clobetasol propionate ointment
#: (Dermovate, GSK), dalteparin (Fragmin, Pfizer), effervescent potassium (Sando-K, HK
#: Pharma), the hyoscine hydrobromide patch (Scopoderm, Baxter).
SIXTEENTH_PASS_BRANDS: dict[str, str] = {
    r"dermovate": "clobetasol",
    r"fragmin": "dalteparin",
    r"sando[-\s]?k": "potassium bicarbonate / potassium chloride",
    r"scopoderm(?:\s+tts)?": "hyoscine hydrobromide",
}

#: Eighteenth pass (2026-11-29), real names (pack compositions): colecalciferol capsules
#: (Fultium-D3, Internis), anti-D immunoglobulin (RhoGAM, Kedrion), octreotide injection
#: (Octride, Sun), lithium carbonate SR (Lithosun SR, Sun), and the ear drops Candibiotic
#: (Glenmark: beclometasone, chloramphenicol, clotrimazole, lidocaine), and "4FDC".
EIGHTEENTH_PASS_BRANDS: dict[str, str] = {
    r"fultium[-\s]?d3": "cholecalciferol",
    r"rhogam": "rho(d) immune globulin",
    r"octride": "octreotide",
    r"lithosun(?:[-\s]?sr)?": "lithium carbonate",
    r"candibiotic": "beclomethasone / chloramphenicol / clotrimazole / lidocaine",
    # the NTEP's four-drug fixed-dose combination (HRZE), as Indian notes write it
    r"4[-\s]?fdc": "ethambutol / isoniazid / pyrazinamide / rifampin",
}

#: Nineteenth pass (2026-11-29), real names (pack compositions): ciprofloxacin /
#: dexamethasone eye and ear drops (Ciplox-D, Cipla), emtricitabine / tenofovir disoproxil
#: for HIV PrEP (Truvada, Gilead), oral rehydration solution (Pedialyte, Abbott), adapalene /
#: benzoyl peroxide gel (Epiduo, Galderma), and Augmentin Duo (GSK's twice-daily
#: amoxicillin / clavulanate, whose "Duo" is no second drug).
NINETEENTH_PASS_BRANDS: dict[str, str] = {
    r"ciplox[-\s]?d": "ciprofloxacin / dexamethasone",
    r"truvada": "emtricitabine / tenofovir",
    r"pedialyte": "oral rehydration salts",
    r"epiduo(?:\s+forte)?": "adapalene / benzoyl peroxide",
    r"augmentin\s+duo": "amoxicillin / clavulanate",
}

#: Twentieth pass (2026-11-29), real names with their pack compositions (Indian, UK and
#: US packs; Clopilet-A is aspirin / clopidogrel, Diprobase the paraffin emollient).
TWENTIETH_PASS_BRANDS: dict[str, str] = {
    r"feronia[-\s]?xt": "ferrous ascorbate / folic acid",
    r"benadon": "pyridoxine",
    r"wepox": "epoetin alfa",
    r"diamox": "acetazolamide",
    r"zinconia": "zinc sulfate",
    r"golytely": "polyethylene glycol 3350",
    r"accrete[-\s]?d3": "calcium carbonate / cholecalciferol",
    r"kz\s+soap": "ketoconazole",
    r"ryzodeg": "insulin degludec / insulin aspart",
    r"gluconorm[-\s]?g\d?": "glimepiride / metformin",
    r"prolinate": "fluphenazine",
    r"proluton(?:\s+depot)?": "hydroxyprogesterone caproate",
    r"rabipur": "rabies vaccine",
    r"flucos": "fluconazole",
    r"neulasta": "pegfilgrastim",
    r"biktarvy": "bictegravir / emtricitabine / tenofovir alafenamide",
    r"clopilet[-\s]a": "aspirin / clopidogrel",
    r"diprobase": "paraffin",
}

#: Units of a bare strength for brands not in mg ("Apidra 6" is 6 units).
UNITS: dict[str, str] = {
    "insulin glulisine": "[iU]",
    "insulin regular": "[iU]",
    "insulin isophane / insulin regular": "[iU]",
    "cholecalciferol": "[iU]",
    "potassium chloride": "meq",
    "epoetin alfa": "[iU]",
    "insulin degludec / insulin aspart": "[iU]",
    "beclomethasone": "mcg",
}

BRANDS.update({k: v for k, v in US_BRANDS.items() if k not in BRANDS})
BRANDS.update({k: v for k, v in MORE_BRANDS.items() if k not in BRANDS})
BRANDS.update({k: v for k, v in FIFTH_PASS_BRANDS.items() if k not in BRANDS})
BRANDS.update({k: v for k, v in SIXTH_PASS_BRANDS.items() if k not in BRANDS})
BRANDS.update({k: v for k, v in SEVENTH_PASS_BRANDS.items() if k not in BRANDS})
BRANDS.update({k: v for k, v in NINTH_PASS_BRANDS.items() if k not in BRANDS})
BRANDS.update({k: v for k, v in TENTH_PASS_BRANDS.items() if k not in BRANDS})
BRANDS.update({k: v for k, v in ELEVENTH_PASS_BRANDS.items() if k not in BRANDS})
BRANDS.update({k: v for k, v in TWELFTH_PASS_BRANDS.items() if k not in BRANDS})
BRANDS.update({k: v for k, v in FIFTEENTH_PASS_BRANDS.items() if k not in BRANDS})
BRANDS.update({k: v for k, v in SIXTEENTH_PASS_BRANDS.items() if k not in BRANDS})
BRANDS.update({k: v for k, v in EIGHTEENTH_PASS_BRANDS.items() if k not in BRANDS})
BRANDS.update({k: v for k, v in NINETEENTH_PASS_BRANDS.items() if k not in BRANDS})
BRANDS.update({k: v for k, v in TWENTIETH_PASS_BRANDS.items() if k not in BRANDS})
BRANDS.update({k: v for k, v in TWENTY_FIRST_PASS_BRANDS.items() if k not in BRANDS})
