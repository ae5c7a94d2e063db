"""``carepipe secrets ...``: the encrypted store of outbound credentials (docs/secrets.md).

Values are read from standard input or a hidden prompt, never from arguments (shell
history, ``ps``), and are never printed: ``list`` shows them masked.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from carepipe.cli.common import (
    AsJson,
    echo_json,
    load_settings,
    operator,
    read,
    result_or_fail,
    write,
)

if TYPE_CHECKING:
    from carepipe.core.secrets import Kek, Keyring

group = typer.Typer(help="Encrypted secrets for outbound credentials.", no_args_is_help=True)

Reason = Annotated[str | None, typer.Option(help="Ticket or justification (audited).")]


def _kek() -> Kek:
    """The configured (current) KEK; a bad variable or file is an error on stderr (exit 2)."""
    from carepipe.core.secrets import kek_from_settings

    return result_or_fail(lambda: kek_from_settings(load_settings()))


def _keyring() -> Keyring:
    """The configured KEK and, during a rotation, the old one (errors: exit 2)."""
    from carepipe.core.secrets import keyring_from_settings

    return result_or_fail(lambda: keyring_from_settings(load_settings()))


@group.command("put")
def secrets_put(
    name: Annotated[str, typer.Argument(help="e.g. emr.token, llm.openai")],
    reason: Reason = None,
    as_json: AsJson = False,
) -> None:
    """Store a new version of NAME; the value comes from stdin or a hidden prompt."""
    from carepipe.ops.secrets import put_secret

    if sys.stdin.isatty():
        value = typer.prompt("Value", hide_input=True, confirmation_prompt=True)
    else:
        value = sys.stdin.read().rstrip("\r\n")
    kek = _kek()
    view = write(lambda s: put_secret(s, operator(), kek, name, value, reason=reason))
    if as_json:
        echo_json(view)
    else:
        typer.echo(f"{view.name} v{view.version} stored ({view.masked}, KEK {view.kek_id})")


@group.command("list")
def secrets_list(as_json: AsJson = False) -> None:
    """Every secret's version in use: masked, with its KEK id and who set it when."""
    from carepipe.ops.secrets import list_secrets

    views = read(lambda s: list_secrets(s, operator()))
    if as_json:
        echo_json(views)
        return
    for v in views:
        typer.echo(
            f"{v.name}\tv{v.version} ({v.versions} kept)\t{v.masked}\tKEK {v.kek_id}\t"
            f"{v.updated_at.isoformat()}\t{v.updated_by}"
        )


@group.command("rollback")
def secrets_rollback(
    name: str,
    to_version: Annotated[int, typer.Option("--to-version", help="The version to restore.")],
    reason: Reason = None,
    as_json: AsJson = False,
) -> None:
    """Make an earlier version's value current again (stored as a new version)."""
    from carepipe.ops.secrets import rollback_secret

    keys = _keyring()
    view = write(lambda s: rollback_secret(s, operator(), keys, name, to_version, reason=reason))
    if as_json:
        echo_json(view)
    else:
        typer.echo(f"{view.name} v{view.version} is v{to_version}'s value ({view.masked})")


@group.command("delete")
def secrets_delete(name: str, reason: Reason = None) -> None:
    """Delete NAME with every kept version (consumers naming it fail until it is set again)."""
    from carepipe.ops.secrets import delete_secret

    count = write(lambda s: delete_secret(s, operator(), name, reason=reason))
    typer.echo(f"{name}: {count} version(s) deleted")


@group.command("new-kek")
def secrets_new_kek(
    path: Annotated[Path, typer.Argument(help="File to create (0600); must not exist.")],
) -> None:
    """Create a file holding a new random KEK, for ``rewrap --new-kek-file``."""
    from carepipe.core.secrets import write_kek_file

    if path.exists():
        raise typer.BadParameter(f"{path} exists; a KEK file is never overwritten")
    kek = write_kek_file(path)
    typer.echo(f"new KEK {kek.id} written to {path}")


@group.command("rewrap")
def secrets_rewrap(
    new_kek_file: Annotated[
        Path, typer.Option("--new-kek-file", help="The new KEK (base64, 32 bytes).")
    ],
    reason: Reason = None,
    as_json: AsJson = False,
) -> None:
    """Re-wrap every data key under the new KEK in one transaction (values untouched).

    Each version is unwrapped with the configured KEK (CAREPIPE_SECRETS_KEK or its
    file) or CAREPIPE_SECRETS_OLD_KEK_FILE. Afterwards only the new KEK is needed;
    configure it everywhere, then the old one can be destroyed (docs/secrets.md).
    """
    from carepipe.core.secrets import kek_from_file
    from carepipe.ops.secrets import rewrap

    new = result_or_fail(lambda: kek_from_file(new_kek_file))
    old = _keyring()
    view = write(lambda s: rewrap(s, operator(), old, new, reason=reason))
    if as_json:
        echo_json(view)
    else:
        typer.echo(
            f"rewrapped {view.rewrapped} version(s) from KEK {view.old_kek_id} to "
            f"{view.new_kek_id} ({view.already} already under it)"
        )
