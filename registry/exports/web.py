"""Sending a signed ZIP: the API and the pages answer a bundle or a person's export alike."""

from __future__ import annotations

from pathlib import Path

from flask import Response, send_file

from registry.api.schema import Binary
from registry.exports.archive import SignedZip
from registry.runtime import current_runtime

# How the API declares a signed ZIP download (registry.api.schema.operation).
SIGNED_ZIP = Binary(
    ("application/zip",),
    "A signed ZIP; check it with `registry bundle verify FILE --fingerprint HEX`",
    {"X-Manifest-SHA256": "SHA-256 of manifest.json, as the access log records it"},
)


def spool_folder() -> str:
    """Inside the instance folder (never the shared /tmp): the ZIP holds originals in clear."""
    return str(Path(current_runtime().settings.instance_path) / "bundles")


def send_signed_zip(signed: SignedZip) -> Response:
    """The ZIP as a download, its manifest's SHA-256 in a header; the spool is closed with the response."""
    response = send_file(
        signed.file, mimetype="application/zip", as_attachment=True, download_name=signed.filename, max_age=0
    )
    response.headers["X-Manifest-SHA256"] = signed.manifest_sha256
    response.call_on_close(signed.file.close)
    return response
