"""What every command group shares: the operator, settings, stores, JSON output, errors.

Group modules import from here, never from each other or from the package
``__init__`` (which imports them all), so the CLI has no import circle.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel
from pydantic_core import to_json
from sqlalchemy.orm import Session

from carepipe.core.auth import Principal
from carepipe.core.blobs import BlobStore
from carepipe.core.config import Settings, get_settings
from carepipe.core.db import Database
from carepipe.core.errors import CarePipeError

AsJson = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
T = TypeVar("T")
"""The ``--json`` flag of commands that print a service's view as text by default."""

# What a service hands the CLI to print: a typed view, a list of views, or (services
# not yet converted to views) a plain JSON-able dict or list.
Printable = BaseModel | list[BaseModel] | Mapping[str, Any] | list[Any]


def operator() -> Principal:
    """Whoever runs the CLI on a host with database access acts as an admin operator."""
    return Principal(kind="cli", id=getpass.getuser(), roles=("admin",))


def load_settings() -> Settings:
    """The process settings, with logging configured from them."""
    from carepipe.observability.logging import configure_logging

    s = get_settings()
    configure_logging(s.log_level, s.log_json)
    return s


def open_db(s: Settings) -> Database:
    """The database the settings name."""
    return Database(s.resolved_database_url)


def open_blobs(s: Settings) -> BlobStore:
    """The blob store the settings name."""
    from carepipe.core.blobs import blob_store_from_settings

    return blob_store_from_settings(s)


def open_stores(s: Settings) -> tuple[Database, BlobStore]:
    """The database and the blob store, for commands that need both."""
    return open_db(s), open_blobs(s)


def echo_json(result: Printable) -> None:
    """Print a service's result as indented JSON on stdout.

    Typed views (and lists of them) print as the API returns them; a plain dict or
    list prints with ``json.dumps`` (values it cannot encode, such as datetimes,
    as their ``str``), as the CLI always printed them.
    """
    if isinstance(result, BaseModel) or (
        isinstance(result, list) and any(isinstance(item, BaseModel) for item in result)
    ):
        typer.echo(to_json(result, indent=2).decode())
    else:
        typer.echo(json.dumps(result, indent=2, default=str))


def field(view: BaseModel | Mapping[str, Any], name: str) -> Any:
    """One field of a service's result, whether a typed view or a plain dict."""
    return view[name] if isinstance(view, Mapping) else getattr(view, name)


def fail(exc: CarePipeError, code: int = 2) -> typer.Exit:
    """Print ``{"error": ...}`` on stderr; returns the exit to raise (``raise fail(exc)``)."""
    typer.echo(json.dumps({"error": exc.to_dict()}), err=True)
    return typer.Exit(code)


def result_or_fail(produce: Callable[[], T]) -> T:
    """``produce()``'s result; a ``CarePipeError`` is printed on stderr (exit 2)."""
    try:
        return produce()
    except CarePipeError as exc:
        raise fail(exc) from None


def print_or_fail(produce: Callable[[], Printable]) -> None:
    """Print a service's result as JSON, or its error on stderr (exit 2)."""
    echo_json(result_or_fail(produce))


def read(work: Callable[[Session], T]) -> T:
    """``work`` in a read session of the configured database (errors: exit 2)."""
    db = open_db(load_settings())

    def run() -> T:
        with db.session() as session:
            return work(session)

    return result_or_fail(run)


def write(work: Callable[[Session], T]) -> T:
    """``work`` in one write transaction of the configured database (errors: exit 2)."""
    db = open_db(load_settings())

    def run() -> T:
        with db.transaction() as session:
            return work(session)

    return result_or_fail(run)
