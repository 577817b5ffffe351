"""The viewing copy staff see instead of the original upload.

The original is untrusted, so it is never parsed in this process: a child
process (`registry.documents.converter`) with its own memory, CPU and output
limits renders it, and this side enforces the wall clock and trusts nothing the
child says beyond a reason key, whole numbers and a file it wrote in `workdir`.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from registry.documents.converter import COPY_SUFFIX
from registry.documents.inspection import ALLOWED_TYPES, REFUSALS, FileRefused, canonical_type, refusal

logger = logging.getLogger(__name__)

CONVERTER_MODULE = "registry.documents.converter"
COPY_STEM = "viewing-copy"
_CONVERTIBLE = frozenset().union(*ALLOWED_TYPES.values())
_IMPORT_ROOT = str(Path(__file__).resolve().parents[2])  # the directory holding `registry/`
_STDERR_TAIL = 4000


@dataclass(frozen=True)
class ConversionLimits:
    """What one conversion may use. 150 dpi keeps print legible; 120 megapixels
    admits 108 MP phone photos; pages bigger than 40 megapixels are rendered at a
    lower DPI instead of refused."""

    memory_mb: int = 1024
    cpu_seconds: int = 60
    wall_seconds: int = 120
    max_pages: int = 500
    dpi: int = 150
    max_image_pixels: int = 120_000_000
    max_copy_pixels: int = 40_000_000
    max_output_mb: int = 512


# A file whose copy is estimated at this many times the CPU seconds a copy may use is refused at
# upload: the estimate is rough (a faster machine, a simpler drawing), but not by an order of magnitude.
FAR_BEYOND = 10


@dataclass(frozen=True)
class Inspection:
    """What the upload learned by opening its file: pages, and the estimated CPU milliseconds of its copy."""

    pages: int | None
    cost: int


@dataclass
class ViewingCopy:
    path: str
    content_type: str
    pages: int | None
    width: int | None
    height: int | None


def inspect_original(
    original_path: str,
    content_type: str,
    workdir: str,
    *,
    limits: ConversionLimits = ConversionLimits(),
) -> Inspection:
    """Open the upload in the child as the copy will, without rendering; count its pages and estimate its copy.

    What cannot be opened at all (broken, locked, too many pages, a decompression
    bomb), or would take far longer to draw than a copy may, is refused here, while
    the clerk is still waiting; the copy is made later.
    """
    outcome = _run_converter(_request(original_path, content_type, workdir, inspect=True), limits)
    if outcome.get("ok") is not True:
        raise _reported_refusal(outcome)
    pages, cost = outcome.get("pages"), outcome.get("cost")
    if not (_whole_or_none(pages) and isinstance(cost, int) and not isinstance(cost, bool) and cost >= 0):
        raise refusal("conversion_error")
    if cost > FAR_BEYOND * limits.cpu_seconds * 1000:
        logger.info("refused a %s whose copy is estimated at %d s of CPU", content_type, cost // 1000)
        raise refusal("too_complex")
    return Inspection(pages, cost)


def make_viewing_copy(
    original_path: str,
    content_type: str,
    workdir: str,
    *,
    limits: ConversionLimits = ConversionLimits(),
) -> ViewingCopy:
    """Write a safe copy of the original into `workdir`; raise FileRefused if none can be made.

    `content_type` is the sniffed one (see inspection.sniff_content_type). The
    original is only read.
    """
    request = _request(original_path, content_type, workdir, inspect=False)
    try:
        return _accepted_copy(_run_converter(request, limits), request["stem"])
    except FileRefused:
        _remove_partial_copies(request["stem"])
        raise


def _request(original_path: str, content_type: str, workdir: str, *, inspect: bool) -> dict[str, Any]:
    content_type = canonical_type(content_type)
    if content_type not in _CONVERTIBLE:
        raise refusal("not_convertible")
    if os.path.getsize(original_path) == 0:
        raise refusal("empty_file")
    return {
        "source": os.path.abspath(original_path),
        "content_type": content_type,
        "stem": os.path.join(os.path.abspath(workdir), COPY_STEM),
        "inspect": inspect,
    }


class _SpareConverter:
    """One converter child started ahead of need, per process and limits.

    Python and the parsers take a quarter second of CPU to load; the spare loads
    them (at low priority) between uploads, not while a clerk waits. It is made
    ready only when asked (``prepare_converter``, by the copy thread once it is
    idle): replaced as soon as it was taken, the next one loaded while the upload
    that took it was still storing its original, and slowed that upload down.
    Each child still converts one file only and exits: nothing of one file can
    reach the next.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spare: tuple[int, ConversionLimits, subprocess.Popen[bytes]] | None = None

    def take(self, limits: ConversionLimits) -> subprocess.Popen[bytes]:
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None and self._fits(spare, limits):
            return spare[2]
        if spare is not None and spare[0] == os.getpid():
            _dismiss(spare[2])
        return _start_converter(limits)

    def prepare(self, limits: ConversionLimits) -> None:
        with self._lock:
            if self._spare is not None and self._fits(self._spare, limits):
                return
            stale, self._spare = self._spare, (os.getpid(), limits, _start_converter(limits))
        if stale is not None and stale[0] == os.getpid():
            _dismiss(stale[2])

    @staticmethod
    def _fits(spare: tuple[int, ConversionLimits, subprocess.Popen[bytes]], limits: ConversionLimits) -> bool:
        """Ours (not inherited across a fork), for these limits, and still alive."""
        pid, spare_limits, process = spare
        return pid == os.getpid() and spare_limits == limits and process.poll() is None


