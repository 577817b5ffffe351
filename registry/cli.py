"""The ``registry`` command: set-up, serving, staff, keys, storage and the access log."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import click
import sqlalchemy as sa
from sqlalchemy.orm import Session

from registry.accounts import service as accounts
from registry.accounts.models import User
from registry.accounts.permissions import Role
from registry.accounts.undertaking_files import read_undertaking
from registry.app import create_app
from registry.audit.service import SYSTEM, ensure_chain_head
from registry.backup.cli import backup as backup_commands
from registry.backup.cli import restore as restore_command
from registry.errors import RegistryError
from registry.holds.cli import retention as retention_commands
from registry.kinship.cli import bundle as bundle_commands
from registry.persons.cli import persons as persons_commands
from registry.runtime import Runtime
from registry.settings import SettingsError, load_settings
from storage import IntegrityError, KeyringError, ObjectNotFound

DEFAULT_NDA = Path("config/nda/default.md")
SOURCE_NDA = Path(__file__).resolve().parent.parent / "config" / "nda" / "default.md"


class Context:
    """The application, created on first use so that ``--help`` needs no settings."""

    def __init__(self) -> None:
        self._app = None
        self.serving = False

    @property
    def app(self):
        if self._app is None:
            # Only a server runs copy threads and the checkpoint timer; a command makes the copies it needs
            # itself (`copies make`, demo) and writes a checkpoint when asked (`audit checkpoint`).
            quiet = {} if self.serving else {"copy_workers": 0, "copy_sweep_seconds": 0, "audit_checkpoint_minutes": 0}
            try:
                self._app = create_app(load_settings(**quiet))
            except SettingsError as exc:
                raise click.ClickException(str(exc)) from None
        return self._app

    @property
    def runtime(self) -> Runtime:
        return self.app.extensions["registry"]

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.app.app_context(), self.runtime.sessions() as session:
            try:
                yield session
                session.commit()
            except RegistryError as exc:
                session.rollback()
                raise click.ClickException(f"{exc.message} {exc.fields or ''}".strip()) from None


pass_ctx = click.make_pass_decorator(Context, ensure=True)


@click.group()
def main() -> None:
    """Kinship-evidence registry."""


# ---------------------------------------------------------------- set-up and serving


def _nda_path(path: str | None) -> Path:
    """The English text; its translations are the files beside it named default.ru.md, default.kk.md."""
    for candidate in [Path(path)] if path else [DEFAULT_NDA, SOURCE_NDA]:
        if candidate.is_file():
            return candidate
    raise click.ClickException("the first NDA text was not found; give it with --nda-file")


def _ensure_key_files() -> None:
    """Generate the master keyring and the audit signing key where they are missing (never overwrite)."""
    from registry.audit.checkpoints import load_signing_key
    from storage import Keyring

    try:
        settings = load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    if not settings.master_key and not Path(settings.master_key_file).exists():
        Path(settings.master_key_file).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        Keyring.generate(settings.master_key_file)
        click.echo(f"Generated the master keyring {settings.master_key_file}: back it up apart from the data.")
    if not Path(settings.audit_signing_key_file).exists():
        load_signing_key(settings.audit_signing_key_file, create=True)
        click.echo(
            f"Generated the audit signing key {settings.audit_signing_key_file}: back it up apart from the database."
        )


@main.command()
@click.option("--nda-file", help="Text of the first non-disclosure undertaking (default config/nda/default.md).")
@click.option("--admin", "admin_name", default="admin", show_default=True, help="User name of the first admin.")
@pass_ctx
def init(ctx: Context, nda_file: str | None, admin_name: str) -> None:
    """Migrate the database, prepare storage and keys, publish the first NDA, create the first admin.

    Safe to run again: it only does what is missing.
    """
    from registry.documents.scrub import fingerprints_by_key
    from registry.migrate import upgrade

    _ensure_key_files()
    runtime = ctx.runtime
    upgrade(runtime.engine)
    runtime.raw_store.ensure_container()
    _ = runtime.audit_key  # created in development when missing, required in production
    with ctx.session() as db:
        ensure_chain_head(db)
        if accounts.current_nda(db) is None:
            title, text, translations = read_undertaking(_nda_path(nda_file))
            accounts.publish_nda(db, SYSTEM, title=title, text=text, translations=translations)
            click.echo("Published the first non-disclosure undertaking.")
        if db.scalar(sa.select(sa.func.count()).select_from(User)) == 0:
            password = secrets.token_urlsafe(12)
            accounts.create_user(
                db,
                SYSTEM,
                username=admin_name,
                full_name="Registry Administrator",
                password=password,
                roles={Role.ADMIN},
            )
            click.echo(
                f"Created the first administrator.\n  user name: {admin_name}\n  password:  {password}\n"
                "Sign in, sign the undertaking (type 'Registry Administrator'), and create staff accounts."
            )
        else:
            click.echo("Accounts exist already; no administrator was created.")
        plain = fingerprints_by_key(db).get("", 0)
    if plain:
        click.echo(
            f"{plain} objects still have a plain SHA-256 fingerprint, from which anyone holding the database "
            "can confirm a guessed document: run `registry keys refingerprint`."
        )
    click.echo("The registry is initialised.")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@pass_ctx
def serve(ctx: Context, host: str, port: int) -> None:
    """Run the development server (production: gunicorn -c config/gunicorn.conf.py registry.wsgi:app)."""
    ctx.serving = True
    if ctx.runtime.settings.production:
        raise click.ClickException("in production run gunicorn -c config/gunicorn.conf.py registry.wsgi:app")
    click.echo(f"Serving on http://{'localhost' if host == '127.0.0.1' else host}:{port}/")
    ctx.app.run(host=host, port=port, debug=False, use_reloader=False, threaded=True)


# ---------------------------------------------------------------- staff


@main.group()
def users() -> None:
    """Staff accounts."""


@users.command("create")
@click.argument("username")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice([r.value for r in Role]),
    help="May be given several times.",
)
@click.option("--full-name", default="", help="Full name as it will be typed when signing the NDA.")
@click.option("--password", help="First password; a random one is printed if omitted.")
@pass_ctx
def create_user(ctx: Context, username: str, roles: tuple[str, ...], full_name: str, password: str | None) -> None:
    """Create a staff account."""
    password = password or secrets.token_urlsafe(12)
    with ctx.session() as db:
        accounts.create_user(
            db,
            SYSTEM,
            username=username,
            full_name=full_name or username,
            password=password,
            roles={Role(r) for r in roles},
        )
    click.echo(f"Created {username} ({', '.join(roles)}). Password: {password}")


@users.command("token")
@click.argument("username")
@click.option("--days", default=90, show_default=True, type=int)
@click.option("--name", default="cli", show_default=True)
@pass_ctx
def user_token(ctx: Context, username: str, days: int, name: str) -> None:
    """Print a new API token for USERNAME (shown once); the account must be enabled and, where
    REGISTRY_REQUIRE_MFA is on, have a second factor, or the API would refuse the token."""
    with ctx.session() as db:
        user = accounts.user_by_name(db, username)
        if not user.is_active:
            raise click.ClickException(f"{user.username} is disabled: enable the account before making it a token")
        if accounts.second_factor_missing(user, required=ctx.runtime.settings.require_mfa):
            raise click.ClickException(
                f"{user.username} has no second factor and REGISTRY_REQUIRE_MFA is on, so the API would refuse "
                "the token: they sign in, set up a second factor on their account page, then ask again"
            )
        token = accounts.create_api_token(db, SYSTEM, user, name=name, days=days)
    click.echo(token)


# ---------------------------------------------------------------- access log


@main.group()
def audit() -> None:
    """The access log."""


@audit.command("verify")
@pass_ctx
def audit_verify(ctx: Context) -> None:
    """Re-walk the hash chain and check it against every signed checkpoint; non-zero exit on any problem."""
    from registry.audit.verify import verify_log

    runtime = ctx.runtime
    report = verify_log(
        runtime.engine,
        runtime.raw_store,
        runtime.audit_key.public_key(),
        witness_seconds=runtime.settings.audit_witness_seconds,
    )
    click.echo(f"{report.events} events, {report.checkpoints} signed checkpoints, last event {report.last_seq}")
    for note in report.notes:
        click.echo(f"NOTE: {note}")
    if report.ok:
        click.echo("OK: the access log is intact.")
        return
    for problem in report.problems:
        click.echo(f"TAMPERED: {problem}", err=True)
    sys.exit(1)


@audit.command("checkpoint")
@pass_ctx
def audit_checkpoint(ctx: Context) -> None:
    """Sign the current end of the chain and store it in object storage (locked where possible)."""
    from registry.audit.checkpoints import write_checkpoint

    runtime = ctx.runtime
    checkpoint = write_checkpoint(
        runtime.sessions, runtime.raw_store, runtime.audit_key, witness_seconds=runtime.settings.audit_witness_seconds
    )
    click.echo(
        "The log is empty." if checkpoint is None else f"Checkpoint at event {checkpoint.seq}: {checkpoint.hash}"
    )


@audit.command("key")
@click.option("--pem", "pem_only", is_flag=True, help="Print only the PEM public key (to save it to a file).")
@pass_ctx
def audit_key(ctx: Context, pem_only: bool) -> None:
    """Print the public audit signing key and its SHA-256 fingerprint: what a court pins to verify a bundle."""
    from registry.audit.checkpoints import published_key

    key = published_key(ctx.runtime.audit_key.public_key())
    if not pem_only:
        click.echo(
            f"Audit signing key (Ed25519), signs access-log checkpoints and evidence bundles\n"
            f"key id:      {key.key_id}\nfingerprint: {key.fingerprint}  (SHA-256 of the DER public key)\n"
            f"A court checks a bundle with: registry bundle verify BUNDLE.zip --fingerprint {key.fingerprint}"
        )
    click.echo(key.pem, nl=False)


# ---------------------------------------------------------------- storage and keys


@main.group()
def storage() -> None:
    """Object storage."""


@storage.command("scrub")
@pass_ctx
def storage_scrub(ctx: Context) -> None:
    """Re-read and verify every object; report missing, corrupt and orphan objects."""
    from registry.documents.scrub import scrub

    with ctx.session() as db:
        report = scrub(db, ctx.runtime.store, ctx.runtime.raw_store)
    click.echo(
        f"{report.checked} objects checked: {len(report.missing)} missing, {len(report.corrupt)} corrupt, "
        f"{len(report.orphans)} orphans"
    )
    for line in report.lines():
        click.echo(line)
    if not report.ok:
        sys.exit(1)


@storage.command("selftest")
@pass_ctx
def storage_selftest(ctx: Context) -> None:
    """Prove that the store refuses to delete a locked version (WORM): enforced, not_proven or unavailable."""
    store = ctx.runtime.raw_store
    if not hasattr(store, "worm_selftest"):
        click.echo("unavailable: this backend has no object lock (filesystem)")
        sys.exit(1)
    status = store.worm_selftest()
    click.echo(f"{status.status}: {status.detail}")
    if status.status != "enforced":
        sys.exit(1)


@main.group()
def keys() -> None:
    """Master keys."""


@keys.command("rotate")
@pass_ctx
def keys_rotate(ctx: Context) -> None:
    """Add a new master key and rewrap every data key with it (objects are not rewritten)."""
    from registry.documents.scrub import rewrap_all

    runtime = ctx.runtime
    if runtime.settings.master_key:
        raise click.ClickException("the master key comes from REGISTRY_MASTER_KEY; rotate it where it is kept")
    new_id = runtime.keyring.add_new_key(runtime.settings.master_key_file)
    with ctx.session() as db:
        count = rewrap_all(db, runtime.store)
        factors = accounts.reseal_totp_secrets(db, runtime.keyring)
    click.echo(
        f"New master key {new_id}; {count} data keys rewrapped, {factors} second factors sealed again.\n"
        "Duplicates are found by fingerprints made under one key: run `registry keys refingerprint` "
        "(it reads every object) before retiring the old key."
    )


@keys.command("refingerprint")
@pass_ctx
def keys_refingerprint(ctx: Context) -> None:
    """Fingerprint every object again under the current master key (after `keys rotate`, and once for
    plain SHA-256 fingerprints from before keyed ones); each original's new fingerprint is logged."""
    from registry.documents.scrub import refingerprint_all

    try:
        with ctx.session() as db:
            count = refingerprint_all(db, ctx.runtime.store)
    except (IntegrityError, ObjectNotFound) as exc:
        raise click.ClickException(f"{exc}; nothing was changed: run `registry storage scrub`") from None
    click.echo(f"{count} objects fingerprinted again under master key {ctx.runtime.keyring.current_key_id}.")


