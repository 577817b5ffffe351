"""Checking a court evidence bundle with nothing but the file (and, optionally, a pinned public key).

This module imports no part of the registry's application, database or storage, so a
court, a defence lawyer or an expert can check a bundle on their own machine. A bundle
is a ZIP holding the original files, ``manifest.json`` (each file's SHA-256 and size,
the relationships' history, the access-log entries), ``manifest.sig`` (an Ed25519
signature over the exact bytes of manifest.json, base64) and ``public_key.pem``.
"""
from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from typing import IO

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT = "registry-evidence-bundle/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PUBLIC_KEY = "public_key.pem"
UNLISTED = frozenset({MANIFEST, SIGNATURE, PUBLIC_KEY})
CHUNK = 1024 * 1024


def key_id(public: Ed25519PublicKey) -> str:
    """The same identifier the registry prints for its audit key (URL-safe base64 of the raw key)."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


@dataclass
class VerifyReport:
    files_checked: int = 0
    key_id: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _sha256(archive: zipfile.ZipFile, name: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with archive.open(name) as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _check_signature(archive: zipfile.ZipFile, manifest: bytes, pinned: Ed25519PublicKey | None,
                     report: VerifyReport) -> None:
    try:
        embedded = load_public_key(archive.read(PUBLIC_KEY))
    except ValueError:
        report.problems.append(f"{PUBLIC_KEY}: not a readable Ed25519 public key")
        return
    report.key_id = key_id(embedded)
    if pinned is not None and key_id(pinned) != report.key_id:
        report.problems.append(f"{PUBLIC_KEY}: the bundle carries key {report.key_id}, not the pinned key "
                               f"{key_id(pinned)}")
    try:
        signature = base64.b64decode(archive.read(SIGNATURE).strip(), validate=True)
        (pinned or embedded).verify(signature, manifest)
    except (ValueError, InvalidSignature):
        report.problems.append(f"{MANIFEST}: the signature does not match; the manifest was altered or "
                               "signed with another key")


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


def verify_bundle(source: str | IO[bytes], pinned_public_key: bytes | None = None) -> VerifyReport:
    """Check every hash and the signature; each problem names the file it concerns."""
    report = VerifyReport()
    try:
        pinned = load_public_key(pinned_public_key) if pinned_public_key else None
    except ValueError:
        report.problems.append("the pinned public key is not an Ed25519 public key in PEM form")
        return report
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        report.problems.append(f"the file is not a readable ZIP bundle ({exc})")
        return report
    with archive:
        counts = Counter(archive.namelist())
        report.problems += [f"{name}: appears {n} times in the ZIP (only one can be what was signed)"
                            for name, n in sorted(counts.items()) if n > 1]
        missing = [name for name in (MANIFEST, SIGNATURE, PUBLIC_KEY) if name not in counts]
        if missing:
            report.problems.append(f"{', '.join(missing)}: missing, so this is not a complete evidence bundle")
            return report
        manifest_bytes = archive.read(MANIFEST)
        _check_signature(archive, manifest_bytes, pinned, report)
        try:
            manifest = json.loads(manifest_bytes)
        except ValueError:
            report.problems.append(f"{MANIFEST}: not valid JSON")
            return report
        if manifest.get("format") != FORMAT:
            report.problems.append(f"{MANIFEST}: unknown format {manifest.get('format')!r}")
        if report.key_id and manifest.get("signing", {}).get("key_id") != report.key_id:
            report.problems.append(f"{MANIFEST}: names signing key {manifest.get('signing', {}).get('key_id')!r}, "
                                   f"but the bundle carries {report.key_id}")
        _check_files(archive, manifest, set(counts), report)
    return report
