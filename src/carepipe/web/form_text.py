"""Text the console accepts in a form: anything a person can type, but no NUL.

PostgreSQL cannot store U+0000 and SQLite can; refusing it at the form gives one
answer on both databases (422 ``validation_failed``) before any service runs.
The API states the same rule in its OpenAPI patterns.
"""

from __future__ import annotations

from fastapi import Request

from carepipe.core.errors import ValidationFailed

_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


async def refuse_nul_in_form(request: Request) -> None:
    """``ValidationFailed`` if any text field of the request's form holds U+0000."""
    if not request.headers.get("content-type", "").startswith(_FORMS):
        return
    form = await request.form()  # parsed once; Starlette caches it for the endpoint
    for name, value in form.multi_items():
        if isinstance(value, str) and "\x00" in value:
            raise ValidationFailed(f"field {name!r} may not contain U+0000 (NUL)")
