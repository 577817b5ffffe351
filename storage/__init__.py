"""Object storage for the registry: raw backends plus an encrypting layer.

Standalone on purpose (no Flask, no SQLAlchemy, no ``registry`` import) so the
crypto and the backends can be tested, benchmarked and reused on their own.
"""

from storage.base import ObjectStore, ObjectVersion, RawObjectInfo, WormStatus
from storage.encrypted import EncryptedStore, ObjectInfo
from storage.errors import (
    IntegrityError,
    KeyringError,
    LockUnsupported,
    ObjectNotFound,
    StorageError,
    StorageUnavailable,
)
from storage.factory import open_store
from storage.filesystem import FilesystemStore
from storage.keyring import Keyring
from storage.s3 import S3Store

__all__ = [
    "EncryptedStore",
    "FilesystemStore",
    "IntegrityError",
    "Keyring",
    "KeyringError",
    "LockUnsupported",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStore",
    "ObjectVersion",
    "RawObjectInfo",
    "S3Store",
    "StorageError",
    "StorageUnavailable",
    "WormStatus",
    "open_store",
]
