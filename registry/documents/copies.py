"""Viewing copies, made after the upload has answered.

An upload is stored and answered once its file has been opened in the limited
child (a broken, locked or oversized file is refused while the clerk waits);
rendering its pages to pixels takes seconds per scanned page, so that happens
here, off the request: a few threads in each server process, with the database
as the queue. The upload estimated what its copy costs to draw: heavy copies
(minutes of CPU: hundreds of pages, or pages full of drawing) have a lane of
their own, so they never hold up the light ones, and no process runs more
converter children at once than ``REGISTRY_CONVERTER_CHILDREN``. A job is
claimed in its version row. A process that dies in the
middle leaves a claim that expires after the lease; the next sweep (every
``REGISTRY_COPY_SWEEP_SECONDS`` in every server process, or ``registry copies
make``) takes the job up again from the stored original.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from registry.db import on_rollback
from registry.documents.binding import ORIGINAL, VIEWING, object_context
from registry.documents.inspection import FileRefused
from registry.documents.models import DocumentVersion, StoredObject, ViewingStatus
from registry.documents.viewing_copy import ConversionLimits, ViewingCopy, make_viewing_copy, prepare_converter
from registry.holds import coverage
from storage import EncryptedStore, ObjectInfo, StorageError

log = logging.getLogger("registry.documents.copies")
CHUNK = 1024 * 1024
SWEEP_BATCH = 100
LIGHT, HEAVY = "light", "heavy"
# A copy estimated at more CPU milliseconds than this is heavy: a light one is done in seconds.
HEAVY_COST = 10_000


def lane_of(cost: int | None) -> str:
    """Versions uploaded before there was an estimate (None) were ordinary uploads: light."""
    return HEAVY if cost is not None and cost > HEAVY_COST else LIGHT


@dataclass(frozen=True)
class CopyPolicy:
    workdir: str
    limits: ConversionLimits = ConversionLimits()
    children: int = 2  # converter children drawing copies at once in one process (REGISTRY_CONVERTER_CHILDREN)

    @property
    def lease(self) -> timedelta:
        """Longer than any one job may take: the child's wall clock, plus fetching and storing."""
        return timedelta(seconds=2 * self.limits.wall_seconds + 300)


@dataclass(frozen=True)
class _Job:
    version_id: str
    claim: str
    content_type: str
    key: str
    key_id: str
    wrapped_key: str
    fingerprint: str
    document_id: str
    number: int

    def context(self, role: str) -> str:
        return object_context(self.document_id, self.number, role)


def store_file(store: EncryptedStore, path: str, context: str) -> ObjectInfo:
    """Encrypt and store a file under a fresh key that says nothing about it, bound to what it is
    (``binding.object_context``); safe off the request thread."""
    with open(path, "rb") as fh:
        return store.put(f"objects/{uuid.uuid4()}", fh, length=os.path.getsize(path), context=context)


