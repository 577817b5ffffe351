"""A client that sends its request body slowly holds no lock and no transaction.

With SQLite the first statement of a request takes the write lock and keeps it until the request ends. If
the gate looked up the bearer token before the body had arrived, one client sending a few bytes a second
held that lock, and every other request waited 30 seconds and failed. Here the app runs in a real HTTP
server on a loopback port and the slow client is a raw socket.
"""

from __future__ import annotations

import http.client
import json
import select
import socket
import threading
import time

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from werkzeug.serving import make_server

from registry.audit.models import AuditEvent
from tests.documents import files
from tests.documents_api.support import files_under, upload_workdir
from tests.documents_api.test_upload_reading import multipart_body

BODY_SECONDS = 2


@pytest.fixture
def settings(settings):
    return settings.with_overrides(request_body_seconds=BODY_SECONDS)


@pytest.fixture
def port(app) -> int:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    server.server_close()


class SlowUpload:
    """A multipart upload whose file part starts at once, then comes a few bytes at a time; it stops as soon
    as the server answers."""

    def __init__(self, port: int, token: str, person_id: str) -> None:
        self.body, content_type = multipart_body(b"%PDF-1.7\n" + b"%" * 4096)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.sendall(
            (
                f"POST /api/v1/persons/{person_id}/documents HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {token}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(self.body)}\r\n\r\n"
            ).encode()
        )
        self.sent = self.body.index(b"%PDF") + 100
        self.sock.sendall(self.body[: self.sent])
        self.stop = threading.Event()

    def trickle(self, seconds: float) -> bytes:
        """Send three bytes every quarter of a second for ``seconds``; the server's answer, if any."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self.stop.is_set():
            readable, _, _ = select.select([self.sock], [], [], 0.25)
            if readable:
                return self._answer()
            self.sock.sendall(self.body[self.sent : self.sent + 3])
            self.sent += 3
        return b""

    def _answer(self) -> bytes:
        received = b""
        while chunk := self.sock.recv(65536):
            received += chunk
        return received

    def close(self) -> None:
        self.sock.close()


def status_and_json(answer: bytes) -> tuple[int, dict]:
    head, _sep, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def search(port: int, token: str, q: str) -> tuple[int, dict, float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=40)
    started = time.monotonic()
    connection.request("GET", f"/api/v1/persons?q={q}", headers={"Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    data = json.loads(response.read())
    connection.close()
    return response.status, data, time.monotonic() - started


def test_a_search_is_answered_while_another_client_trickles_an_upload(port, staff, make_person):
    uploader, searcher = staff("clerk"), staff("clerk")
    person = make_person(uploader)
    slow = SlowUpload(port, uploader.token, person["id"])
    answers: list[bytes] = []
    trickler = threading.Thread(target=lambda: answers.append(slow.trickle(BODY_SECONDS / 2)))
    trickler.start()
    try:
        time.sleep(0.5)  # the server is reading the slow body now
        status, found, seconds = search(port, searcher.token, "Abdirasulova")
    finally:
        slow.stop.set()
        trickler.join()
        slow.close()

    assert status == 200, found
    assert [p["id"] for p in found["persons"]] == [person["id"]]
    assert seconds < 5  # not the 30 s a locked database makes everyone wait
    assert answers == [b""]  # the slow upload was still arriving all that time


def test_a_body_not_complete_in_time_is_refused_before_the_database(port, staff, make_person, runtime):
    clerk = staff("clerk")
    person = make_person(clerk)
    with runtime.sessions() as db:
        events_before = db.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    transactions: list[object] = []

    def began(connection) -> None:
        transactions.append(connection)

    event.listen(runtime.engine, "begin", began)
    slow = SlowUpload(port, clerk.token, person["id"])
    try:
        answer = slow.trickle(BODY_SECONDS + 10)
    finally:
        slow.close()
        event.remove(runtime.engine, "begin", began)

    status, refusal = status_and_json(answer)
    assert status == 408, refusal
    assert refusal["error"]["message"]
    assert transactions == []  # no token lookup, no audit event, no lock: the gate never ran
    assert files_under(upload_workdir(runtime)) == []  # nothing of the file is left behind
    with runtime.sessions() as db:
        assert db.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == events_before


def test_an_upload_sent_at_once_is_stored(port, staff, make_person, tmp_path):
    clerk = staff("clerk")
    person = make_person(clerk)
    body, content_type = multipart_body(files.simple_pdf(tmp_path / "scan.pdf").read_bytes())
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request(
        "POST",
        f"/api/v1/persons/{person['id']}/documents",
        body=body,
        headers={"Authorization": f"Bearer {clerk.token}", "Content-Type": content_type},
    )
    response = connection.getresponse()
    document = json.loads(response.read())
    connection.close()

    assert response.status == 201, document
