"""What the HTML and JSON document routes share: reading the multipart upload, sending content."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import IO, Any
from urllib.parse import quote

from flask import Request, Response, request, stream_with_context

from registry.documents import service
from registry.documents.spool import UploadSpool
from registry.errors import validation
from registry.i18n import _
from registry.runtime import current_runtime
from registry.web.body import TimedBody

# The viewing copy is shown inside our own page; it may run nothing and load nothing.
CONTENT_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox; frame-ancestors 'self'"
UPLOAD_READ_BYTES = 1024 * 1024


class SpoolingRequest(Request):
    """Every body must arrive in time (see ``registry.web.body``); in a multipart upload the file parts go
    straight to the upload work folder (see documents.spool), and the body is read a mebibyte at a time.

    The multipart parser asks for 64 KiB at a time, and gunicorn answers each such read with a
    Python-level loop over 8 KiB socket reads: that cost more than the parsing itself (a 50 MiB upload
    parsed in 0.15-0.25 s, against 0.04 s when read in 1 MiB pieces).
    """

    def __init__(self, environ: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        self._timed_body = TimedBody.of(environ)
        if self._timed_body is not None:
            multipart = environ.get("CONTENT_TYPE", "").startswith("multipart/form-data")
            environ["wsgi.input"] = (
                io.BufferedReader(self._timed_body, UPLOAD_READ_BYTES) if multipart else self._timed_body
            )
        super().__init__(environ, *args, **kwargs)

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        return UploadSpool(current_runtime().viewing_copies.policy.workdir)  # type: ignore[return-value]

    def close(self) -> None:
        if self._timed_body is not None:
            self._timed_body.close()  # a body never read to its end leaves no timer behind
        super().close()


def upload_policy() -> service.UploadPolicy:
    runtime = current_runtime()
    return service.UploadPolicy(
        max_bytes=runtime.settings.max_upload_mb * 1024 * 1024,
        workdir=runtime.viewing_copies.policy.workdir,
        retention=timedelta(days=runtime.settings.worm_retention_days),
        copies=runtime.viewing_copies,
    )


def uploaded_file() -> service.UploadedFile:
    file = request.files.get("file")
    if file is None:
        raise validation(file=str(_("Choose a file to upload.")))
    return service.UploadedFile(stream=file.stream, filename=file.filename, declared_type=file.mimetype)


def send_content(content: service.Content, *, attachment: bool) -> Response:
    response = Response(stream_with_context(content.chunks), mimetype=None, direct_passthrough=True)
    response.headers["Content-Type"] = content.content_type
    response.headers["Content-Length"] = str(content.size)
    disposition = "attachment" if attachment else "inline"
    ascii_name = content.filename.encode("ascii", "replace").decode().replace('"', "'").replace("?", "_")
    response.headers["Content-Disposition"] = (
        f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(content.filename)}"
    )
    response.headers["Content-Security-Policy"] = CONTENT_CSP
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response
