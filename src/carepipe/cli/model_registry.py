"""``carepipe models register|list|show|alias|promote|approve``: the model registry.

The CLI acts as an admin operator (see ``cli.common.operator``); every rule is the
service's (:mod:`carepipe.mlops.registry`, :mod:`carepipe.mlops.promotion`). Without
``--expected-revision`` a change is based on the revision read just before it.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from carepipe.cli.common import AsJson, echo_json, load_settings, open_blobs, operator, read, write
from carepipe.core.errors import InvalidRequest

Ref = Annotated[str, typer.Argument(help="name@version or name@alias")]


def _pairs(values: list[str] | None) -> dict[str, Any]:
    """``k=v`` options as a dict (values parsed as JSON when they are, else strings)."""
    out: dict[str, Any] = {}
    for item in values or []:
        key, _, raw = item.partition("=")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def _artifact_bytes(path: Path) -> bytes:
    """A file's bytes; a directory (a CTranslate2 model) packed as a tar."""
    if not path.is_dir():
        return path.read_bytes()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for child in sorted(path.iterdir()):
            if child.is_file():
                tar.add(child, arcname=f"{path.name}/{child.name}")
    return out.getvalue()


def _split(ref: str) -> tuple[str, str]:
    name, at, which = ref.partition("@")
    if not at or not which:
        raise typer.BadParameter(f"expected name@version or name@alias, got {ref!r}")
    return name, which


def add_commands(group: typer.Typer) -> None:
    """Add this module's commands to the ``models`` group."""
    group.command("register")(register)
    group.command("list")(list_models)
    group.command("show")(show)
    group.command("alias")(alias)
    group.command("promote")(promote)
    group.command("approve")(approve)


def register(
    name: Annotated[str | None, typer.Argument(help="The model name.")] = None,
    kind: Annotated[str | None, typer.Option(help="asr|note|ocr|orders: create the model.")] = None,
    format: Annotated[str | None, typer.Option("--format", help="The version's format.")] = None,
    artifact: Annotated[Path | None, typer.Option(help="A file, or a CTranslate2 dir.")] = None,
    packaged: Annotated[str | None, typer.Option(help="tiny.en or base")] = None,
    engine_config: Annotated[str | None, typer.Option(help="JSON of Settings fields.")] = None,
    version: Annotated[int | None, typer.Option(help="Ask for this number.")] = None,
    description: Annotated[str, typer.Option()] = "",
    tag: Annotated[list[str] | None, typer.Option(help="k=v, repeatable.")] = None,
    param: Annotated[list[str] | None, typer.Option(help="k=v, repeatable.")] = None,
    metric: Annotated[list[str] | None, typer.Option(help="k=v, repeatable.")] = None,
    dataset_version: Annotated[str, typer.Option()] = "",
    code_version: Annotated[str, typer.Option()] = "",
    builtin: Annotated[bool, typer.Option("--builtin", help="Register the built-ins.")] = False,
    as_json: AsJson = False,
) -> None:
    """Register a model (``--kind``), a version of it (``--format``), or the built-ins."""
    from carepipe.mlops import registry
    from carepipe.mlops.builtin import ensure_builtin_models

    settings = load_settings()
    blobs = open_blobs(settings)
    if builtin:
        models = write(lambda s: ensure_builtin_models(s, operator(), blobs, settings))
        if as_json:
            echo_json(models)
            return
        for m in models:
            typer.echo(f"{m.name:<20} {m.kind:<5} production v{m.production_version}")
        return
    if not name or not (kind or format):
        raise typer.BadParameter("name a model and --kind (a new model) and/or --format")
    data = _artifact_bytes(artifact) if artifact else None
    config = json.loads(engine_config) if engine_config else {}

    def work(s: Session) -> Any:
        made = None
        if kind:
            made = registry.register_model(
                s, operator(), name=name, kind=kind, description=description, tags=_pairs(tag)
            )
        if not format:
            return made
        if not isinstance(config, dict):
            raise InvalidRequest("--engine-config must be a JSON object")
        return registry.register_version(
            s, blobs, operator(), name, format=format, artifact=data, packaged=packaged,
            engine_config=config, version=version, description=description,
            tags=_pairs(tag), params=_pairs(param), metrics=_pairs(metric),
            dataset_version=dataset_version, code_version=code_version,
            source=f"file:{artifact.name}" if artifact else None,
        )  # fmt: skip

    result = write(work)
    if as_json:
        echo_json(result)
    elif format:
        asked = f" (asked for {result.requested_version})" if result.requested_version else ""
        typer.echo(f"{result.label}{asked}  {result.stage}  sha256 {result.artifact_sha256[:12]}")
    else:
        typer.echo(f"{result.name}  {result.kind}  revision {result.revision}")


def list_models(
    q: Annotated[str | None, typer.Option(help="Name substring.")] = None,
    kind: Annotated[str | None, typer.Option()] = None,
    stage: Annotated[str | None, typer.Option()] = None,
    alias: Annotated[str | None, typer.Option()] = None,
    tag: Annotated[str | None, typer.Option(help="key or key=value")] = None,
    limit: Annotated[int, typer.Option()] = 50,
    offset: Annotated[int, typer.Option()] = 0,
    as_json: AsJson = False,
) -> None:
    """Models by name, kind, a version's stage, an alias or a tag."""
    from carepipe.mlops.registry import search_models

    page = read(
        lambda s: search_models(
            s,
            operator(),
            q=q,
            kind=kind,
            stage=stage,
            alias=alias,
            tag=tag,
            limit=limit,
            offset=offset,
        )
    )
    if as_json:
        echo_json(page)
        return
    for m in page.items:
        aliases = ", ".join(f"{a}=v{v}" for a, v in sorted(m.aliases.items()))
        typer.echo(
            f"{m.name:<24} {m.kind:<6} versions {m.version_count:<3} "
            f"production {m.production_version or '-'}  {aliases}"
        )
    typer.echo(f"{len(page.items)} of {page.total}")


