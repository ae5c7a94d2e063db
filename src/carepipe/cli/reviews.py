"""``carepipe reviews ...``: clinician review of scribe notes (list, show, approve, return,
assign a clinician's tenant, export the corrections dataset)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from carepipe.cli.common import (
    AsJson,
    echo_json,
    load_settings,
    open_blobs,
    operator,
    read,
    write,
)

group = typer.Typer(help="Clinician review of scribe notes.", no_args_is_help=True)


def _blobs():  # type: ignore[no-untyped-def]
    return open_blobs(load_settings())


@group.command("list")
def reviews_list(
    status: Annotated[
        str, typer.Option(help="waiting, returned, approved, open (waiting or returned), all.")
    ] = "waiting",
    tenant: Annotated[str | None, typer.Option()] = None,
    overdue: Annotated[bool | None, typer.Option("--overdue/--not-overdue")] = None,
    limit: Annotated[int, typer.Option()] = 50,
    after: Annotated[str | None, typer.Option(help="The previous page's next_cursor.")] = None,
    as_json: AsJson = False,
) -> None:
    """Notes waiting for review, most urgent first."""
    from carepipe.review.service import list_reviews

    blobs = _blobs()
    page = read(
        lambda s: list_reviews(
            s,
            operator(),
            status=status,
            after=after,
            limit=limit,
            overdue=overdue,
            tenant=tenant,
            blobs=blobs,
        )
    )
    if as_json:
        echo_json(page)
        return
    for r in page.items:
        late = " OVERDUE" if r.overdue else ""
        typer.echo(
            f"{r.id}  {r.tenant:<12} {r.status:<8} p{r.priority} v{r.version} "
            f"flagged {r.flagged_open}/{r.flagged_total}  due {r.due_at.isoformat()}{late}  "
            f"job {r.job_id}"
        )
    if page.next_cursor:
        typer.echo(f"next page: --after {page.next_cursor}")


@group.command("show")
def reviews_show(review_id: str, as_json: AsJson = False) -> None:
    """One review: status, version, note items with their decisions, history."""
    from carepipe.review.service import get_review

    blobs = _blobs()
    d = read(lambda s: get_review(s, blobs, operator(), review_id))
    if as_json:
        echo_json(d)
        return
    typer.echo(f"review {d.id}  job {d.job_id}  tenant {d.tenant}  {d.status}  version {d.version}")
    typer.echo(f"flagged open {d.flagged_open}/{d.flagged_total}  due {d.due_at.isoformat()}")
    if d.returned_reason:
        typer.echo(f"returned by {d.returned_by}: {d.returned_reason}")
    for it in d.items:
        if it.kind == "sentence":
            continue
        flag = "!" if it.flagged else " "
        conf = "-" if it.confidence is None else f"{it.confidence:.2f}"
        typer.echo(f" {flag} {it.id:<16} {it.decision:<8} {conf:>5}  {it.display}")
    for v in d.versions:
        typer.echo(f"   v{v.version} {v.action:<9} {v.actor} {v.at.isoformat()}")


def _current_version(session: Session, review_id: str) -> int:
    from carepipe.review.access import visible_review

    return visible_review(session, operator(), review_id).version


@group.command("approve")
def reviews_approve(
    review_id: str,
    version: Annotated[
        int | None, typer.Option(help="The version you reviewed (default: the current one).")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Approve a note (refused while flagged items are undecided); the job resumes."""
    from carepipe.review.service import approve

    blobs = _blobs()

    def work(s: Session):  # type: ignore[no-untyped-def]
        base = version if version is not None else _current_version(s, review_id)
        return approve(s, blobs, operator(), review_id, base_version=base)

    d = write(work)
    if as_json:
        echo_json(d)
        return
    typer.echo(f"review {d.id} approved (version {d.version}); job {d.job_id} resumed")


@group.command("return")
def reviews_return(
    review_id: str,
    reason: Annotated[str, typer.Option(help="Why the note goes back (recorded).")],
    version: Annotated[int | None, typer.Option(help="The version you reviewed.")] = None,
    as_json: AsJson = False,
) -> None:
    """Return a note with a reason; the job keeps waiting."""
    from carepipe.review.service import return_review

    blobs = _blobs()

    def work(s: Session):  # type: ignore[no-untyped-def]
        base = version if version is not None else _current_version(s, review_id)
        return return_review(s, blobs, operator(), review_id, reason=reason, base_version=base)

    d = write(work)
    if as_json:
        echo_json(d)
        return
    typer.echo(f"review {d.id} returned (version {d.version}); job {d.job_id} keeps waiting")


@group.command("assign")
def reviews_assign(username: str, tenant: str, as_json: AsJson = False) -> None:
    """Let a console user (a clinician) review one tenant's notes."""
    from carepipe.review.service import assign_clinician

    v = write(lambda s: assign_clinician(s, operator(), username=username, tenant=tenant))
    if as_json:
        echo_json(v)
        return
    typer.echo(f"{v.username} reviews tenant {v.tenant}")


@group.command("export")
def reviews_export(
    out: Annotated[Path, typer.Option("--out", help="Directory for the dataset.")],
    tenant: Annotated[str | None, typer.Option()] = None,
    as_json: AsJson = False,
) -> None:
    """Write the corrections as a versioned dataset (JSONL manifest, audio, transcripts)."""
    from carepipe.review.export import export_corrections

    blobs = _blobs()
    summary = write(lambda s: export_corrections(s, blobs, operator(), out, tenant=tenant))
    if as_json:
        echo_json(summary)
        return
    typer.echo(
        f"{summary.records} correction(s) written to {summary.out_dir} "
        f"(dataset {summary.dataset_version}, manifest {summary.manifest})"
    )
