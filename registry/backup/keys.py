"""The master keyring and the audit signing key, kept apart from every backup.

A backup without its keys is unreadable; keys beside their backup protect nothing.
So the keys leave the registry only here: encrypted under a passphrase (Argon2id,
RFC 9106's second recommended parameters, then AES-256-GCM), or under a random key
split K-of-N with Shamir's scheme for custodians (SLIP-0039, the maintained
reference implementation ``shamir-mnemonic``: each share is a list of words with its
own checksum, so a mistyped share is refused, not silently wrong; fewer than K
shares tell nothing). Every share file carries the same sealed keys and one share.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shamir_mnemonic
from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from registry.audit.checkpoints import load_signing_key, published_key
from registry.settings import Settings
from storage import Keyring, KeyringError

FORMAT = "kinship-registry-keys/1"
PASSPHRASE, SHARES = "passphrase", "shamir-slip39"
ARGON2 = {"time_cost": 3, "memory_cost": 64 * 1024, "parallelism": 4}  # RFC 9106, 64 MiB
MIN_PASSPHRASE = 12
MAX_SHARES = 16  # SLIP-0039's limit


class KeyExportError(Exception):
    """Keys cannot be exported or imported; the message says why."""


@dataclass(frozen=True)
class RegistryKeys:
    """The keyring as its file holds it, and the audit signing key as PEM."""

    keyring: dict[str, Any]
    audit_pem: str

    @property
    def audit_key(self) -> Ed25519PrivateKey:
        key = serialization.load_pem_private_key(self.audit_pem.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyExportError("the audit signing key is not an Ed25519 key")
        return key

    def summary(self) -> str:
        ids = ", ".join(sorted(self.keyring["keys"]))
        return (
            f"master keys {ids} (current {self.keyring['current']}); audit signing key "
            f"{published_key(self.audit_key.public_key()).fingerprint}"
        )


def read_keys(settings: Settings) -> RegistryKeys:
    """The deployment's keys, from the master key file (or REGISTRY_MASTER_KEY) and the audit key file."""
    if settings.master_key:
        document = _keyring_document(settings.master_key)
    else:
        Keyring.load(settings.master_key_file)  # refuses a missing or unsafe file
        document = json.loads(Path(settings.master_key_file).read_bytes())
    if not Path(settings.audit_signing_key_file).is_file():
        raise KeyExportError(f"the audit signing key {settings.audit_signing_key_file} does not exist")
    load_signing_key(settings.audit_signing_key_file, create=False)
    return RegistryKeys(document, Path(settings.audit_signing_key_file).read_text())


def _keyring_document(value: str) -> dict[str, Any]:
    """A REGISTRY_MASTER_KEY value as a key file's document (a lone key keeps the id the registry gives it)."""
    text = value.strip()
    if text.startswith("{"):
        document: dict[str, Any] = json.loads(text)
        return document
    key_id = Keyring.from_env_value(text).current_key_id
    return {"current": key_id, "keys": {key_id: text}}


def _payload(keys: RegistryKeys) -> bytes:
    return json.dumps({"keyring": keys.keyring, "audit_signing_key": keys.audit_pem}, sort_keys=True).encode()


def _header(kind: str, keys: RegistryKeys, **extra: Any) -> dict[str, Any]:
    """What is written in clear beside the sealed keys (and bound to them as associated data)."""
    return {
        "format": FORMAT,
        "protection": kind,
        "master_key_ids": sorted(keys.keyring["keys"]),
        "audit_key_fingerprint": published_key(keys.audit_key.public_key()).fingerprint,
        **extra,
    }


