"""RxNorm ingredient codes the orders engine puts on a MedicationRequest.

Only codes checked against public references are emitted; a medication whose code is
not here goes out as text (a wrong code is worse than none). How each code was checked:

- ``CPIC``: the drug table of the Clinical Pharmacogenetics Implementation Consortium
  (github.com/cpicpgx/cpic-schema, ``drug.sql``: "RxNorm:<RxCUI><tab><ingredient>"),
  curated by CPIC from RxNorm;
- ``PUB``: the same ingredient -> RxCUI pair in at least two independent public code
  bases (drug lists, interaction tables, OMOP "Ingredient" concept exports), with no
  conflicting pair among those found.

Every code is also the one the shared NLP lexicon
(``carepipe.engines.nlp.lexicon.medications``) holds, which the tests check; a code that
lexicon holds but that could not be confirmed this way is not emitted. The codes are
RxNorm ingredient (TTY IN) concepts: the ordered product's strength and form stay in the
dosage, not in the code. Combination products get no code here.
"""

from __future__ import annotations

RXNORM_SYSTEM = "http://www.nlm.nih.gov/research/umls/rxnorm"

# generic -> (RxCUI, how it was confirmed)
VERIFIED: dict[str, tuple[str, str]] = {
    # confirmed in CPIC's drug table
    "allopurinol": ("519", "CPIC"),
    "amitriptyline": ("704", "CPIC"),
    "aripiprazole": ("89013", "CPIC"),
    "aspirin": ("1191", "CPIC"),
    "atorvastatin": ("83367", "CPIC"),
    "azathioprine": ("1256", "CPIC"),
    "budesonide": ("19831", "CPIC"),
    "bupropion": ("42347", "CPIC"),
    "captopril": ("1998", "CPIC"),
    "carbamazepine": ("2002", "CPIC"),
    "carbimazole": ("2020", "CPIC"),
    "carvedilol": ("20352", "CPIC"),
    "celecoxib": ("140587", "CPIC"),
    "chloroquine": ("2393", "CPIC"),
    "ciprofloxacin": ("2551", "CPIC"),
    "citalopram": ("2556", "CPIC"),
    "clobazam": ("21241", "CPIC"),
    "clopidogrel": ("32968", "CPIC"),
    "codeine": ("2670", "CPIC"),
    "cyclosporine": ("3008", "CPIC"),
    "diazepam": ("3322", "CPIC"),
    "diclofenac": ("3355", "CPIC"),
    "digoxin": ("3407", "CPIC"),
    "donepezil": ("135447", "CPIC"),
    "duloxetine": ("72625", "CPIC"),
    "erythromycin": ("4053", "CPIC"),
    "escitalopram": ("321988", "CPIC"),
    "esomeprazole": ("283742", "CPIC"),
    "fentanyl": ("4337", "CPIC"),
    "fluoxetine": ("4493", "CPIC"),
    "furosemide": ("4603", "CPIC"),
    "glibenclamide": ("4815", "CPIC"),
    "glimepiride": ("25789", "CPIC"),
    "glipizide": ("4821", "CPIC"),
    "haloperidol": ("5093", "CPIC"),
    "hydralazine": ("5470", "CPIC"),
    "hydrochlorothiazide": ("5487", "CPIC"),
    "hydroxychloroquine": ("5521", "CPIC"),
    "isoniazid": ("6038", "CPIC"),
    "isosorbide dinitrate": ("6058", "CPIC"),
    "lamotrigine": ("28439", "CPIC"),
    "lansoprazole": ("17128", "CPIC"),
    "levofloxacin": ("82122", "CPIC"),
    "lidocaine": ("6387", "CPIC"),
    "metformin": ("6809", "CPIC"),
    "methimazole": ("6835", "CPIC"),
    "methotrexate": ("6851", "CPIC"),
    "metoclopramide": ("6915", "CPIC"),
    "metoprolol": ("6918", "CPIC"),
    "mirtazapine": ("15996", "CPIC"),
    "morphine": ("7052", "CPIC"),
    "moxifloxacin": ("139462", "CPIC"),
    "nitrofurantoin": ("7454", "CPIC"),
    "norfloxacin": ("7517", "CPIC"),
    "nortriptyline": ("7531", "CPIC"),
    "olanzapine": ("61381", "CPIC"),
    "omeprazole": ("7646", "CPIC"),
    "ondansetron": ("26225", "CPIC"),
    "oxcarbazepine": ("32624", "CPIC"),
    "oxycodone": ("7804", "CPIC"),
    "pantoprazole": ("40790", "CPIC"),
    "paroxetine": ("32937", "CPIC"),
    "phenytoin": ("8183", "CPIC"),
    "pravastatin": ("42463", "CPIC"),
    "propranolol": ("8787", "CPIC"),
    "propylthiouracil": ("8794", "CPIC"),
    "rabeprazole": ("114979", "CPIC"),
    "risperidone": ("35636", "CPIC"),
    "rosuvastatin": ("301542", "CPIC"),
    "albuterol": ("435", "CPIC"),  # CPIC names it salbutamol
    "salmeterol": ("36117", "CPIC"),
    "sertraline": ("36437", "CPIC"),
    "sildenafil": ("136411", "CPIC"),
    "simvastatin": ("36567", "CPIC"),
    "spironolactone": ("9997", "CPIC"),
    "sulfasalazine": ("9524", "CPIC"),
    "tacrolimus": ("42316", "CPIC"),
    "tamoxifen": ("10324", "CPIC"),
    "tamsulosin": ("77492", "CPIC"),
    "terbinafine": ("37801", "CPIC"),
    "timolol": ("10600", "CPIC"),
    "tiotropium": ("69120", "CPIC"),
    "tramadol": ("10689", "CPIC"),
    "venlafaxine": ("39786", "CPIC"),
    "warfarin": ("11289", "CPIC"),
    # confirmed in two or more independent public code bases
    "acetaminophen": ("161", "PUB"),
    "amlodipine": ("17767", "PUB"),
    "amoxicillin": ("723", "PUB"),
    "azithromycin": ("18631", "PUB"),
    "gabapentin": ("25480", "PUB"),
    "ibuprofen": ("5640", "PUB"),
    "insulin glargine": ("274783", "PUB"),
    "levothyroxine": ("10582", "PUB"),
    "lisinopril": ("29046", "PUB"),
    "losartan": ("52175", "PUB"),
    "montelukast": ("88249", "PUB"),
    "prednisone": ("8640", "PUB"),
    "sitagliptin": ("593411", "PUB"),
}


def rxnorm_for(generic: str) -> str | None:
    """The RxNorm ingredient RxCUI of a canonical generic, if it was confirmed."""
    entry = VERIFIED.get(generic.strip().lower())
    return entry[0] if entry else None
