"""The request body is received before the request's database work begins, within a time limit.

SQLite (the embedded default) takes its write lock at a request's first statement and keeps it to the
request's end. Were the body read after the gate had looked up the token or the session, a client sending
a byte a second would hold that lock, and every other request would wait 30 s and fail. So the whole body
is read first (file parts spooled to the upload work folder, forms and JSON parsed), and a body not
complete within REGISTRY_REQUEST_BODY_SECONDS of its headers is answered 408 before anything touches the
database. A buffering reverse proxy (docker-compose.yml) keeps slow clients away from the workers as well.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from typing import IO, Any

from flask import request
from werkzeug.exceptions import RequestTimeout

from registry.i18n import _
from registry.runtime import current_runtime


def receive_body() -> None:
    """Read the whole body now, before the gate: a form is parsed, anything else kept for ``get_json``."""
    request.get_data(parse_form_data=True)


class TimedBody(io.RawIOBase):
    """The server's request body as a raw stream that ends at Content-Length and must arrive in time.

    Never reading past Content-Length matters under a server that hands over its socket (Werkzeug's): a
    read beyond the body waits for bytes the client will not send. When time is up, a read waiting for a
    client that stopped sending is woken by shutting the connection's reading side (the answer can still
    be written), and the reader then refuses the request.
    """

    def __init__(self, source: IO[bytes], length: int | None, connection: socket.socket | None) -> None:
        super().__init__()
        self._source = source
        self._left = length
        self._connection = connection
        self._headers_at = time.monotonic()
        self._deadline: float | None = None
        self._alarm: threading.Timer | None = None
        self._late = False

    @classmethod
    def of(cls, environ: dict[str, Any]) -> TimedBody | None:
        """None when the end of the body is unknown (the server then gives the application no body)."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or "")
        except ValueError:
            length = None
        if length is None and not environ.get("wsgi.input_terminated"):
            return None
        connection = environ.get("gunicorn.socket") or environ.get("werkzeug.socket")
        return cls(environ["wsgi.input"], length, connection if isinstance(connection, socket.socket) else None)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        wanted = len(buffer) if self._left is None else min(len(buffer), self._left)
        if wanted <= 0:
            return 0
        self._start_clock()
        self._refuse_if_late()
        try:
            data = self._source.read(wanted)
        except OSError:
            self._refuse_if_late()
            raise
        if not data:
            self._refuse_if_late()
        buffer[: len(data)] = data
        if self._left is not None:
            self._left -= len(data)
        if not data or self._left == 0:
            self._stop_clock()
        return len(data)

    def close(self) -> None:
        self._stop_clock()
        super().close()

    def _start_clock(self) -> None:
        if self._deadline is not None:
            return
        seconds = current_runtime().settings.request_body_seconds
        self._deadline = self._headers_at + seconds
        if self._connection is not None:
            self._alarm = threading.Timer(max(0.0, self._deadline - time.monotonic()), self._time_up)
            self._alarm.daemon = True
            self._alarm.start()

    def _stop_clock(self) -> None:
        if self._alarm is not None:
            self._alarm.cancel()
            self._alarm = None

    def _time_up(self) -> None:
        self._late = True
        try:
            self._connection.shutdown(socket.SHUT_RD)  # type: ignore[union-attr]
        except OSError:
            pass  # the connection is already gone

    def _refuse_if_late(self) -> None:
        if self._late or time.monotonic() >= self._deadline:  # type: ignore[operator]
            self._stop_clock()
            raise RequestTimeout(
                description=str(
                    _("The request did not arrive in time; nothing was done. Check the connection and send it again.")
                )
            )