def show(
    ref: Annotated[str, typer.Argument(help="name, name@version or name@alias")],
    as_json: AsJson = False,
) -> None:
    """A model with its versions, or one version with its history and approvals."""
    from carepipe.mlops import registry

    if "@" not in ref:
        model = read(lambda s: registry.get_model(s, operator(), ref))
        if as_json:
            echo_json(model)
            return
        typer.echo(f"{model.name}  {model.kind}  revision {model.revision}")
        for v in model.versions:
            typer.echo(
                f"  v{v.version:<4} {v.stage:<12} {v.format:<24} {v.artifact_sha256[:12]}  "
                f"{','.join(v.aliases)}"
            )
        return
    name, which = _split(ref)
    d = read(lambda s: registry.get_version(s, operator(), name, which))
    if as_json:
        echo_json(d)
        return
    typer.echo(f"{d.label}  {d.stage}  revision {d.revision}  {d.format}  {d.source}")
    for h in d.history:
        typer.echo(
            f"  {h.at:%Y-%m-%d %H:%M} {h.from_stage} -> {h.to_stage} by {h.actor} {h.reason}"
        )
    for a in d.approvals:
        typer.echo(f"  {a.kind} for {a.target_stage} by {a.actor} as {a.role}")


def alias(
    name: Annotated[str, typer.Argument(help="The model.")],
    alias_name: Annotated[str, typer.Argument(metavar="ALIAS")],
    version: Annotated[int | None, typer.Option(help="Point the alias at this version.")] = None,
    delete: Annotated[bool, typer.Option("--delete")] = False,
    expected_revision: Annotated[int | None, typer.Option(help="The model revision.")] = None,
    reason: Annotated[str | None, typer.Option()] = None,
    as_json: AsJson = False,
) -> None:
    """Set, move (``--version N``) or delete (``--delete``) an alias."""
    from carepipe.mlops import registry
    from carepipe.mlops.refs import model_by_name

    if (version is None) == (not delete):
        raise typer.BadParameter("give --version N or --delete")

    def work(s: Session) -> Any:
        rev = expected_revision or model_by_name(s, name).revision
        if delete:
            return registry.delete_alias(
                s, operator(), name, alias_name, expected_revision=rev, reason=reason
            )
        assert version is not None
        return registry.set_alias(
            s, operator(), name, alias_name, version=version, expected_revision=rev, reason=reason
        )

    result = write(work)
    if as_json:
        echo_json(result)
    else:
        target = f"v{result.version}" if result.version else "(deleted)"
        typer.echo(f"{name}@{alias_name} -> {target}  revision {result.model_revision}")


def promote(
    ref: Ref,
    stage: Annotated[str, typer.Argument(help="staging, production, archived, ...")],
    expected_revision: Annotated[int | None, typer.Option(help="The version revision.")] = None,
    reason: Annotated[str, typer.Option()] = "",
    force: Annotated[bool, typer.Option("--force", help="Bypass failed gates (reason).")] = False,
    as_json: AsJson = False,
) -> None:
    """Move a version to a stage through its gates (blocked: every check on stderr)."""
    from carepipe.mlops.promotion import promote as do_promote
    from carepipe.mlops.registry import find_version

    name, which = _split(ref)
    settings = load_settings()

    def work(s: Session) -> Any:
        rev = expected_revision or find_version(s, name, which).revision
        return do_promote(
            s, operator(), name, which, to_stage=stage, expected_revision=rev, reason=reason,
            force=force, webhook_url=settings.model_webhook_url,
        )  # fmt: skip

    result = write(work)
    if as_json:
        echo_json(result)
        return
    forced = " (forced)" if result.forced else ""
    typer.echo(f"{result.version.label}: {result.from_stage} -> {result.to_stage}{forced}")
    for c in result.checks:
        typer.echo(f"  {'ok  ' if c.passed else 'FAIL'} {c.name}: {c.message}")
    for moved in result.moved:
        typer.echo(f"  moved {moved} out of production")


def approve(
    ref: Ref,
    kind: Annotated[str, typer.Option(help="approval or risk_assessment")] = "approval",
    role: Annotated[str | None, typer.Option(help="compliance or ml_engineer")] = None,
    stage: Annotated[str, typer.Option(help="The stage approved for.")] = "production",
    comment: Annotated[str, typer.Option()] = "",
    as_json: AsJson = False,
) -> None:
    """Record an approval or a risk assessment of a version."""
    from carepipe.mlops.promotion import approve as do_approve

    name, which = _split(ref)
    result = write(
        lambda s: do_approve(
            s, operator(), name, which, target_stage=stage, kind=kind, role=role, comment=comment
        )
    )
    if as_json:
        echo_json(result)
    else:
        typer.echo(f"{result.kind} of {ref} for {result.target_stage} as {result.role}")
