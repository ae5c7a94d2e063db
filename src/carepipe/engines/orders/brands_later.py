"""Brands added from the twenty-first pass on (2026-11-29), kept out of ``brands.py`` to
keep that module under 600 lines; ``brands.BRANDS`` takes them in the same way.

Each maps to the composition on its pack, as in ``brands``. Written from batch 23's misses,
each a brand a clinician would read as the drug wherever it is written.
"""

from __future__ import annotations

#: Written form (a regular expression, matched case-insensitively on word boundaries)
#: -> canonical generic.
TWENTY_FIRST_PASS_BRANDS: dict[str, str] = {
    # the UK twice-daily modified-release morphine; "MST" only with its strength or its
    # full name (the letters are other things elsewhere)
    r"mst(?=\s+(?:continus\s+)?\d)|mst\s+continus": "morphine",
    r"waxsol": "docusate",  # the ear drops that soften wax
}
