"""Errors raised by the storage library.

Every error is a ``StorageError`` so a caller can catch the family at once; the
subclasses exist because callers react differently to each (retry later, alert
on tampering, fall back to an unlocked store, fix a key file).
"""


class StorageError(Exception):
    """Base class of every storage failure."""


class ObjectNotFound(StorageError):
    """No object is stored under the key."""


class IntegrityError(StorageError):
    """Stored bytes do not authenticate or do not match the expected digest.

    Raised for tampering, truncation, reordering, an object moved to another key
    or a wrong master key: the caller must not trust any byte it was given.
    """


class StorageUnavailable(StorageError):
    """The backend cannot be reached or used right now (network, permissions)."""


class LockUnsupported(StorageError):
    """The backend or bucket cannot put objects under retention (WORM)."""


class KeyringError(StorageError):
    """The master-key file or value is missing, unsafe or malformed."""
