"""Clinical NLP primitives shared by the note and orders engines.

Pure functions over text; every result carries a character span into the text it was
given and a confidence in 0..1.

- ``numbers``: spoken numbers -> digits, with a map back to the original text
- ``medications``: drug, dose, route, frequency (FHIR-like timing), PRN, duration
- ``vitals``: blood pressure, pulse, temperature, SpO2, weight, respiratory rate, glucose
- ``symptoms``, ``diagnoses``, ``allergies``, ``followup``: coded findings
- ``negation``: NegEx-style assertion (negated, hypothetical, possible, family, historical)
- ``lexicon``: the data (RxNorm, ICD-10, SNOMED CT codes where known) and its digest
"""