@keys.command("retire")
@click.argument("key_id")
@pass_ctx
def keys_retire(ctx: Context, key_id: str) -> None:
    """Remove a master key that wraps no data key any more (after `keys rotate`) from the key file."""
    from registry.documents.scrub import fingerprints_by_key, master_keys_in_use

    runtime = ctx.runtime
    if runtime.settings.master_key:
        raise click.ClickException("the master key comes from REGISTRY_MASTER_KEY; retire it where it is kept")
    with ctx.session() as db:
        wrapped = master_keys_in_use(db).get(key_id, 0) + accounts.totp_key_ids(db).get(key_id, 0)
        fingerprinted = fingerprints_by_key(db).get(key_id, 0)
    if fingerprinted and not wrapped:
        raise click.ClickException(
            f"{fingerprinted} object fingerprints were made with master key {key_id}: "
            "run `registry keys refingerprint` first"
        )
    if wrapped:
        raise click.ClickException(
            f"master key {key_id} still wraps {wrapped} data keys: run `registry keys rotate` "
            "first (or `registry keys reencrypt` if the key leaked)"
        )
    try:
        runtime.keyring.retire(runtime.settings.master_key_file, key_id)
    except KeyringError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"Master key {key_id} retired. Copies of the key file made before now (backups) still hold it: "
        "destroy them, or re-encrypt if it may have leaked."
    )


