"""Parameter types the API shares: what the OpenAPI document says is what the server checks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from carepipe.core.iso_time import parse_aware_time

# The largest integer every JSON client holds exactly (ids are BIGINT, far below this in
# practice). Larger values are a 422, never an overflow in the database driver.
MAX_ID = 2**53 - 1


def _aware(value: Any) -> datetime:
    if isinstance(value, str | datetime):
        return parse_aware_time(value)
    raise ValueError("must be an ISO 8601 date-time with a time zone, e.g. 2026-01-01T00:00:00Z")


AwareTime = Annotated[
    datetime,
    BeforeValidator(_aware),
    Field(
        description="ISO 8601 date-time with a time zone (e.g. 2026-01-01T00:00:00Z); "
        "numbers are not read as epoch seconds.",
        examples=["2026-01-01T00:00:00Z"],
    ),
]
RowId = Annotated[int, Field(ge=1, le=MAX_ID, description="A row id (1 .. 2^53-1).")]


# Printable text: no NUL or other control character (PostgreSQL cannot compare a text
# column with a NUL, and none belongs in a name, code or identifier).
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
Text = Annotated[str, Field(max_length=256, pattern=PRINTABLE)]

# Prose (a reason, a justification): printable text, tabs and line breaks allowed.
# Still no NUL: PostgreSQL cannot store one, and the audit log keeps every reason.
PROSE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
