"""What one running application holds: settings, database, object store, keys.

Views reach it through ``current_runtime()``; services receive what they need
from it as arguments, so they stay usable from the CLI and from tests.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from flask import current_app, g
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from registry.audit.checkpoints import CheckpointTimer, load_signing_key
from registry.settings import Settings, SettingsError
from storage import EncryptedStore, Keyring, KeyringError, ObjectStore, StorageError, WormStatus

if TYPE_CHECKING:
    from registry.documents.copies import ViewingCopies


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    raw_store: ObjectStore
    keyring: Keyring
    viewing_copies: "ViewingCopies"
    worm: WormStatus | None = None
    checkpoint_timer: CheckpointTimer | None = None

    @property
    def store(self) -> EncryptedStore:
        return EncryptedStore(self.raw_store, self.keyring)

    def close(self) -> None:
        """Finish the copies being made, stop the checkpoint timer, then let go of the database."""
        self.viewing_copies.close()
        if self.checkpoint_timer is not None:
            self.checkpoint_timer.stop()
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


def check_worm(store: ObjectStore) -> WormStatus:
    """Some S3 servers accept a retention and ignore it: prove it at start-up, report the answer."""
    selftest = getattr(store, "worm_selftest", None)
    if selftest is None:
        return WormStatus("unavailable", "this backend has no object lock (filesystem)")
    try:
        return selftest()
    except StorageError as exc:
        return WormStatus("unavailable", f"the self-test could not run: {exc}")
