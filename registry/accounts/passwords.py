"""Password hashing (argon2id) and the rules a new password must pass.

A new password must be long, not on a list of common passwords (zxcvbn's, which
knows English words, names, keyboard walks, dates and l33t spellings, plus ours
for what it does not know: Cyrillic keyboard walks, local place names), and not
easy to guess from the person's own names.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from registry.i18n import _

MIN_LENGTH = 12
MAX_LENGTH = 256
# zxcvbn's 0-4 scale; 3 is "safely unguessable": about 10^8 guesses or more, even for an offline attack.
MIN_STRENGTH = 3
_STRENGTH_PREFIX = 72  # zxcvbn refuses longer input (its cost grows with length); a longer password is long enough
_strength_lock = threading.Lock()  # zxcvbn keeps the names it is given in a module-wide dictionary
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verifying against this keeps a login for an unknown name as slow as one for a known name.
_DUMMY_HASH = _hasher.hash("timing-equaliser-not-a-password")


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    text = resources.files("registry.accounts").joinpath("common-passwords.txt").read_text("utf-8")
    return frozenset(line.strip().casefold() for line in text.splitlines() if line.strip())


def password_problem(password: str, *, username: str = "", full_name: str = "") -> str | None:
    """Why this password may not be used, in plain words; None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return str(_("Use at least %(n)d characters.", n=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        return str(_("Use at most %(n)d characters.", n=MAX_LENGTH))
    folded = password.casefold()
    if folded in _common_passwords() or len(set(folded)) < 4:
        return str(_("This password is on the list of common passwords; choose another."))
    names = [username.casefold(), *full_name.casefold().split()]
    for part in names:
        if len(part) >= 3 and part in folded:
            return str(_("The password must not contain your name or user name."))
    from zxcvbn import zxcvbn  # 14 MiB of word lists: loaded by the process that first needs them, not every worker

    with _strength_lock:
        strength = zxcvbn(password[:_STRENGTH_PREFIX], user_inputs=names)["score"]
    if strength < MIN_STRENGTH:
        return str(_("This password is too easy to guess. Use a longer one, for example several unrelated words."))
    return None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)
