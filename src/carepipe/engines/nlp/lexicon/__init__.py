"""Lexicons as Python data (so they ship inside the package without package-data rules).

``lexicon_digest()`` is a stable hash of all of them: it goes into engines' model versions,
so a lexicon change is a new model version.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache


@lru_cache(maxsize=1)
def lexicon_digest() -> str:
    """sha256 (hex) over a canonical JSON dump of every lexicon."""
    from carepipe.engines.nlp.lexicon import conditions, medications, symptoms, wider_medications

    payload = {
        "medications": medications.GENERICS,
        "brands": medications.BRANDS,
        "wider_medications": wider_medications.WIDER_GENERICS,
        "conditions": conditions.CONDITIONS,
        "allergens": conditions.ALLERGENS,
        "symptoms": symptoms.SYMPTOMS,
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=list)
    return hashlib.sha256(blob.encode()).hexdigest()