def _aad(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()


def _seal(key: bytes, header: dict[str, Any], payload: bytes) -> dict[str, Any]:
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(key).encrypt(nonce, payload, _aad(header))
    return {"header": header, "nonce": _b64(nonce), "ciphertext": _b64(sealed)}


def _open(key: bytes, document: dict[str, Any]) -> RegistryKeys:
    try:
        plain = AESGCM(key).decrypt(_unb64(document["nonce"]), _unb64(document["ciphertext"]), _aad(document["header"]))
    except InvalidTag:
        raise KeyExportError("the keys do not open: wrong passphrase or shares, or the file was altered") from None
    data = json.loads(plain)
    return RegistryKeys(data["keyring"], data["audit_signing_key"])


def _passphrase_key(passphrase: str, salt: bytes, parameters: dict[str, int]) -> bytes:
    return hash_secret_raw(passphrase.encode(), salt, hash_len=32, type=Type.ID, **parameters)


def export_with_passphrase(keys: RegistryKeys, passphrase: str) -> bytes:
    if len(passphrase) < MIN_PASSPHRASE:
        raise KeyExportError(f"the passphrase must be at least {MIN_PASSPHRASE} characters long")
    salt = secrets.token_bytes(16)
    header = _header(PASSPHRASE, keys, kdf={"name": "argon2id", "salt": _b64(salt), **ARGON2})
    return _dump(_seal(_passphrase_key(passphrase, salt, ARGON2), header, _payload(keys)))


def export_with_shares(keys: RegistryKeys, shares: int, threshold: int) -> list[bytes]:
    """N share files; any ``threshold`` of them open the keys."""
    if not 2 <= threshold <= shares <= MAX_SHARES:
        raise KeyExportError(
            f"shares must be 2 to {MAX_SHARES}, and the threshold 2 to the number of shares "
            "(for one custodian use a passphrase)"
        )
    sealing_key = secrets.token_bytes(32)
    header = _header(SHARES, keys, export_id=secrets.token_hex(8), shares=shares, threshold=threshold)
    sealed = _seal(sealing_key, header, _payload(keys))
    words = shamir_mnemonic.generate_mnemonics(1, [(threshold, shares)], sealing_key)[0]
    return [
        _dump({**sealed, "share": {"number": number, "words": share}}) for number, share in enumerate(words, start=1)
    ]


def needs_passphrase(documents: list[dict[str, Any]]) -> bool:
    return documents[0]["header"]["protection"] == PASSPHRASE


def parse(data: bytes) -> dict[str, Any]:
    try:
        document = json.loads(data)
        if document["header"]["format"] != FORMAT:
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise KeyExportError(f"not a {FORMAT} file") from None
    return dict(document)


def open_with_passphrase(document: dict[str, Any], passphrase: str) -> RegistryKeys:
    kdf = document["header"]["kdf"]
    parameters = {name: int(kdf[name]) for name in ARGON2}
    return _open(_passphrase_key(passphrase, _unb64(kdf["salt"]), parameters), document)


def open_with_shares(documents: list[dict[str, Any]]) -> RegistryKeys:
    header = documents[0]["header"]
    if any(d["header"] != header or d["ciphertext"] != documents[0]["ciphertext"] for d in documents):
        raise KeyExportError("these share files come from different exports")
    words = {d["share"]["words"] for d in documents}
    if len(words) < header["threshold"]:
        raise KeyExportError(
            f"{header['threshold']} different shares of {header['shares']} are needed; {len(words)} were given"
        )
    try:
        sealing_key = shamir_mnemonic.combine_mnemonics(sorted(words))
    except shamir_mnemonic.MnemonicError as exc:
        raise KeyExportError(f"the shares do not combine: {exc}") from None
    return _open(sealing_key, documents[0])


def install(keys: RegistryKeys, settings: Settings) -> list[str]:
    """Write the keys where the settings say; keys already there must be the same ones (never overwritten).

    Both places are checked before either is written: a refusal leaves nothing half imported.
    """
    to_write: list[tuple[Path, str]] = []
    if settings.master_key:
        if _keyring_document(settings.master_key) != keys.keyring:
            raise KeyExportError("REGISTRY_MASTER_KEY holds other master keys than these: not replaced")
    else:
        Keyring.from_env_value(json.dumps(keys.keyring))  # refuses a malformed keyring before anything is written
        if _same_or_absent(
            Path(settings.master_key_file), lambda text: json.loads(text) == keys.keyring, "master key file"
        ):
            to_write.append((Path(settings.master_key_file), json.dumps(keys.keyring, indent=2) + "\n"))
    audit_raw = _raw_private(keys.audit_key)
    if _same_or_absent(
        Path(settings.audit_signing_key_file),
        lambda text: _raw_private(_pem_key(text)) == audit_raw,
        "audit signing key",
    ):
        to_write.append((Path(settings.audit_signing_key_file), keys.audit_pem))
    for path, text in to_write:
        _write_private(path, text)
    return [str(path) for path, _ in to_write]


def _same_or_absent(path: Path, same, what: str) -> bool:
    """True if ``path`` is to be written; False if it already holds the same key; refusal if another."""
    if not path.exists():
        return True
    try:
        if same(path.read_text()):
            return False
    except (ValueError, TypeError, KeyringError):
        pass
    raise KeyExportError(
        f"the {what} {path} exists and holds another key: it is not overwritten (move it away "
        "first if this deployment is to take the imported keys)"
    )


def _pem_key(text: str) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(text.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 key")
    return key


def _raw_private(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def _dump(document: dict[str, Any]) -> bytes:
    return json.dumps(document, indent=1, sort_keys=True).encode() + b"\n"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)
