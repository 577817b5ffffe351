"""Where a backup keeps what, and the signed manifest that says what it holds.

A destination (a folder or a bucket) holds one pool of objects shared by every
backup and one folder per backup::

    pool/objects/<uuid>                   stored bytes as the registry stored them (encrypted)
    pool/audit/checkpoints/<seq>.json     the access log's signed checkpoints
    backups/<name>/database               the database dump, encrypted under the master keyring
    backups/<name>/manifest.json          every object's stored SHA-256 and size, the dump's, version, time
    backups/<name>/manifest.sig           Ed25519 over MANIFEST_CONTEXT + manifest.json (audit signing key)
    backups/<name>/public_key.pem         the signer (vouches for nothing until its fingerprint is pinned)

The manifest is written last: a backup folder without one is an interrupted backup.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from storage import ObjectNotFound, ObjectStore

FORMAT = "kinship-registry-backup/1"
MANIFEST_CONTEXT = b"kinship-registry/backup-manifest/v1\n"
BACKUPS = "backups/"
POOL = "pool/"
MANIFEST, SIGNATURE, PUBLIC_KEY, DATABASE = "manifest.json", "manifest.sig", "public_key.pem", "database"
MAX_MANIFEST_BYTES = 1024 * 1024 * 1024


def member(name: str, part: str) -> str:
    return f"{BACKUPS}{name}/{part}"


def backup_names(store: ObjectStore) -> list[str]:
    """Names of the complete backups (those with a manifest), oldest first."""
    suffix = f"/{MANIFEST}"
    return sorted(
        key[len(BACKUPS) : -len(suffix)]
        for key in store.iter_keys(BACKUPS)
        if key.endswith(suffix) and key.count("/") == 2
    )


def sign(manifest: dict[str, Any], key: Ed25519PrivateKey) -> tuple[bytes, bytes]:
    """The manifest's exact bytes and their signature (base64, one line)."""
    body = json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=True).encode() + b"\n"
    return body, base64.b64encode(key.sign(MANIFEST_CONTEXT + body)) + b"\n"


def signature_valid(body: bytes, signature: bytes, public: Ed25519PublicKey) -> bool:
    try:
        public.verify(base64.b64decode(signature.strip(), validate=True), MANIFEST_CONTEXT + body)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def read_member(store: ObjectStore, name: str, part: str) -> bytes:
    with store.open(member(name, part)) as fh:
        return fh.read(MAX_MANIFEST_BYTES)


@dataclass(frozen=True)
class SignedManifest:
    name: str
    body: bytes
    signature: bytes
    public_pem: bytes

    @classmethod
    def read(cls, store: ObjectStore, name: str) -> SignedManifest:
        return cls(
            name,
            read_member(store, name, MANIFEST),
            read_member(store, name, SIGNATURE),
            read_member(store, name, PUBLIC_KEY),
        )

    def content(self) -> dict[str, Any]:
        """The parsed manifest; ValueError if it is not one."""
        data = json.loads(self.body)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} manifest")
        return data


def pool_index(store: ObjectStore, public: Ed25519PublicKey) -> dict[str, tuple[str, int]]:
    """Pool key -> (stored SHA-256, size) of every pool object that a manifest signed by ``public`` vouches for
    and that is still there: what a new backup need not copy again."""
    present = set(store.iter_keys(POOL))
    index: dict[str, tuple[str, int]] = {}
    for name in backup_names(store):
        try:
            signed = SignedManifest.read(store, name)
            if not signature_valid(signed.body, signed.signature, public):
                continue
            entries = signed.content()["objects"]
        except (ObjectNotFound, ValueError, KeyError, TypeError):
            continue
        for entry in entries:
            if entry["pool_key"] in present:
                index[entry["pool_key"]] = (entry["sha256"], int(entry["size"]))
    return index