@keys.command("reencrypt")
@pass_ctx
def keys_reencrypt(ctx: Context) -> None:
    """After a master key leaked: a new current key, every object encrypted again under a new data key.

    Rewrapping is not enough then: whoever holds the leaked key and an old wrapped data key (an earlier
    object version, a backup) can still read the object. Old objects are deleted; locked ones stay until
    their lock ends (listed: delete them then). Retire the leaked key afterwards.
    """
    from registry.documents.scrub import reencrypt_all

    runtime = ctx.runtime
    if runtime.settings.master_key:
        raise click.ClickException("the master key comes from REGISTRY_MASTER_KEY; add a new one where it is kept")
    old_ids = sorted(runtime.keyring.key_ids)
    new_id = runtime.keyring.add_new_key(runtime.settings.master_key_file)
    with ctx.session() as db:
        count, still_locked = reencrypt_all(db, runtime.store)
        accounts.reseal_totp_secrets(db, runtime.keyring)
    click.echo(f"New master key {new_id}; {count} objects encrypted again under new data keys.")
    for key in still_locked:
        click.echo(f"LOCKED  {key}  (the old copy stays until its lock ends: delete it then)")
    click.echo(f"Now retire the old keys: {' '.join(f'registry keys retire {k}' for k in old_ids)}")