_spares = _SpareConverter()


def prepare_converter(limits: ConversionLimits) -> None:
    """Have a converter child ready for the next file (call when this process is otherwise idle)."""
    _spares.prepare(limits)


def _start_converter(limits: ConversionLimits) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", CONVERTER_MODULE, json.dumps(asdict(limits))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=_IMPORT_ROOT,
        env=_child_environment(),
        start_new_session=True,  # a terminal's Ctrl-C is for the server, not for the child
    )


def _dismiss(process: subprocess.Popen[bytes]) -> None:
    _kill_group(process)
    process.communicate()


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """The child leads its own process group: whatever it started goes with it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _run_converter(request: dict[str, Any], limits: ConversionLimits) -> dict[str, Any]:
    process = _spares.take(limits)
    try:
        stdout, stderr = process.communicate(json.dumps(request).encode() + b"\n", timeout=limits.wall_seconds)
    except subprocess.TimeoutExpired:
        _dismiss(process)
        logger.warning("viewing copy of %s: stopped after %s s", request["content_type"], limits.wall_seconds)
        raise refusal("timed_out", seconds=limits.wall_seconds) from None
    finally:
        _kill_group(process)  # nothing a converted file set running outlives its child
    return _reported_outcome(process.returncode, stdout, stderr, request["content_type"])


def _child_environment() -> dict[str, str]:
    """Nothing of the server's environment (database URL, storage keys) reaches the child."""
    return {
        "PATH": os.defpath,
        "LC_ALL": "C.UTF-8",
        "MALLOC_ARENA_MAX": "2",  # glibc reserves 64 MiB of address space per arena
    }


@functools.cache
def _warn_unconfined(landlock: int, seccomp: bool) -> None:
    """Once per process and gap: the operator should know what the converter's sandbox lacks (documents.sandbox)."""
    missing = (
        []
        if landlock
        else [
            "Landlock (Linux 5.13+ with the Landlock LSM, not forbidden by a container's "
            "seccomp profile): a parser exploit could read what the server reads"
        ]
    )
    missing += (
        []
        if seccomp
        else [
            "seccomp (libseccomp.so.2): a parser exploit could use sockets, change file "
            "modes and signal other processes"
        ]
    )
    logger.warning("converter children run without %s", "; without ".join(missing))


def _reported_outcome(returncode: int, stdout: bytes, stderr: bytes, content_type: str) -> dict[str, Any]:
    """The child's one JSON line; a dead or babbling child is a refusal, never a crash."""
    tail = stderr[-_STDERR_TAIL:].decode(errors="replace")
    if returncode != 0:
        cause = f"signal {-returncode}" if returncode < 0 else f"exit status {returncode}"
        logger.warning("viewing copy of %s: converter died (%s)\n%s", content_type, cause, tail)
        raise refusal("limits_exceeded" if returncode < 0 else "conversion_error")
    try:
        outcome = json.loads(stdout.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        outcome = None
    if not isinstance(outcome, dict):
        logger.warning("viewing copy of %s: converter gave no report\n%s", content_type, tail)
        raise refusal("conversion_error")
    landlock, seccomp = outcome.get("landlock") or 0, bool(outcome.get("seccomp"))
    if not (landlock and seccomp):
        _warn_unconfined(landlock, seccomp)
    unexpected = outcome.get("reason") == "conversion_error"
    logger.log(
        logging.WARNING if unexpected else logging.DEBUG,
        "viewing copy of %s: %s\n%s",
        content_type,
        outcome.get("reason", "converted"),
        tail,
    )
    return outcome


def _accepted_copy(outcome: dict[str, Any], stem: str) -> ViewingCopy:
    if outcome.get("ok") is not True:
        raise _reported_refusal(outcome)
    content_type = outcome.get("content_type")
    numbers = [outcome.get(field) for field in ("pages", "width", "height")]
    if content_type not in COPY_SUFFIX or not all(_whole_or_none(number) for number in numbers):
        raise refusal("conversion_error")
    path = stem + COPY_SUFFIX[content_type]
    if not os.path.isfile(path) or os.path.getsize(path) == 0:
        raise refusal("conversion_error")
    return ViewingCopy(path, content_type, *numbers)


def _reported_refusal(outcome: dict[str, Any]) -> FileRefused:
    """Rebuild the refusal from our own wording; the child only names the reason."""
    reason, params = outcome.get("reason"), outcome.get("params")
    if reason in REFUSALS and isinstance(params, dict) and all(_whole(value) for value in params.values()):
        try:
            return refusal(reason, **params)
        except (KeyError, IndexError, ValueError):
            pass
    return refusal("conversion_error")


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _whole_or_none(value: Any) -> bool:
    return value is None or _whole(value)


def _remove_partial_copies(stem: str) -> None:
    for suffix in set(COPY_SUFFIX.values()):
        Path(stem + suffix).unlink(missing_ok=True)
