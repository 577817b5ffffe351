"""Checking a court evidence bundle (or a person's export) with nothing but the file and the registry's published key.

This module imports no part of the registry's application, database or storage, so a
court, a defence lawyer or an expert can check a bundle on their own machine. A bundle
is a ZIP holding the original files, ``manifest.json`` (each file's SHA-256 and size,
the relationships' history, the access-log entries), ``manifest.sig`` (an Ed25519
signature, base64, over ``BUNDLE_CONTEXT`` followed by the exact bytes of manifest.json)
and ``public_key.pem``.

Anyone can make a self-consistent bundle with a key of their own, so the key inside the
bundle proves nothing by itself: a bundle is only vouched for when the verifier pins the
registry's key (its PEM, or its SHA-256 fingerprint), obtained from the registry apart
from the bundle.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from typing import IO

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT = "registry-evidence-bundle/2"
# A person's export (registry.persons.export) is signed and checked the same way; its manifest says which it is.
PERSON_EXPORT_FORMAT = "registry-person-export/1"
FORMATS = frozenset({FORMAT, PERSON_EXPORT_FORMAT})
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PUBLIC_KEY = "public_key.pem"
UNLISTED = frozenset({MANIFEST, SIGNATURE, PUBLIC_KEY})
CHUNK = 1024 * 1024
# The registry's key also signs access-log checkpoints (under another context): neither signature
# can be passed off as the other.
BUNDLE_CONTEXT = b"kinship-registry/bundle/v1\n"
_HEX = re.compile(r"[0-9a-f]{64}")


def key_id(public: Ed25519PublicKey) -> str:
    """The same identifier the registry prints for its audit key (URL-safe base64 of the raw key)."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def fingerprint(public: Ed25519PublicKey) -> str:
    """SHA-256 of the key's DER form, in hex: what ``registry audit key`` prints and what
    ``openssl pkey -pubin -in KEY.pem -outform DER | sha256sum`` prints for the same key."""
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def parse_fingerprint(text: str) -> str:
    """64 hex digits, in any case, with colons, spaces or dashes between them as a letter may print them."""
    digits = re.sub(r"[\s:-]", "", text.strip().lower().removeprefix("sha256:").removeprefix("sha-256"))
    if not _HEX.fullmatch(digits):
        raise ValueError("a SHA-256 fingerprint is 64 hexadecimal digits")
    return digits


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


@dataclass
class VerifyReport:
    files_checked: int = 0
    key_id: str = ""
    fingerprint: str = ""
    pinned_fingerprint: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        """Every file matches the manifest and the signature matches the key the bundle carries."""
        return not self.problems

    @property
    def signer_pinned(self) -> bool:
        """The bundle was signed by the key the verifier pinned (its fingerprint was compared)."""
        return bool(self.pinned_fingerprint) and self.pinned_fingerprint == self.fingerprint

    @property
    def ok(self) -> bool:
        return self.intact and self.signer_pinned


def _sha256(archive: zipfile.ZipFile, name: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with archive.open(name) as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _check_signature(
    archive: zipfile.ZipFile, manifest: bytes, pinned: Ed25519PublicKey | None, report: VerifyReport
) -> None:
    """The signature must hold under the pinned key when there is one, else under the key the bundle carries."""
    try:
        embedded = load_public_key(archive.read(PUBLIC_KEY))
    except ValueError:
        report.problems.append(f"{PUBLIC_KEY}: not a readable Ed25519 public key")
        return
    report.key_id, report.fingerprint = key_id(embedded), fingerprint(embedded)
    if report.pinned_fingerprint and report.pinned_fingerprint != report.fingerprint:
        report.problems.append(
            f"{PUBLIC_KEY}: the bundle is signed with key fingerprint {report.fingerprint}, "
            f"not the pinned registry key fingerprint {report.pinned_fingerprint}"
        )
    try:
        signature = base64.b64decode(archive.read(SIGNATURE).strip(), validate=True)
        (pinned or embedded).verify(signature, BUNDLE_CONTEXT + manifest)
    except (ValueError, InvalidSignature):
        report.problems.append(
            f"{MANIFEST}: the signature does not match; the manifest was altered or signed with another key"
        )


def _check_files(archive: zipfile.ZipFile, manifest: dict, names: set[str], report: VerifyReport) -> None:
    listed: set[str] = set()
    for entry in manifest.get("files", []):
        path = str(entry.get("path", ""))
        listed.add(path)
        if path not in names:
            report.problems.append(f"{path}: listed in the manifest but missing from the bundle")
            continue
        digest, size = _sha256(archive, path)
        report.files_checked += 1
        if digest != entry.get("sha256") or size != entry.get("size"):
            report.problems.append(f"{path}: altered (its SHA-256 or size differs from the manifest)")
    for extra in sorted(names - listed - UNLISTED):
        report.problems.append(f"{extra}: not listed in the manifest (added after signing)")


def verify_bundle(
    source: str | IO[bytes], pinned_public_key: bytes | None = None, pinned_fingerprint: str | None = None
) -> VerifyReport:
    """Check every hash and the signature; each problem names the file it concerns.

    ``ok`` only with the registry's key pinned (its PEM or its fingerprint): without a pin the report
    can say the bundle is ``intact``, never who signed it.
    """
    report = VerifyReport()
    try:
        pinned = load_public_key(pinned_public_key) if pinned_public_key else None
        report.pinned_fingerprint = parse_fingerprint(pinned_fingerprint) if pinned_fingerprint else ""
    except ValueError as exc:
        report.problems.append(f"the pinned key or fingerprint is not usable: {exc}")
        return report
    if pinned is not None:
        if report.pinned_fingerprint and report.pinned_fingerprint != fingerprint(pinned):
            report.problems.append(
                f"the pinned public key has fingerprint {fingerprint(pinned)}, not the pinned "
                f"fingerprint {report.pinned_fingerprint}"
            )
            return report
        report.pinned_fingerprint = fingerprint(pinned)
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        report.problems.append(f"the file is not a readable ZIP bundle ({exc})")
        return report
    with archive:
        counts = Counter(archive.namelist())
        report.problems += [
            f"{name}: appears {n} times in the ZIP (only one can be what was signed)"
            for name, n in sorted(counts.items())
            if n > 1
        ]
        missing = [name for name in (MANIFEST, SIGNATURE, PUBLIC_KEY) if name not in counts]
        if missing:
            report.problems.append(f"{', '.join(missing)}: missing, so this is not a complete evidence bundle")
            return report
        manifest_bytes = archive.read(MANIFEST)
        _check_signature(archive, manifest_bytes, pinned, report)
        try:
            manifest = json.loads(manifest_bytes)
        except ValueError:
            manifest = None
        if not isinstance(manifest, dict):
            report.problems.append(f"{MANIFEST}: not a JSON object")
            return report
        if manifest.get("format") not in FORMATS:
            report.problems.append(f"{MANIFEST}: unknown format {manifest.get('format')!r}")
        signing = manifest.get("signing") if isinstance(manifest.get("signing"), dict) else {}
        if report.key_id and (signing.get("key_id"), signing.get("fingerprint_sha256")) != (
            report.key_id,
            report.fingerprint,
        ):
            report.problems.append(
                f"{MANIFEST}: names signing key {signing.get('key_id')!r} (fingerprint "
                f"{signing.get('fingerprint_sha256')!r}), but the bundle carries {report.key_id} "
                f"(fingerprint {report.fingerprint})"
            )
        _check_files(archive, manifest, set(counts), report)
    return report
