"""Sample messages under tests/data/hl7 and a message builder for HL7 tests."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "data" / "hl7"

VALID = sorted((DATA / "valid").glob("*.hl7"))
MALFORMED = sorted((DATA / "malformed").glob("*.hl7"))
UNSUPPORTED = sorted((DATA / "unsupported").glob("*.hl7"))
BATCHES = sorted((DATA / "batch").glob("*.hl7"))
THIRD_PARTY = DATA / "third_party"

# Values planted in the malformed/unsupported samples: none may appear in an error message.
PHI_TOKENS = ("MRN-PHI-4242", "Secretname", "Hidden", "SECRETHOSP", "SECRETAPP", "CTL-PHI")


def sample(name: str) -> bytes:
    for folder in ("valid", "malformed", "unsupported", "batch"):
        path = DATA / folder / name
        if path.exists():
            return path.read_bytes()
    raise FileNotFoundError(name)


def adt(control_id: str = "CTL1", *, version: str = "2.5.1", event: str = "A01") -> str:
    """A minimal valid ADT message (segments separated by \\r)."""
    return (
        f"MSH|^~\\&|HIS|HOSP|CAREPIPE|CP|20240101120000||ADT^{event}^ADT_A01|{control_id}|P|{version}\r"
        "PID|1||MRN1^^^HOSP^MR||Doe^Jane||19800101|F\r"
        "PV1|1|I|W1^1^A\r"
    )
