"""What one running application holds: settings, database, object store, keys.

Views reach it through ``current_runtime()``; services receive what they need
from it as arguments, so they stay usable from the CLI and from tests.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import current_app, g
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from registry.audit.checkpoints import CheckpointTimer, Witness, checkpoint_if_new, load_signing_key
from registry.audit.events import Action
from registry.audit.service import SYSTEM, record
from registry.errors import AuditUnavailable
from registry.settings import Settings, SettingsError
from storage import EncryptedStore, Keyring, KeyringError, ObjectStore, StorageError, WormStatus

if TYPE_CHECKING:
    from registry.documents.copies import ViewingCopies

log = logging.getLogger("registry")


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    raw_store: ObjectStore
    keyring: Keyring
    viewing_copies: ViewingCopies
    worm: WormStatus | None = None
    checkpoint_timer: CheckpointTimer | None = None
    witness: Witness = field(init=False)

    def __post_init__(self) -> None:
        self.witness = Witness(self.settings.audit_witness_seconds)

    @property
    def store(self) -> EncryptedStore:
        return EncryptedStore(self.raw_store, self.keyring)

    def close(self) -> None:
        """Finish the copies being made, stop the checkpoint timer and sign what it had not yet (a server
        that stops leaves no unwitnessed tail), then let go of the database."""
        self.viewing_copies.close()
        if self.checkpoint_timer is not None:
            self.checkpoint_timer.stop()
            try:
                checkpoint_if_new(self)
            except (SQLAlchemyError, StorageError, OSError):
                log.exception("could not sign the access log's end on stopping; run `registry audit checkpoint`")
        self.engine.dispose()

    @cached_property
    def audit_key(self) -> Ed25519PrivateKey:
        return load_signing_key(self.settings.audit_signing_key_file, create=not self.settings.production)


def load_keyring(settings: Settings, *, create: bool) -> Keyring:
    if settings.master_key:
        return Keyring.from_env_value(settings.master_key)
    path = Path(settings.master_key_file)
    if not path.exists() and create and not settings.production:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        return Keyring.generate(str(path))
    try:
        return Keyring.load(str(path))
    except KeyringError as exc:
        raise SettingsError(f"REGISTRY_MASTER_KEY_FILE: {exc} (`registry init` creates one)") from None


def current_runtime() -> Runtime:
    return current_app.extensions["registry"]


def db() -> Session:
    """The request's database session, opened on first use and closed at teardown."""
    if "db" not in g:
        g.db = current_runtime().sessions()
    return g.db


def check_store_lock(runtime: Runtime) -> None:
    """At start-up: prove that the store locks objects; production refuses one that cannot.

    Without a lock, access-log checkpoints and originals can be deleted. An operator may accept
    that (REGISTRY_ACCEPT_UNLOCKABLE_STORE); every start that does is logged, for auditors.
    """
    settings = runtime.settings
    if settings.worm_selftest and (settings.production or settings.storage_url.startswith("s3:")):
        runtime.worm = check_worm(runtime.raw_store)
        if runtime.worm.status != "enforced":
            log.warning("WORM is %s: %s", runtime.worm.status, runtime.worm.detail)
    if not settings.production or (runtime.worm is not None and runtime.worm.status == "enforced"):
        return
    worm = runtime.worm or WormStatus("not_proven", "the WORM self-test is off (REGISTRY_WORM_SELFTEST=false)")
    if not settings.accept_unlockable_store:
        runtime.close()
        raise SettingsError(
            f"production refuses a store that cannot lock objects (WORM {worm.status}: {worm.detail}): the access "
            "log's checkpoints and the originals could be deleted. Use an S3 bucket with Object Lock on a server "
            "that enforces it, or accept this store with REGISTRY_ACCEPT_UNLOCKABLE_STORE=true (logged for auditors)"
        )
    try:
        with runtime.sessions() as session:
            record(
                session,
                SYSTEM,
                Action.UNLOCKABLE_STORE_ACCEPTED,
                details={"worm": worm.status, "detail": worm.detail[:300]},
            )
            session.commit()
    except AuditUnavailable:
        log.error("could not log the accepted store that cannot lock objects (is the database migrated?)")
    log.warning(
        "production runs on a store that cannot lock objects (WORM %s), as accepted: %s", worm.status, worm.detail
    )


def check_worm(store: ObjectStore) -> WormStatus:
    """Some S3 servers accept a retention and ignore it: prove it at start-up, report the answer."""
    selftest = getattr(store, "worm_selftest", None)
    if selftest is None:
        return WormStatus("unavailable", "this backend has no object lock (filesystem)")
    try:
        return selftest()
    except StorageError as exc:
        return WormStatus("unavailable", f"the self-test could not run: {exc}")
