"""``registry persons ...``: bulk work on persons from the command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click
from flask_babel import force_locale
from sqlalchemy.orm import Session

from registry.accounts.cli import staff_acting
from registry.accounts.permissions import Permission
from registry.audit.service import SYSTEM, AuditSubject
from registry.i18n import LOCALES
from registry.persons.importer import ImportRefused, Rejection, check_rows, import_persons, read_csv


@click.group()
def persons() -> None:
    """Persons."""


@persons.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Import the rows that pass and only report the others (default: import nothing if any fails).",
)
@click.option(
    "--as",
    "username",
    help="Staff member the import is logged under (needs the person.import permission); default: system.",
)
@click.option("--locale", type=click.Choice(LOCALES), help="Language of the messages (default: the registry's).")
def import_command(file: Path, skip_invalid: bool, username: str | None, locale: str | None) -> None:
    """Register the persons listed in a CSV FILE (format: registry/persons/importer.py).

    Every row is checked first; a report lists each rejected row with its line, column
    and what is wrong. Either all rows are imported, in one transaction, or none.
    """
    from registry.cli import Context  # registry.cli registers this group, so it is imported late

    ctx = click.get_current_context().ensure_object(Context)
    # The locale is forced because the command runs outside a request, where it is normally chosen.
    with ctx.session() as db, force_locale(locale or ctx.app.config["BABEL_DEFAULT_LOCALE"]):
        try:
            table = read_csv(file.read_bytes())
        except ImportRefused as refused:
            _fail(refused)
        with click.progressbar(length=len(table.records), label="Checking rows", file=sys.stderr) as bar:
            checked = check_rows(table, bar.update)
        _report(checked.rejected)
        who = _importer(db, username)
        try:
            with click.progressbar(length=len(checked.persons), label="Importing", file=sys.stderr) as bar:
                ids = import_persons(db, who, checked, skip_invalid=skip_invalid, progress=bar.update)
        except ImportRefused as refused:
            _fail(refused, reported=True)
    skipped = f"; {checked.rejected_lines} rows with problems skipped" if checked.rejected else ""
    click.echo(
        f"Imported {len(ids)} persons from {file.name} ({table.encoding}, "
        f"{'tab' if table.delimiter == chr(9) else repr(table.delimiter)}-separated){skipped}."
    )


def _importer(db: Session, username: str | None) -> AuditSubject:
    """Who the access log names: a staff member who may import (active, current NDA signed), or the system."""
    if username is None:
        return SYSTEM
    return staff_acting(db, username, Permission.PERSON_IMPORT, "may not import persons")


def _report(rejections: list[Rejection]) -> None:
    for rejection in rejections:
        click.echo(str(rejection), err=True)


def _fail(refused: ImportRefused, *, reported: bool = False) -> NoReturn:
    if not reported:
        _report(refused.rejections)
    hint = " Fix the rows, or run again with --skip-invalid to import the others." if reported else ""
    raise click.ClickException(f"{refused.message}{hint}")


@persons.command("find-duplicates")
def find_duplicates_command() -> None:
    """Put every possible same person in the clerks' review queue (after an import, or after upgrading).

    Registering or changing a person does this for that person; an import does not, to stay fast.
    Pairs already decided stay as decided. Nobody is shown anything, so nothing is read into the log.
    """
    import sqlalchemy as sa

    from registry.cli import Context
    from registry.matching import engine
    from registry.persons.models import Person

    ctx = click.get_current_context().ensure_object(Context)
    with ctx.session() as db:
        ids = list(db.scalars(sa.select(Person.id).where(Person.merged_into_id.is_(None)).order_by(Person.id)))
        found = 0
        with click.progressbar(ids, label="Comparing", file=sys.stderr) as bar:
            for person_id in bar:
                found += engine.queue_candidates(db, person_id)
    click.echo(
        f"Compared {len(ids)} persons; {found} possible same persons offered for review (each pair from both sides)."
    )
