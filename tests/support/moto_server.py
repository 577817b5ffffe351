"""Start a moto S3 server on a free loopback port, over real HTTP.

A separate process rather than moto's in-process thread: the server then has
its own interpreter (no GIL contention with the client under test), and a
startup failure shows up as an exit with a log instead of a hang.
"""

from __future__ import annotations

import ctypes
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

_START_ATTEMPTS = 3
_START_TIMEOUT = 30.0
_PR_SET_PDEATHSIG = 1


def start_moto_server() -> tuple[str, Callable[[], None]]:
    """Return ``(endpoint_url, stop)``; raise RuntimeError if moto cannot start."""
    failures = []
    for _ in range(_START_ATTEMPTS):
        port = _free_port()
        log = tempfile.TemporaryFile()
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        if _wait_until_listening(process, port):
            return f"http://127.0.0.1:{port}", _stopper(process, log)
        _stop(process)
        log.seek(0)
        failures.append(log.read()[-2000:].decode(errors="replace"))
        log.close()
    raise RuntimeError("moto server did not start:\n" + "\n---\n".join(failures))


def _die_with_parent() -> None:
    """Linux: SIGTERM to the server if the starting thread dies without stopping it."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_listening(process: subprocess.Popen[bytes], port: int) -> bool:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _stopper(process: subprocess.Popen[bytes], log: object) -> Callable[[], None]:
    def stop() -> None:
        _stop(process)
        log.close()  # type: ignore[attr-defined]

    return stop
