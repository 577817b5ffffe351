"""``registry backup DEST``, ``registry backup verify|list``, ``registry restore SRC`` (registered by registry.cli)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from registry.backup import service
from registry.kinship.verify import parse_fingerprint
from registry.settings import SettingsError, load_settings
from storage import StorageError

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

MiB = 1024 * 1024


class _Bar:
    """Progress on the terminal (stderr), one bar per stage."""

    def __init__(self) -> None:
        self._bar: ProgressBar[int] | None = None

    def begin(self, label: str, total: int) -> None:
        self._bar = click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True)
        self._bar.__enter__()

    def advance(self, count: int) -> None:
        if self._bar is not None:
            self._bar.update(count)

    def end(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


def _context():
    from registry.cli import Context  # registry.cli registers these commands, so it is imported late

    return click.get_current_context().ensure_object(Context)


def _fingerprint_option(_ctx, _param, value: str | None) -> str | None:
    try:
        return parse_fingerprint(value) if value else None
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _destination(text: str):
    try:
        return service.open_destination(text)
    except service.BackupError as exc:
        raise click.ClickException(str(exc)) from None


class _BackupGroup(click.Group):
    """``registry backup DEST`` makes a backup; ``registry backup verify|list ...`` are the other commands."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["create", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_BackupGroup)
def backup() -> None:
    """Backups to a second place: registry backup DEST | verify SRC | list SRC."""


@backup.command("create")
@click.argument("destination", metavar="DEST")
def create(destination: str) -> None:
    """Back the registry up to DEST: a folder (path or file:///path) or a bucket (s3://bucket?..., as
    REGISTRY_STORAGE_URL). Objects already there are not copied again; the keys are never written."""
    ctx = _context()
    store = _destination(destination)
    try:
        summary = service.backup(ctx.runtime, store, progress=_Bar())
    except (service.BackupError, service.database.DatabaseToolError, StorageError) as exc:
        raise click.ClickException(str(exc)) from None
    reused = summary.objects - summary.copied
    click.echo(
        f"Backup {summary.name} in {destination}: {summary.objects} objects, {summary.stored_bytes / MiB:.1f} "
        f"MiB ({summary.copied} copied, {summary.copied_bytes / MiB:.1f} MiB; {reused} already there); "
        f"database dump {summary.database_bytes / MiB:.1f} MiB, encrypted; {summary.seconds:.1f} s."
    )
    click.echo(f"Manifest SHA-256 {summary.manifest_sha256}, signed by the audit key {summary.fingerprint}.")
    click.echo(
        f"Check it: registry backup verify {destination} --name {summary.name} --fingerprint {summary.fingerprint}"
    )
    for key in summary.changed:
        click.echo(
            f"CHANGED {key}: its stored bytes differ from an earlier backup's copy (the store was altered "
            "or damaged: run `registry storage scrub`); both copies are kept",
            err=True,
        )
    for key in summary.missing:
        click.echo(f"MISSING {key}: named by the database but not in the store; not in this backup", err=True)
    if summary.missing:
        sys.exit(1)


@backup.command("list")
@click.argument("source", metavar="SRC")
def list_backups(source: str) -> None:
    """The backups in SRC, oldest first."""
    store = _destination(source)
    try:
        names = service.backup_names(store)
    except StorageError as exc:
        raise click.ClickException(str(exc)) from None
    for name in names:
        click.echo(name)
    if not names:
        click.echo("No backup there.")


def _own_fingerprint() -> str | None:
    """This registry's audit key, when it runs where the registry's settings and key are."""
    from registry.audit.checkpoints import load_signing_key, published_key

    try:
        settings = load_settings()
    except SettingsError:
        return None
    if not Path(settings.audit_signing_key_file).is_file():
        return None
    return published_key(load_signing_key(settings.audit_signing_key_file, create=False).public_key()).fingerprint


@backup.command("verify")
@click.argument("source", metavar="SRC")
@click.option("--name", help="Which backup (default: the latest); see `registry backup list SRC`.")
@click.option(
    "--fingerprint",
    "pinned",
    callback=_fingerprint_option,
    metavar="HEX",
    help="SHA-256 fingerprint of the registry's audit key (`registry audit key`); default: this registry's own key.",
)
def verify(source: str, name: str | None, pinned: str | None) -> None:
    """Re-read a backup: every object's and the dump's stored SHA-256, and the manifest's signature.

    Exit 0 only when everything matches and the signer is the pinned key.
    """
    store = _destination(source)
    pinned = pinned or _own_fingerprint()
    try:
        report = service.verify(store, name, pinned_fingerprint=pinned, progress=_Bar())
    except (service.BackupError, StorageError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"Backup {report.name}: {report.objects_checked} stored files checked (objects and the database "
        f"dump); signing key fingerprint {report.fingerprint or 'unknown'}"
    )
    for problem in report.problems:
        click.echo(f"ALTERED: {problem}", err=True)
    if report.ok:
        click.echo("OK: every file matches the signed manifest, signed by the pinned registry key.")
        return
    if not report.problems and not report.pinned:
        click.echo(
            "NOT VERIFIED: the signer is not authenticated: give --fingerprint HEX (from `registry audit key`)",
            err=True,
        )
    sys.exit(1)


@click.command()
@click.argument("source", metavar="SRC")
@click.option("--name", help="Which backup (default: the latest); see `registry backup list SRC`.")
def restore(source: str, name: str | None) -> None:
    """Restore a backup into this empty deployment, then check it (audit verify, storage scrub).

    Import the keys of the registry the backup came from first (`registry keys import`), and do not run
    `registry init` before: a deployment whose database holds any person, document or event is refused.
    """
    try:
        settings = load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    if (
        not (settings.master_key or Path(settings.master_key_file).is_file())
        or not Path(settings.audit_signing_key_file).is_file()
    ):
        raise click.ClickException(
            "this deployment has no keys yet: import those of the registry the backup came "
            "from first (registry keys import FILE...)"
        )
    ctx = _context()
    runtime = ctx.runtime
    store = _destination(source)
    try:
        summary = service.restore(runtime, store, name, progress=_Bar())
    except (service.BackupError, StorageError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"Restored backup {summary.name} (made {summary.created_at} by registry {summary.registry_version}): "
        f"{summary.objects} objects, {summary.bytes / MiB:.1f} MiB, and the database; "
        f"{summary.locked} objects locked again."
    )
    audit = service.audit_check(runtime, summary.created_at)
    click.echo(
        f"audit verify: {audit.events} events, {audit.checkpoints} signed checkpoints, last event {audit.last_seq}"
    )
    if audit.ok:
        click.echo("OK: the access log is intact.")
    for problem in audit.problems:
        click.echo(f"TAMPERED: {problem}", err=True)
    scrub = service.scrub_check(runtime)
    click.echo(
        f"storage scrub: {scrub.checked} objects checked: {len(scrub.missing)} missing, "
        f"{len(scrub.corrupt)} corrupt, {len(scrub.orphans)} orphans"
    )
    for line in scrub.lines():
        click.echo(line, err=True)
    if not (audit.ok and scrub.ok):
        click.echo("RESTORE FAILED its checks: do not use this deployment.", err=True)
        sys.exit(1)
    click.echo("OK: the restored registry passes audit verify and storage scrub.")
