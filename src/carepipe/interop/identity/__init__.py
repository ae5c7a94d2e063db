"""The patient index: hospital MRNs (per assigning authority), their ABHA numbers, merges."""

from carepipe.interop.identity.abha import format_abha, is_valid_abha, mask_abha, normalize_abha
from carepipe.interop.identity.models import PatientLink, PatientRegistration
from carepipe.interop.identity.registry import (
    FoundPatient,
    abha_required,
    find_patient,
    merge,
    register,
)
from carepipe.interop.identity.service import (
    LINK_SOURCES,
    link_snapshot,
    list_links,
    lookup,
    upsert,
)

__all__ = [
    "LINK_SOURCES",
    "FoundPatient",
    "PatientLink",
    "PatientRegistration",
    "abha_required",
    "find_patient",
    "format_abha",
    "is_valid_abha",
    "link_snapshot",
    "list_links",
    "lookup",
    "mask_abha",
    "merge",
    "normalize_abha",
    "register",
    "upsert",
]
