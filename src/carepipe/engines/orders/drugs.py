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

from carepipe.engines.nlp.lexicon.wider_medications import WIDER_GENERICS
from carepipe.engines.orders.brands import BRANDS
from carepipe.engines.orders.brands import UNITS as BRAND_UNITS
from carepipe.engines.orders.spellings import SPELLINGS


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
    # thirteenth pass: the letter after the brand names the second drug, as above
    r"glizid[-\s]?m": _b("gliclazide / metformin"),
    r"cilacar[-\s]?t": _b("cilnidipine / telmisartan"),
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
    # --- issue 12, second pass: common Indian prescribing the first tables lacked --------
    # Written from public pack compositions and the dev batches (never from test cases).
    # Abbreviations clinicians write in notes and prescriptions.
    r"amlo": _g("amlodipine"),
    r"pcm": _g(APAP),
    r"hcq|hcqs": _g("hydroxychloroquine"),
    r"hctz": _g("hydrochlorothiazide"),
    r"mmf": _g("mycophenolate"),
    r"NAC": _g("acetylcysteine", case_sensitive=True),
    r"vanco": _g("vancomycin"),
    r"ceftri": _g("ceftriaxone"),
    r"metro(?=\s*(?:\d|iv\b|inj))": _g("metronidazole"),
    r"mero(?=\s*(?:\d|iv\b|inj))": _g("meropenem"),
    r"pip[-\s]?taz(?:o)?|piptaz": _g("piperacillin / tazobactam"),
    r"piperacillin[-\s]+tazobactam|piperacillin\s*/\s*tazobactam": _g("piperacillin / tazobactam"),
    r"amox[-\s]?clav": _g("amoxicillin / clavulanate"),
    r"diclo": _g("diclofenac"),
    r"soda\s+bicarb(?:onate)?|sodium\s+bicarbonate|nahco3": _g("sodium bicarbonate"),
    r"(?:vitamin|vit\.?)\s*b[-\s]?complex|b[-\s]complex": _g("vitamin b complex"),
    r"(?:vitamin|vit\.?)\s*c": _g("ascorbic acid"),
    # Generics the shared lexicon lacks.
    r"ferrous\s+ascorbate": _g("ferrous ascorbate"),
    r"etophylline": _g("etofylline"),
    r"(?:n-?)?acetyl\s?cysteine": _g("acetylcysteine"),
    r"serratiopeptidase": _g("serratiopeptidase"),
    r"levosulpiride": _g("levosulpiride"),
    r"itopride": _g("itopride"),
    r"nimesulide": _g("nimesulide"),
    r"trimetazidine": _g("trimetazidine"),
    r"nicorandil": _g("nicorandil"),
    r"faropenem": _g("faropenem"),
    r"luliconazole": _g("luliconazole"),
    r"bilastine": _g("bilastine"),
    r"etizolam": _g("etizolam"),
    r"lacosamide": _g("lacosamide"),
    r"prochlorperazine": _g("prochlorperazine"),
    r"sodium\s+picosulfate|sodium\s+picosulphate": _g("sodium picosulfate"),
    r"liquid\s+paraffin": _g("mineral oil", "mL"),
    r"racecadotril": _g("racecadotril"),
    r"rifaximin": _g("rifaximin"),
    r"drotaverine": _g("drotaverine"),
    r"mebeverine": _g("mebeverine"),
    r"silodosin": _g("silodosin"),
    r"alfuzosin": _g("alfuzosin"),
    r"tolterodine": _g("tolterodine"),
    r"mirabegron": _g("mirabegron"),
    r"calcitriol": _g("calcitriol", "mcg"),
    r"glycopyrrolate|glycopyrronium": _g("glycopyrrolate"),
    r"ethamsylate|etamsylate": _g("ethamsylate"),
    r"isoxsuprine": _g("isoxsuprine"),
    r"dydrogesterone": _g("dydrogesterone"),
    r"misoprostol": _g("misoprostol", "mcg"),
    r"mifepristone": _g("mifepristone"),
    r"oxytocin": _g("oxytocin", "[iU]"),
    r"secnidazole": _g("secnidazole"),
    r"colistin": _g("colistin"),
    r"artesunate": _g("artesunate"),
    r"primaquine": _g("primaquine"),
    r"remogliflozin": _g("remogliflozin"),
    r"saroglitazar": _g("saroglitazar"),
    r"leflunomide": _g("leflunomide"),
    r"ferric\s+carboxymaltose": _g("ferric carboxymaltose"),
    r"erythropoietin|epoetin(?:\s+alfa)?": _g("epoetin alfa", "[iU]"),
    r"fondaparinux": _g("fondaparinux"),
    r"triamcinolone": _g("triamcinolone"),
    r"desvenlafaxine": _g("desvenlafaxine"),
    r"chlorzoxazone": _g("chlorzoxazone"),
    r"pheniramine": _g("pheniramine"),
    r"trihexyphenidyl": _g("trihexyphenidyl"),
    r"cefoperazone[-\s]+sulbactam|cefoperazone\s*/\s*sulbactam": _g("cefoperazone / sulbactam"),
    r"lactitol": _g("lactitol"),
    r"potassium\s+citrate": _g("potassium citrate"),
    r"flavoxate": _g("flavoxate"),
    # Brands: analgesics, anti-inflammatories, antispasmodics.
    r"nise": _b("nimesulide"),
    r"hifenac": _b("aceclofenac"),
    r"zerodol[-\s]?sp": _b(f"aceclofenac / {APAP} / serratiopeptidase"),
    r"zerodol[-\s]?th(?:4|8)?": _b("aceclofenac / thiocolchicoside"),
    r"dynapar": _b("diclofenac"),
    r"meftal[-\s]?spas": _b("mefenamic acid / dicyclomine"),
    r"cyclopam": _b(f"{APAP} / dicyclomine"),  # seventeenth pass: with paracetamol
    r"osteofos": _b("alendronate"),  # seventeenth pass
    r"cremaffin(?!\s*plus)": _b("liquid paraffin / magnesium hydroxide", "mL"),  # 17th pass
    r"ibugesic": _b("ibuprofen"),
    r"ibugesic[-\s]?plus": _b(f"ibuprofen / {APAP}"),
    r"flexon": _b(f"ibuprofen / {APAP}"),
    r"etoshine": _b("etoricoxib"),
    r"nucoxia": _b("etoricoxib"),
    r"ketorol": _b("ketorolac"),
    r"drotin": _b("drotaverine"),
    r"buscopan": _b("hyoscine"),
    r"pregabid": _b("pregabalin"),
    r"pregabid[-\s]?m\b": _b("cyanocobalamin / pregabalin"),  # with methylcobalamin
    r"gabapin": _b("gabapentin"),
    r"gabapin[-\s]?nt": _b("gabapentin / nortriptyline"),
    r"nurokind": _b("cyanocobalamin", "mcg"),
    r"methyl?cobal": _b("cyanocobalamin", "mcg"),  # "Methylcobal": sixteenth pass
    r"myospaz": _b(f"chlorzoxazone / {APAP}"),
    # Stomach and bowel.
    r"famocid": _b("famotidine"),
    r"pan[-\s]?dsr": _b("pantoprazole / domperidone"),
    r"veloz": _b("rabeprazole"),
    r"cyra": _b("rabeprazole"),
    r"cyra[-\s]?d": _b("rabeprazole / domperidone"),
    r"esoz": _b("esomeprazole"),
    r"neksium": _b("esomeprazole"),
    r"ganaton": _b("itopride"),
    r"vomikind": _b("ondansetron"),
    r"dulcoflex": _b("bisacodyl"),
    r"udiliv": _b("ursodiol"),
    r"rifagut": _b("rifaximin"),
    r"eldoper": _b("loperamide"),
    # Anti-infectives.
    r"oflox": _b("ofloxacin"),
    r"zenflox": _b("ofloxacin"),
    r"zanocin": _b("ofloxacin"),
    r"norflox": _b("norfloxacin"),
    r"tiniba": _b("tinidazole"),
    r"moxikind[-\s]?cv": _b("amoxicillin / clavulanate"),
    r"levoflox": _b("levofloxacin"),
    r"glevo": _b("levofloxacin"),
    r"loxof": _b("levofloxacin"),
    r"cepodem": _b("cefpodoxime"),
    r"ceftum": _b("cefuroxime"),
    r"zinnat": _b("cefuroxime"),
    r"meronem": _b("meropenem"),
    r"linospan": _b("linezolid"),
    r"lizolid": _b("linezolid"),
    r"forcan": _b("fluconazole"),
    r"zocon": _b("fluconazole"),
    r"terbicip": _b("terbinafine"),
    r"lulifin": _b("luliconazole"),
    r"acivir": _b("acyclovir"),
    r"valcivir": _b("valacyclovir"),
    r"lariago": _b("chloroquine"),
    r"falcigo": _b("artesunate"),
    r"zentel": _b("albendazole"),
    r"ivermectol": _b("ivermectin"),
    r"niftran": _b("nitrofurantoin"),
    r"fucidin": _b("fusidic acid"),
    r"permite": _b("permethrin"),
    r"vigamox": _b("moxifloxacin"),
    # Heart, vessels, blood.
    r"nicardia": _b("nifedipine"),
    r"depin": _b("nifedipine"),
    r"calaptin": _b("verapamil"),
    r"dilzem": _b("diltiazem"),
    r"cardivas": _b("carvedilol"),
    r"nebicard": _b("nebivolol"),
    r"betaloc": _b("metoprolol"),
    r"seloken": _b("metoprolol"),
    r"prolomet(?:[-\s]?xl)?": _b("metoprolol"),
    r"ciplar": _b("propranolol"),
    r"covance": _b("losartan"),
    r"losar[-\s]?h": _b("losartan / hydrochlorothiazide"),
    r"olmezest": _b("olmesartan"),
    r"telvas": _b("telmisartan"),
    r"tazloc": _b("telmisartan"),
    r"amlokind[-\s]?at": _b("amlodipine / atenolol"),
    r"arkamin": _b("clonidine"),
    r"catapres": _b("clonidine"),
    r"minipress(?:[-\s]?xl)?": _b("prazosin"),
    r"aldomet": _b("methyldopa"),
    r"lasilactone": _b("furosemide / spironolactone"),
    r"eptus": _b("eplerenone"),
    r"isordil": _b("isosorbide dinitrate"),
    r"monotrate": _b("isosorbide mononitrate"),
    r"nikoran": _b("nicorandil"),
    r"flavedon(?:[-\s]?mr)?": _b("trimetazidine"),
    r"ivabrad": _b("ivabradine"),
    r"clopitab": _b("clopidogrel"),
    r"acitrom": _b("acenocoumarol"),
    r"uniwarfin": _b("warfarin"),
    r"warf(?=\s*\d)": _b("warfarin"),
    r"arixtra": _b("fondaparinux"),
    r"atorlip": _b("atorvastatin"),
    r"tonact": _b("atorvastatin"),
    r"rozat": _b("rosuvastatin"),
    r"rozucor": _b("rosuvastatin"),
    r"lipicard": _b("fenofibrate"),
    # Diabetes and hormones.
    r"glynase": _b("glipizide"),
    r"gibtulio": _b("empagliflozin"),
    r"oxra": _b("dapagliflozin"),
    r"pioz": _b("pioglitazone"),
    r"volix": _b("voglibose"),
    r"glaritus": _b("insulin glargine", "[iU]"),
    r"neo[-\s]?mercazole": _b("carbimazole"),
    r"arachitol": _b("cholecalciferol", "[iU]"),
    r"rocaltrol": _b("calcitriol", "mcg"),
    r"orofer[-\s]?xt": _b("ferrous ascorbate / folic acid"),
    r"limcee": _b("ascorbic acid"),
    r"celin": _b("ascorbic acid"),
    r"evion": _b("vitamin e"),
    r"zincovit": _b("multivitamin"),
    r"supradyn": _b("multivitamin"),
    r"febuget": _b("febuxostat"),
    r"zurig": _b("febuxostat"),
    r"zycolchin": _b("colchicine"),
    r"folitrax": _b("methotrexate"),
    r"saaz": _b("sulfasalazine"),
    r"lefra": _b("leflunomide"),
    r"defcort": _b("deflazacort"),
    r"defza": _b("deflazacort"),
    r"kenacort": _b("triamcinolone"),
    r"betnesol": _b("betamethasone"),
    r"efcorlin": _b("hydrocortisone"),
    r"veltam": _b("tamsulosin"),
    r"silodal": _b("silodosin"),
    r"rapilif": _b("silodosin"),
    r"alfoo": _b("alfuzosin"),
    r"dutas": _b("dutasteride"),
    r"finast": _b("finasteride"),
    r"vesicare": _b("solifenacin"),
    r"duphaston": _b("dydrogesterone"),
    r"susten": _b("progesterone"),
    r"letroz": _b("letrozole"),
    r"siphene": _b("clomiphene"),
    r"trapic": _b("tranexamic acid"),
    r"duvadilan": _b("isoxsuprine"),
    r"cytotec": _b("misoprostol", "mcg"),
    r"meprate": _b("medroxyprogesterone"),
    r"regestrone": _b("norethisterone"),
    r"primolut[-\s]?n": _b("norethisterone"),
    # Lungs, nose, allergy.
    r"levolin": _b("levalbuterol", "mcg"),
    r"tiova": _b("tiotropium", "mcg"),
    r"doxolin": _b("doxofylline"),
    r"synasma": _b("doxofylline"),
    r"montek": _b("montelukast"),
    r"levocet": _b("levocetirizine"),
    r"teczine": _b("levocetirizine"),
    r"alerid": _b("cetirizine"),
    r"mucinac": _b("acetylcysteine"),
    r"ambrodil": _b("ambroxol"),
    r"mucolite": _b("ambroxol"),
    r"nasivion": _b("oxymetazoline"),
    r"flomist": _b("fluticasone", "mcg"),
    r"nasonex": _b("mometasone", "mcg"),
    # Brain and mind.
    r"levera": _b("levetiracetam"),
    r"valparin": _b("valproate"),
    r"encorate": _b("valproate"),
    r"oxetol": _b("oxcarbazepine"),
    r"lamitor": _b("lamotrigine"),
    r"topamac": _b("topiramate"),
    r"frisium": _b("clobazam"),
    r"sibelium": _b("flunarizine"),
    r"stemetil": _b("prochlorperazine"),
    r"daxid": _b("sertraline"),
    r"fludac": _b("fluoxetine"),
    r"flunil": _b("fluoxetine"),
    r"venlor": _b("venlafaxine"),
    r"mirtaz": _b("mirtazapine"),
    r"tryptomer": _b("amitriptyline"),
    r"sensival": _b("nortriptyline"),
    r"oleanz": _b("olanzapine"),
    r"qutipin": _b("quetiapine"),
    r"sizodon": _b("risperidone"),
    r"licab": _b("lithium"),
    r"serenace": _b("haloperidol"),
    r"etilaam": _b("etizolam"),
    r"zolfresh": _b("zolpidem"),
    r"lonazep": _b("clonazepam"),
    r"pacitane": _b("trihexyphenidyl"),
    r"donep": _b("donepezil"),
    r"admenta": _b("memantine"),
    # --- 2026-11-28 (batch 6, retired to dev, and common US/Indian names beside them) ------
    r"looz": _b("lactulose"),
    # Ringer's lactate as IV fluid orders write it ("IVF RL 100 ml/hr"); capitals only.
    r"RL": DrugName("ringer lactate", False, "mL", case_sensitive=True),
    # "candid" is also an English word: only as the product ("Candid cream", "Candid-B").
    r"candid(?=\s+(?:cream|powder|lotion|gel|mouth\s+paint|dusting|ear\s+drops)\b)": _b(
        "clotrimazole"
    ),
    r"zosyn": _b("piperacillin / tazobactam"),
    r"vanc(?:o)?": _g("vancomycin"),
    r"toradol": _b("ketorolac"),
    r"dilaudid": _b("hydromorphone"),
    r"norco": _b("hydrocodone / acetaminophen"),
    r"vicodin": _b("hydrocodone / acetaminophen"),
    r"percocet": _b("oxycodone / acetaminophen"),
    r"xalatan": _b("latanoprost"),
    r"miralax": _b("polyethylene glycol"),
    r"peg\s*3350": _g("polyethylene glycol"),
    r"narcan": _b("naloxone"),
    r"protonix": _b("pantoprazole"),
    r"coumadin": _b("warfarin"),
    r"eliquis": _b("apixaban"),
    r"xarelto": _b("rivaroxaban"),
    r"keppra": _b("levetiracetam"),
    r"ativan": _b("lorazepam"),
    r"bactrim(?:\s+ds)?": _b("sulfamethoxazole / trimethoprim"),
    r"keflex": _b("cephalexin"),
    r"cipro": _g("ciprofloxacin"),
    r"levaquin": _b("levofloxacin"),
    r"rocephin": _b("ceftriaxone"),
    r"unasyn": _b("ampicillin / sulbactam"),
    r"benadryl": _b("diphenhydramine"),
    r"tylenol\s*#?\s*3": _b("acetaminophen / codeine"),
    r"motrin|advil": _b("ibuprofen"),
    r"aleve": _b("naproxen"),
}

# Generics the shared lexicon reads by exact spelling only (``wider_medications.py``: not
# the scribe's ASR vocabulary), and the orders engine's own spellings (``spellings.py``).
# setdefault: an entry written above keeps its meaning.
for _generic in WIDER_GENERICS:
    NAMES.setdefault(re.escape(_generic).replace(r"\ ", r"\s+"), _g(_generic))
for _pattern, _generic in SPELLINGS.items():
    NAMES.setdefault(_pattern, _g(_generic))
# More brands (``brands.py``); an entry written above keeps its meaning.
for _pattern, _generic in BRANDS.items():
    NAMES.setdefault(_pattern, _b(_generic, BRAND_UNITS.get(_generic, "mg")))

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
        # A brand may have its strength glued on ("Dolo650", "Pan40"); a generic or an
        # abbreviation may not ("NS1" is a dengue test, not saline).
        after = r"(?![A-Za-z_]|-[A-Za-z])" if name.brand else r"(?!\w|-[A-Za-z])"
        out.append((re.compile(rf"(?<![\w-])(?:{pattern}){after}", flags), name))
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
