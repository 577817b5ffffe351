"""``registry bundle verify FILE``: checks a court evidence bundle without the registry's database,
settings or storage (the lead registers the ``bundle`` group on the main command)."""
from __future__ import annotations

import sys

import click

from registry.kinship.verify import verify_bundle


@click.group()
def bundle() -> None:
    """Court evidence bundles."""


@bundle.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--public-key", "public_key", type=click.File("rb"),
              help="The registry's published audit public key (PEM); without it the key inside the bundle is used.")
def verify(file: str, public_key) -> None:
    """Check every file's SHA-256 and the manifest's signature; exit 1 and name anything altered."""
    report = verify_bundle(file, public_key.read() if public_key else None)
    click.echo(f"{report.files_checked} files checked; signing key {report.key_id or 'unknown'}")
    if report.ok:
        click.echo("OK: every file matches the signed manifest.")
        return
    for problem in report.problems:
        click.echo(f"ALTERED: {problem}", err=True)
    sys.exit(1)