PASSPHRASE_VARIABLE = "REGISTRY_KEYS_PASSPHRASE"


def _keys_passphrase(*, confirm: bool) -> str:
    return os.environ.get(PASSPHRASE_VARIABLE) or click.prompt(
        "Passphrase", hide_input=True, confirmation_prompt=confirm, err=True
    )


@keys.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--shares", type=click.IntRange(2, 16), help="Split into N share files, one per custodian.")
@click.option("--threshold", type=click.IntRange(2, 16), help="With --shares: how many shares open the keys.")
def keys_export(file: Path, shares: int | None, threshold: int | None) -> None:
    """Write the master keyring and the audit signing key to FILE, encrypted under a passphrase (asked, or
    REGISTRY_KEYS_PASSPHRASE), or split into N files FILE-share-I-of-N of which any K open them.

    Backups never hold these keys: keep this apart from them (a safe, custodians).
    """
    from registry.backup import keys as exported

    if (shares is None) != (threshold is None):
        raise click.ClickException("give both --shares N and --threshold K, or neither (a passphrase)")
    try:
        settings = load_settings()
        found = exported.read_keys(settings)
        if shares and threshold:
            contents = exported.export_with_shares(found, shares, threshold)
            files = [file.with_name(f"{file.stem}-share-{i}-of-{shares}{file.suffix}") for i in range(1, shares + 1)]
        else:
            contents = [exported.export_with_passphrase(found, _keys_passphrase(confirm=True))]
            files = [file]
        if taken := [str(f) for f in files if f.exists()]:
            raise click.ClickException(f"not overwritten: {', '.join(taken)}")
        for target, content in zip(files, contents, strict=False):
            with open(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as fh:
                fh.write(content)
    except (SettingsError, KeyringError, exported.KeyExportError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Exported {found.summary()}")
    for target in files:
        click.echo(f"  {target}")
    if shares:
        click.echo(f"Give each share file to a different custodian; any {threshold} of the {shares} open the keys.")


@keys.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def keys_import(files: tuple[Path, ...]) -> None:
    """Take keys back from an export FILE (passphrase) or from K share files, into the files the settings
    name; keys already there must be the same ones (never overwritten)."""
    from registry.backup import keys as exported

    try:
        settings = load_settings()
        documents = [exported.parse(f.read_bytes()) for f in files]
        if exported.needs_passphrase(documents):
            if len(documents) != 1:
                raise click.ClickException("a passphrase export is one file")
            found = exported.open_with_passphrase(documents[0], _keys_passphrase(confirm=False))
        else:
            found = exported.open_with_shares(documents)
        written = exported.install(found, settings)
    except (SettingsError, KeyringError, exported.KeyExportError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Imported {found.summary()}")
    for target in written:
        click.echo(f"  wrote {target}")
    if not written:
        click.echo("  the same keys were already in place; nothing was written")


@main.group()
def copies() -> None:
    """Viewing copies (made after each upload by the server's copy threads)."""


@copies.command("make")
@click.option("--follow", is_flag=True, help="Keep making copies as uploads arrive (a dedicated copy worker).")
@click.option(
    "--every",
    default=5,
    show_default=True,
    type=click.IntRange(1, 3600),
    help="With --follow: seconds between looks for new uploads.",
)
@pass_ctx
def copies_make(ctx: Context, follow: bool, every: int) -> None:
    """Make every waiting viewing copy: after a crash, or for servers run with REGISTRY_COPY_WORKERS=0."""
    import time

    while True:
        made = ctx.runtime.viewing_copies.make_waiting()
        if made or not follow:
            click.echo(_copy_counts(made) or "No viewing copy is waiting.")
        if not follow:
            return
        time.sleep(every)


# ---------------------------------------------------------------- domain commands


@main.command()
@click.option("--families", default=12, show_default=True, type=int, help="How many synthetic families.")
@pass_ctx
def demo(ctx: Context, families: int) -> None:
    """Fill the registry with a realistic SYNTHETIC data set (never on a production registry)."""
    from registry.demo import build_demo

    if ctx.runtime.settings.production:
        raise click.ClickException("the demo data set is not for a production registry")
    with ctx.session() as db:
        summary = build_demo(db, ctx.runtime.store, ctx.runtime.viewing_copies, families=families)
    summary["viewing copies"] = _made_copies(ctx.runtime)
    for line in _demo_lines(summary):
        click.echo(line)


def _made_copies(runtime: Runtime) -> str:
    return _copy_counts(runtime.viewing_copies.make_waiting()) or "none waiting"


def _copy_counts(made: Mapping[str, int]) -> str:
    return ", ".join(f"{count} {status}" for status, count in sorted(made.items()))


def _demo_lines(summary: dict) -> list[str]:
    lines = [
        "Demo data created. Staff accounts (user name / password / role); each signs the NDA at first "
        "sign-in by typing the full name shown:"
    ]
    for member in summary.get("staff", []):
        password = member["password"] or "(unchanged from the first run)"
        lines.append(f"  {member['username']:<14} {password:<30} {member['role']:<11} {member['full_name']}")
    lines += [f"  {key}: {value}" for key, value in summary.items() if key != "staff"]
    return lines


main.add_command(persons_commands)
main.add_command(bundle_commands)
main.add_command(backup_commands)
main.add_command(restore_command)
main.add_command(retention_commands)
