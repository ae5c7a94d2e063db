"""The patient index: hospital MRN (per assigning authority) -> ABHA number."""

from carepipe.interop.identity.abha import format_abha, is_valid_abha, mask_abha, normalize_abha
from carepipe.interop.identity.models import PatientLink
from carepipe.interop.identity.service import (
    LINK_SOURCES,
    link_snapshot,
    list_links,
    lookup,
    upsert,
)

__all__ = [
    "LINK_SOURCES",
    "PatientLink",
    "format_abha",
    "is_valid_abha",
    "link_snapshot",
    "list_links",
    "lookup",
    "mask_abha",
    "normalize_abha",
    "upsert",
]
