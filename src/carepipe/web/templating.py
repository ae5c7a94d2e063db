"""Jinja2 templates of the console and ``render``, which every page uses.

``render(request, name, context)`` adds what ``base.html`` needs: the signed-in
user (``user``: an ``ActiveSession`` or None), their ``principal`` (for
``principal.can("...")`` in templates), the ``csrf_token`` for forms and HTMX,
and the ``nav`` (only the areas the user's roles may open).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.responses import Response

from carepipe.web import timefmt
from carepipe.web.auth import current_session
from carepipe.web.csrf import attach_anonymous_cookie, csrf_token

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    permission: str | None  # None: every signed-in user


NAV: tuple[NavItem, ...] = (
    NavItem("Dashboard", "/console/", None),
    NavItem("Dead letters", "/console/dlq", "dlq.read"),
    NavItem("Backfills", "/console/backfills", "backfill.run"),
    NavItem("Audit", "/console/audit", "audit.read"),
    NavItem("Patients", "/console/patients", "patients.read"),
    NavItem("Users", "/console/users", "users.manage"),
    NavItem("API keys", "/console/keys", "keys.manage"),
    NavItem("Secrets", "/console/secrets", "secrets.manage"),
    NavItem("Backups", "/console/backups", "backup.manage"),
    NavItem("Drills", "/console/drills", "dr.read"),
    NavItem("Flags", "/console/flags", "flags.read"),
)

# Scripts and styles only from our own origin (HTMX is vendored); no framing.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
        "style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

templates = Jinja2Templates(directory=str(TEMPLATE_DIR))


def _time_element(value: datetime | str | None) -> Markup:
    """A time for people, with its zone, that never wraps: ``<time>2026-03-01 12:00:05 UTC``."""
    if value is None or value == "":
        return Markup("—")
    return Markup('<time class="nowrap" datetime="{}">{}</time>').format(
        timefmt.iso(value), timefmt.fmt_time(value)
    )


def _pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)


def _hexdump(data: bytes, limit: int = 4096) -> str:
    """Offset, 16 bytes in hex, and their printable ASCII: revealed non-text payloads."""
    lines = []
    for off in range(0, min(len(data), limit), 16):
        chunk = data[off : off + 16]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{off:08x}  {hexes:<47}  {text}")
    if len(data) > limit:
        lines.append(f"… {len(data) - limit} more bytes")
    return "\n".join(lines)


templates.env.filters["time"] = _time_element
templates.env.filters["pretty_json"] = _pretty_json
templates.env.filters["hexdump"] = _hexdump
templates.env.globals["UTC_INPUT_HINT"] = timefmt.INPUT_HINT
templates.env.globals["UTC_INPUT_PATTERN"] = timefmt.INPUT_PATTERN


def nav_for(request: Request) -> list[dict[str, Any]]:
    active = current_session(request)
    if active is None:
        return []
    principal = active.principal
    path = request.url.path
    items = []
    for item in NAV:
        if item.permission is not None and not principal.can(item.permission):
            continue
        current = path == item.href if item.href == "/console/" else path.startswith(item.href)
        items.append({"label": item.label, "href": item.href, "current": current})
    return items


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """Render ``templates/<name>`` with the console's common context."""
    active = current_session(request)
    ctx: dict[str, Any] = {
        "user": active,
        "principal": active.principal if active is not None else None,
        "csrf_token": csrf_token(request),
        "nav": nav_for(request),
    }
    ctx.update(context or {})
    response = templates.TemplateResponse(request, name, ctx, status_code=status, headers=headers)
    for key, value in SECURITY_HEADERS.items():
        response.headers.setdefault(key, value)
    attach_anonymous_cookie(request, response)
    return response
