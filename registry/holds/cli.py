"""``registry retention ...``: what is due, a proposal named after a member of staff, the record's signature.

Nothing here disposes of anything by itself: a disposal is proposed by one named member of staff and approved by
another on the Retention page (or ``POST /api/v1/disposals/<id>/approve``).
"""

from __future__ import annotations

import json
import sys

import click
import sqlalchemy as sa

from registry.accounts.cli import staff_acting
from registry.accounts.permissions import Permission
from registry.audit.events import Action
from registry.audit.models import AuditEvent
from registry.holds import coverage
from registry.holds import disposal as disposals


def _context():
    from registry.cli import Context  # registry.cli registers this group, so it is imported late

    return click.get_current_context().ensure_object(Context)


@click.group()
def retention() -> None:
    """The retention schedule and disposals."""


@retention.command("run")
@click.option("--dry-run", is_flag=True, help="Only list what is due; change nothing.")
def run(dry_run: bool) -> None:
    """List the documents past their retention period (kind, document id, newest upload, why due) and what
    keeps any of them. Without --dry-run, also finish the store's work left undone: delete the files of
    approved disposals the store still holds, and set the store's legal hold on every held object again.
    It never disposes of anything by itself: propose with `registry retention propose --by USERNAME`."""
    ctx = _context()
    runtime = ctx.runtime
    with ctx.session() as db:
        found = disposals.due_documents(db, runtime.settings.retention_schedule, store=runtime.store)
        leftovers = [] if dry_run else disposals.leftover_objects(db, runtime.store)
        held = [] if dry_run else coverage.held_object_keys(db)
        if dry_run:
            db.rollback()
    for due in found:
        kept = f"  KEPT BECAUSE {due.kept}" if due.kept else ""
        click.echo(
            f"{'KEPT' if due.kept else 'DUE':<5} {due.kind:<20} {due.document_id}  uploaded "
            f"{due.newest_upload:%Y-%m-%d}  {due.why}{kept}"
        )
    may_go = sum(1 for d in found if not d.kept)
    click.echo(
        f"{may_go} documents may be disposed of, {len(found) - may_go} past their period are kept."
        + (" Nothing was changed (dry run)." if dry_run else "")
    )
    if dry_run:
        return
    failed = disposals.delete_objects(runtime.store, leftovers)
    set_ = coverage.apply_store_holds(runtime.store, [(key, True) for key in held])
    click.echo(
        f"{len(leftovers) - len(failed)} files of approved disposals deleted now; {len(failed)} refused by "
        f"the store; the store's legal hold set on {set_} held objects."
    )
    if failed:
        sys.exit(1)


@retention.command("propose")
@click.option("--by", "username", required=True, help="The member of staff who proposes (retention.manage).")
def propose(username: str) -> None:
    """Propose disposing of what is due now, in USERNAME's name; someone else approves it."""
    ctx = _context()
    runtime = ctx.runtime
    with ctx.session() as db:
        actor = staff_acting(db, username, Permission.RETENTION_MANAGE, "does not manage retention")
        proposal = disposals.propose(db, actor, runtime.settings.retention_schedule, runtime.store)
        lines = [f"  {i.kind:<20} {i.document_id}  newest upload {i.newest_upload:%Y-%m-%d}" for i in proposal.items]
        disposal_id = proposal.id
    click.echo(f"Disposal {disposal_id} proposed by {username}: {len(lines)} documents.")
    for line in lines:
        click.echo(line)
    click.echo("Another member of staff who manages retention approves it on the Retention page.")


@retention.command("verify")
@click.argument("disposal_id")
def verify(disposal_id: str) -> None:
    """Check the signed disposal record in the access log against the audit key; exit 1 if it does not verify."""
    ctx = _context()
    with ctx.session() as db:
        event = db.scalar(
            sa.select(AuditEvent)
            .where(
                AuditEvent.action == Action.DISPOSAL_APPROVED,
                AuditEvent.outcome == "allowed",
                AuditEvent.target_id == disposal_id,
            )
            .order_by(AuditEvent.seq)
            .limit(1)
        )
        details = json.loads(event.details) if event is not None else None
    if details is None:
        raise click.ClickException(f"the access log holds no approval of disposal {disposal_id}")
    if not disposals.verify_record(details, ctx.runtime.audit_key.public_key()):
        click.echo(f"TAMPERED: the record of disposal {disposal_id} does not verify with the audit key", err=True)
        sys.exit(1)
    click.echo(
        f"OK: disposal {disposal_id}, approved by {details['approved_by']} (proposed by "
        f"{details['proposed_by']}), {len(details['documents'])} documents; signed by the audit key."
    )