def make_copy(
    sessions: sessionmaker[Session],
    store: EncryptedStore,
    policy: CopyPolicy,
    version_id: str,
    spooled: str | None = None,
) -> str | None:
    """Make one pending version's viewing copy and return the version's status;
    None when the job is not (or no longer) this worker's.

    ``spooled`` is the upload's own file when the same process made it; otherwise
    the original is read back from the store, decrypted and verified.
    """
    job = _claim(sessions, version_id, policy.lease)
    if job is None:
        return None
    os.makedirs(policy.workdir, mode=0o700, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(dir=policy.workdir) as work:
            source = spooled if spooled and os.path.isfile(spooled) else _fetch_original(store, job, work)
            try:
                copy = make_viewing_copy(source, job.content_type, work, limits=policy.limits)
            except FileRefused as refused:
                return _finish(sessions, store, job, failure=refused)
            return _finish(sessions, store, job, made=(copy, store_file(store, copy.path, job.context(VIEWING))))
    except (StorageError, OSError, SQLAlchemyError):
        log.exception("viewing copy of version %s: will be tried again by the next sweep", version_id)
        _release(sessions, job)
        return ViewingStatus.PENDING


def _claim(sessions: sessionmaker[Session], version_id: str, lease: timedelta) -> _Job | None:
    now = datetime.now(UTC)
    claim = str(uuid.uuid4())
    with sessions() as db:
        taken = db.execute(
            sa.update(DocumentVersion)
            .where(DocumentVersion.id == version_id, _waiting(now, lease))
            .values(viewing_claim=claim, viewing_claimed_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not taken:
            db.rollback()
            return None
        version = db.get(DocumentVersion, version_id)
        assert version is not None
        original = version.original
        job = _Job(
            version_id,
            claim,
            version.content_type,
            original.key,
            original.key_id,
            original.wrapped_key,
            original.fingerprint,
            version.document_id,
            version.number,
        )
        db.commit()
    return job


def _fetch_original(store: EncryptedStore, job: _Job, work: str) -> str:
    path = os.path.join(work, "original")
    with (
        store.open(
            job.key,
            key_id=job.key_id,
            wrapped_key=job.wrapped_key,
            expected_fingerprint=job.fingerprint,
            context=job.context(ORIGINAL),
        ) as src,
        open(path, "wb") as out,
    ):
        shutil.copyfileobj(src, out, CHUNK)
    return path


def _finish(
    sessions: sessionmaker[Session],
    store: EncryptedStore,
    job: _Job,
    *,
    made: tuple[ViewingCopy, ObjectInfo] | None = None,
    failure: FileRefused | None = None,
) -> str | None:
    """Record the outcome if the claim is still ours; a copy nobody records is deleted again."""
    with sessions() as db:
        try:
            return _record_outcome(db, store, job, made, failure)
        except BaseException:
            db.rollback()  # closing alone would not delete the copy stored for this row
            raise


def _record_outcome(
    db: Session,
    store: EncryptedStore,
    job: _Job,
    made: tuple[ViewingCopy, ObjectInfo] | None,
    failure: FileRefused | None,
) -> str | None:
    values: dict[str, object] = {"viewing_claim": None, "viewing_claimed_at": None}
    if made is not None:
        copy, info = made
        on_rollback(db, lambda: store.delete(info.key))
        viewing = StoredObject(
            key=info.key,
            size=info.size,
            fingerprint=info.fingerprint,
            key_id=info.key_id,
            wrapped_key=info.wrapped_key,
            content_type=copy.content_type,
        )
        db.add(viewing)
        db.flush()
        values.update(viewing_status=ViewingStatus.READY, viewing_id=viewing.id, pages=copy.pages)
    else:
        assert failure is not None
        log.warning("viewing copy of version %s: %s (%s)", job.version_id, failure.reason, failure.message)
        values.update(
            viewing_status=ViewingStatus.FAILED,
            viewing_problem=json.dumps({"reason": failure.reason or "conversion_error", "params": failure.params}),
        )
    recorded = db.execute(
        sa.update(DocumentVersion)
        .where(DocumentVersion.id == job.version_id, DocumentVersion.viewing_claim == job.claim)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not recorded:
        log.warning("viewing copy of version %s: another worker took the job over", job.version_id)
        db.rollback()
        return None
    if made is not None:
        coverage.sync_store_holds(db, store, [job.document_id])  # a held document's copy is held too
    db.commit()
    return str(values["viewing_status"])


def _release(sessions: sessionmaker[Session], job: _Job) -> None:
    """Give the job up after a failure of the store or the disk. Its claim time stays: the next
    attempt waits a lease, so a version that keeps failing does not crowd out newer uploads."""
    try:
        with sessions() as db:
            db.execute(
                sa.update(DocumentVersion)
                .where(DocumentVersion.id == job.version_id, DocumentVersion.viewing_claim == job.claim)
                .values(viewing_claim=None)
                .execution_options(synchronize_session=False)
            )
            db.commit()
    except SQLAlchemyError:
        log.exception("could not release the claim on version %s; it expires by itself", job.version_id)


def waiting_versions(
    sessions: sessionmaker[Session], lease: timedelta, limit: int = SWEEP_BATCH
) -> list[tuple[str, int | None]]:
    """Pending versions no live worker holds, with their estimated cost: the lightest first, then the oldest
    (heavy jobs that keep failing cannot fill a batch and hide light ones)."""
    with sessions() as db:
        return [
            (version_id, cost)
            for version_id, cost in db.execute(
                sa.select(DocumentVersion.id, DocumentVersion.copy_cost)
                .where(_waiting(datetime.now(UTC), lease))
                .order_by(sa.func.coalesce(DocumentVersion.copy_cost, 0), DocumentVersion.uploaded_at)
                .limit(limit)
            )
        ]


def _waiting(now: datetime, lease: timedelta) -> sa.ColumnElement[bool]:
    """Pending, and nobody's: never claimed, or the last claim (or failed attempt) is a lease old."""
    return sa.and_(
        DocumentVersion.viewing_status == ViewingStatus.PENDING,
        sa.or_(DocumentVersion.viewing_claimed_at.is_(None), DocumentVersion.viewing_claimed_at < now - lease),
    )


class _Lane:
    """The threads that draw copies of one weight."""

    def __init__(self, name: str, threads: int) -> None:
        self.threads = threads
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix=f"viewing-copy-{name}")


def _lane_sizes(threads: int, children: int) -> dict[str, int]:
    """``threads`` draw light copies, but never all ``children``: one more child is kept for heavy ones.
    With a single child there is no heavy lane: heavy copies are left to `registry copies make` or another
    process, because one heavy file in the only lane would hold every upload's copy for minutes."""
    if threads == 0:
        return {}
    sizes = {LIGHT: max(1, min(threads, children - 1))}
    if children >= 2:
        sizes[HEAVY] = 1
    return sizes


class ViewingCopies:
    """The queue of one process: lanes of threads that make copies, and a sweeper that finds forgotten jobs.

    A spooled upload (plaintext) is kept for a job only if a thread of its lane starts on it at once; a job
    that has to wait reads the original back from the store instead, so waiting uploads never pile up
    on disk.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        store: Callable[[], EncryptedStore],
        policy: CopyPolicy,
        *,
        threads: int,
        sweep_seconds: int,
    ) -> None:
        self.sessions = sessions
        self.store = store
        self.policy = policy
        self.lanes = {name: _Lane(name, size) for name, size in _lane_sizes(threads, policy.children).items()}
        self._queued: dict[str, tuple[Future[str | None], str | None, _Lane]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        clear_leftovers(policy)
        if LIGHT in self.lanes:
            self.lanes[LIGHT].pool.submit(self._prepare_converter)
            if HEAVY not in self.lanes:
                log.warning(
                    "REGISTRY_CONVERTER_CHILDREN is 1: this process makes no heavy viewing copy; "
                    "run `registry copies make --follow` for them, or allow 2 children"
                )
            if sweep_seconds > 0:
                threading.Thread(
                    target=self._sweep_every, args=(sweep_seconds,), name="viewing-copy-sweep", daemon=True
                ).start()

    def submit(self, version_id: str, spooled: str | None = None, *, cost: int | None = None) -> None:
        """Queue a copy (after the upload committed) in the lane its estimated ``cost`` calls for;
        without such a lane here the sweep of another process or the CLI makes it."""
        with self._lock:
            lane = self.lanes.get(lane_of(cost))
            if lane is None or version_id in self._queued or self._stop.is_set():
                _remove(spooled)
                return
            if sum(queued[2] is lane for queued in self._queued.values()) >= lane.threads:
                _remove(spooled)  # no thread of the lane is free: do not keep plaintext waiting
                spooled = None
            self._queued[version_id] = (lane.pool.submit(self._run, version_id, spooled), spooled, lane)

    def _run(self, version_id: str, spooled: str | None) -> str | None:
        try:
            return make_copy(self.sessions, self.store(), self.policy, version_id, spooled)
        except Exception:
            log.exception("viewing copy of version %s failed unexpectedly", version_id)
            return None
        finally:
            _remove(spooled)
            with self._lock:
                self._queued.pop(version_id, None)
            self._prepare_converter()

    def _prepare_converter(self) -> None:
        """Between jobs, not during an upload: the next upload opens its file without waiting for Python."""
        try:
            prepare_converter(self.policy.limits)
        except OSError:
            log.exception("could not start a converter ahead of need; the next file starts its own")

    def sweep(self) -> int:
        """Queue every forgotten job; returns how many were found."""
        clear_leftovers(self.policy)
        waiting = waiting_versions(self.sessions, self.policy.lease)
        for version_id, cost in waiting:
            self.submit(version_id, cost=cost)
        return len(waiting)

    def _sweep_every(self, seconds: int) -> None:
        while not self._stop.wait(seconds):
            try:
                self.sweep()
            except (SQLAlchemyError, OSError):
                log.exception("the viewing-copy sweep failed; next try in %s s", seconds)

    def make_waiting(self) -> Counter[str]:
        """Make every waiting copy in this thread, the lightest first (the CLI, or a server without copy threads)."""
        outcomes: Counter[str] = Counter()
        seen: set[str] = set()
        while ids := [i for i, _cost in waiting_versions(self.sessions, self.policy.lease) if i not in seen]:
            for version_id in ids:
                seen.add(version_id)
                outcomes[make_copy(self.sessions, self.store(), self.policy, version_id) or "taken"] += 1
        return outcomes

    def running(self) -> int:
        """Copies queued or being drawn in this process (each draws in one converter child)."""
        with self._lock:
            return len(self._queued)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until the queued copies are made (tests, the demo); False on time-out."""
        with self._lock:
            futures = [queued[0] for queued in self._queued.values()]
        return not wait_for(futures, timeout=timeout).not_done

    def close(self) -> None:
        """Stop: jobs not started are dropped with their spooled uploads (the sweep finds them again)."""
        self._stop.set()
        with self._lock:
            for future, spooled, _lane in self._queued.values():
                if future.cancel():
                    _remove(spooled)
        for lane in self.lanes.values():
            lane.pool.shutdown(wait=True)


def clear_leftovers(policy: CopyPolicy) -> None:
    """Remove what a killed process left in the upload folder (spools, handed-over uploads, work folders).

    Nothing there lives longer than a lease: a request or a copy job that old was killed.
    """
    cutoff = (datetime.now(UTC) - policy.lease).timestamp()
    try:
        entries = list(os.scandir(policy.workdir))
    except FileNotFoundError:
        return
    for entry in entries:
        try:
            if entry.stat(follow_symlinks=False).st_mtime >= cutoff:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                os.unlink(entry.path)
            log.warning("removed %s, left in the upload folder by a process that was stopped", entry.name)
        except FileNotFoundError:
            continue


def _remove(path: str | None) -> None:
    if path:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
