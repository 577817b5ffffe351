"""``registry bundle verify FILE``: checks a court evidence bundle without the registry's database,
settings or storage (the lead registers the ``bundle`` group on the main command)."""

from __future__ import annotations

import sys

import click

from registry.kinship.verify import parse_fingerprint, verify_bundle


def _fingerprint_option(_ctx, _param, value: str | None) -> str | None:
    try:
        return parse_fingerprint(value) if value else None
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.group()
def bundle() -> None:
    """Court evidence bundles and persons' exports (both signed the same way)."""


@bundle.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--public-key",
    "public_key",
    type=click.File("rb"),
    help="The registry's audit public key (PEM), obtained from the registry apart from the bundle.",
)
@click.option(
    "--fingerprint",
    "pinned_fingerprint",
    callback=_fingerprint_option,
    metavar="HEX",
    help="The SHA-256 fingerprint of the registry's audit key, as the registry publishes it.",
)
def verify(file: str, public_key, pinned_fingerprint: str | None) -> None:
    """Check every file's SHA-256 and the manifest's signature against the registry's pinned key.

    Exit 0 only when everything matches and the signer is the pinned key; exit 1 otherwise: a file or the
    manifest was altered, the signer is another key, or no key was pinned (the signer is not authenticated).
    """
    report = verify_bundle(file, public_key.read() if public_key else None, pinned_fingerprint)
    click.echo(
        f"{report.files_checked} files checked; signing key {report.key_id or 'unknown'}, "
        f"fingerprint {report.fingerprint or 'unknown'}"
    )
    if report.ok:
        click.echo("OK: every file matches the signed manifest, signed by the pinned registry key.")
        return
    for problem in report.problems:
        click.echo(f"ALTERED: {problem}", err=True)
    if report.intact:
        click.echo(
            "NOT VERIFIED: signer not authenticated (signature valid, key NOT pinned): anyone can sign a "
            "bundle with a key of their own. Compare the fingerprint above with the one the registry "
            "publishes, then run again with --fingerprint HEX or --public-key FILE.",
            err=True,
        )
    sys.exit(1)
