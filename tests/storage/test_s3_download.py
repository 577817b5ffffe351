"""Downloads survive a dropped connection and stop cleanly when abandoned."""

from __future__ import annotations

import io
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from urllib.parse import urlsplit

import pytest

from storage import S3Store

MiB = 1024 * 1024


class CuttingProxy:
    """TCP relay to the S3 server that drops the first response longer than ``cut_after``."""

    def __init__(self, upstream: str, cut_after: int) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname, parts.port)
        self._cut_after = cut_after
        self.cuts = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self._upstream)
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, is_response: bool) -> None:
        relayed = 0
        try:
            while data := source.recv(65536):
                if is_response and not self.cuts and relayed + len(data) > self._cut_after:
                    self.cuts += 1
                    target.sendall(data[: self._cut_after - relayed])
                    break
                target.sendall(data)
                relayed += len(data)
        except OSError:
            pass
        for sock in (source, target):
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes the other direction's recv
            sock.close()


@pytest.fixture
def proxy(moto_endpoint: str) -> Iterator[CuttingProxy]:
    relay = CuttingProxy(moto_endpoint, cut_after=20 * MiB)
    yield relay
    relay.close()


def test_dropped_connection_resumes_on_the_same_version(
    proxy: CuttingProxy, s3_store: S3Store, make_s3_store, s3_bucket: str
) -> None:
    old = os.urandom(30 * MiB)
    s3_store.put("objects/a", io.BytesIO(old))
    through_proxy = S3Store(
        s3_bucket,
        endpoint_url=proxy.endpoint,
        region="us-east-1",
        path_style=True,
        access_key="testing",
        secret_key="testing",
    )

    with through_proxy.open("objects/a") as reader:
        # The receiver buffers far less than 20 MiB ahead, so the cut (and the
        # resume) comes after this overwrite: the resume must ask for the old version.
        s3_store.put("objects/a", io.BytesIO(os.urandom(30 * MiB)))
        data = reader.read()

    assert proxy.cuts == 1
    assert data == old


def _download_threads() -> int:
    return sum(thread.name == "s3-download" for thread in threading.enumerate())


def test_abandoned_download_stops_its_receiver(s3_store: S3Store) -> None:
    s3_store.put("objects/a", io.BytesIO(os.urandom(20 * MiB)))
    before = _download_threads()

    reader = s3_store.open("objects/a")
    reader.read(10)
    reader.close()

    deadline = time.monotonic() + 20
    while _download_threads() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _download_threads() == before
