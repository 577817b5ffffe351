"""Objects in an S3-compatible bucket (AWS, MinIO, Ceph RGW) through boto3.

An upload of a known length up to ``single_put_max`` from a seekable stream is
one PutObject streamed from the stream, holding no part buffers: botocore reads
the body twice (once to sign its SHA-256, once to send it), and that still beats
multipart's three or more requests (about 1.5x on moto for 50 MiB). Other
uploads larger than one part are multipart: the caller's thread reads (and, for
``EncryptedStore``, encrypts and hashes) the next part while a small thread pool
sends earlier ones, with a bounded number of parts in flight so memory stays
flat whatever the object size. Any failure aborts the upload: no half object
appears under the key. A download is one streaming GET received by a background
thread into a bounded queue, so network and decryption overlap; a dropped
connection resumes with a ranged GET pinned to the same version. (Parallel
ranged GETs were measured: on a loopback Ceph RGW they cost more client CPU for
less throughput, and emulators re-read the whole object for every range.)

Request checksums are only sent where S3 requires them: several S3-compatible
servers reject the newer default checksum headers, and integrity is covered
anyway (SigV4 signs the payload hash, TLS protects HTTPS, and the
encryption layer authenticates every segment).
"""

from __future__ import annotations

import io
import logging
import queue
import secrets
import threading
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO

import boto3
import botocore.exceptions
import urllib3.exceptions
from botocore.config import Config

from storage.base import (
    LockMode,
    ObjectVersion,
    RawObjectInfo,
    WormStatus,
    validate_key,
    validate_metadata,
)
from storage.errors import (
    LockUnsupported,
    ObjectNotFound,
    StorageError,
    StorageUnavailable,
)

log = logging.getLogger(__name__)

MiB = 1024 * 1024
DEFAULT_PART_SIZE = 8 * MiB
MIN_PART_SIZE = 5 * MiB
MAX_PARTS = 10_000
MAX_SINGLE_PUT = MAX_COPY_SIZE = 5 * 1024 * MiB  # S3's limit for one PutObject / CopyObject
DEFAULT_SINGLE_PUT_MAX = 64 * MiB
DOWNLOAD_CHUNK = 1 * MiB
DOWNLOAD_BUFFER = 8 * MiB
MAX_RESUMES = 3
SELFTEST_PREFIX = "selftest/"
_NOT_FOUND_CODES = {"404", "NoSuchKey", "NotFound", "NoSuchVersion"}
_UNREACHABLE = (
    botocore.exceptions.EndpointConnectionError,
    botocore.exceptions.ConnectTimeoutError,
    botocore.exceptions.ReadTimeoutError,
    botocore.exceptions.ConnectionClosedError,
)
_BROKEN_BODY = (
    botocore.exceptions.BotoCoreError,
    urllib3.exceptions.HTTPError,
    OSError,
)
_NO_CREDENTIALS = (
    botocore.exceptions.NoCredentialsError,
    botocore.exceptions.PartialCredentialsError,
)
_CREDENTIALS_HINT = (
    "no S3 credentials: give access_key and secret_key in the storage URL "
    "or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
)


class S3Store:
    """Object store on one S3 bucket."""

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        path_style: bool = False,
        access_key: str | None = None,
        secret_key: str | None = None,
        part_size: int = DEFAULT_PART_SIZE,
        single_put_max: int = DEFAULT_SINGLE_PUT_MAX,
        transfer_threads: int = 4,
        parts_in_flight: int = 4,
        connect_timeout: float = 5,
        read_timeout: float = 60,
        max_attempts: int = 3,
    ) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part size must be at least {MIN_PART_SIZE} bytes (S3 minimum)")
        if parts_in_flight < 1 or transfer_threads < 1:
            raise ValueError("parts_in_flight and transfer_threads must be at least 1")
        if not 0 <= single_put_max <= MAX_SINGLE_PUT:
            raise ValueError(f"single_put_max must be 0..{MAX_SINGLE_PUT} bytes (S3's limit)")
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self.part_size = part_size
        self.single_put_max = single_put_max
        self.transfer_threads = transfer_threads
        self.parts_in_flight = parts_in_flight
        self._lock_enabled = False
        session = boto3.session.Session(
            aws_access_key_id=access_key, aws_secret_access_key=secret_key, region_name=region
        )

        def client(connect: float, read: float, attempts: int) -> Any:
            config = Config(
                s3={"addressing_style": "path" if path_style else "auto"},
                connect_timeout=connect,
                read_timeout=read,
                retries={"max_attempts": attempts, "mode": "standard"},
                max_pool_connections=max(10, 2 * transfer_threads),
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            )
            return session.client("s3", endpoint_url=endpoint_url, config=config)

        self._client = client(connect_timeout, read_timeout, max_attempts)
        # health() must answer fast when the server is down: one try, short timeouts.
        self._probe_client = client(min(connect_timeout, 2), min(read_timeout, 5), 1)

    def __repr__(self) -> str:
        return f"S3Store(bucket={self.bucket!r}, endpoint_url={self.endpoint_url!r})"

    # -- writing ---------------------------------------------------------------

    def put(
        self,
        key: str,
        stream: BinaryIO,
        length: int | None = None,
        metadata: dict[str, str] | None = None,
    ) -> RawObjectInfo:
        validate_key(key)
        checked = validate_metadata(metadata)
        if length is not None and length <= self.single_put_max and _is_seekable(stream):
            return self._put_streamed(key, stream, length, checked)
        part_size = self._part_size_for(length)
        first = _read_part(stream, part_size)
        if len(first) < part_size:
            _check_length(len(first), length)
            with self._errors(key):
                response = self._client.put_object(Bucket=self.bucket, Key=key, Body=first, Metadata=checked)
            return RawObjectInfo(key, len(first), response.get("VersionId"))
        return self._put_multipart(key, stream, first, part_size, length, checked)

    def _put_streamed(self, key: str, stream: BinaryIO, length: int, metadata: dict[str, str]) -> RawObjectInfo:
        """One PutObject whose body botocore reads from the stream: nothing is buffered.

        botocore reads the body to sign its SHA-256, seeks back, sends it, and seeks
        back again before a retry: hence a seekable stream (an ``EncryptingReader``
        re-encrypts the same bytes). ``_ExactBody`` fails the request before its
        last byte if the stream is not ``length`` bytes long.
        """
        body = _ExactBody(stream, length)
        with self._errors(key):
            response = self._client.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentLength=length, Metadata=metadata
            )
        return RawObjectInfo(key, length, response.get("VersionId"))

    def _part_size_for(self, length: int | None) -> int:
        """Grow parts for announced huge objects so they fit in S3's 10,000 parts."""
        if length is None:
            return self.part_size
        return max(self.part_size, -(-length // MAX_PARTS))

    def _put_multipart(
        self,
        key: str,
        stream: BinaryIO,
        first: bytearray,
        part_size: int,
        length: int | None,
        metadata: dict[str, str],
    ) -> RawObjectInfo:
        with self._errors(key):
            upload_id = self._client.create_multipart_upload(Bucket=self.bucket, Key=key, Metadata=metadata)["UploadId"]
        try:
            parts, size = self._upload_parts(key, upload_id, stream, first, part_size)
            _check_length(size, length)
            with self._errors(key):
                response = self._client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                )
        except BaseException:
            self._abort(key, upload_id)
            raise
        # Not the ETag: Ceph RGW answers CompleteMultipartUpload with an empty one.
        return RawObjectInfo(key, size, response.get("VersionId"))

    def _upload_parts(
        self, key: str, upload_id: str, stream: BinaryIO, first: bytearray, part_size: int
    ) -> tuple[list[dict[str, Any]], int]:
        """Send parts while reading the next; at most ``parts_in_flight`` buffers exist.

        A slot is freed before the next part is read, so the part being filled
        counts against the limit too: memory is ``parts_in_flight * part_size``.
        """
        pool = ThreadPoolExecutor(self.transfer_threads, thread_name_prefix="s3-upload")
        in_flight: set[Future[dict[str, Any]]] = set()
        parts: list[dict[str, Any]] = []
        size = 0
        try:
            part, number = first, 1
            while part:
                if number > MAX_PARTS:
                    raise StorageError(f"object {key!r} needs more than {MAX_PARTS} parts")
                in_flight.add(pool.submit(self._upload_part, key, upload_id, number, [part]))
                size += len(part)
                number += 1
                del part  # the pool holds the only reference: freed once sent
                if len(in_flight) >= self.parts_in_flight:
                    done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                    parts.extend(future.result() for future in done)
                part = _read_part(stream, part_size)
            parts.extend(future.result() for future in in_flight)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return sorted(parts, key=lambda part: part["PartNumber"]), size

    def _upload_part(self, key: str, upload_id: str, number: int, holder: list[bytearray]) -> dict[str, Any]:
        """Send one part. It comes in a list emptied here, so the buffer is freed when
        this returns: the pool's work item outlives the call and would keep it alive."""
        body = holder.pop()
        with self._errors(key):
            response = self._client.upload_part(
                Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
            )
        return {"PartNumber": number, "ETag": response["ETag"]}

    def _abort(self, key: str, upload_id: str) -> None:
        try:
            self._client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except Exception:  # the original failure matters more; leave a trace for the operator
            log.warning("could not abort multipart upload %s of %r", upload_id, key, exc_info=True)

    # -- reading ---------------------------------------------------------------

    def open(self, key: str) -> BinaryIO:
        validate_key(key)
        with self._errors(key):
            response = self._client.get_object(Bucket=self.bucket, Key=key)
        return _StreamingReader(self, key, response)  # type: ignore[return-value]

    def _resume(self, key: str, offset: int, pin: dict[str, str]) -> Any:
        """Body of the same version from ``offset`` on, after a dropped connection."""
        with self._errors(key):
            return self._client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes={offset}-", **pin)["Body"]

    def exists(self, key: str) -> bool:
        try:
            self._head(key)
        except ObjectNotFound:
            return False
        return True

    def metadata(self, key: str) -> dict[str, str]:
        return dict(self._head(key).get("Metadata", {}))

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        paginator = self._client.get_paginator("list_objects_v2")
        with self._errors():
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for entry in page.get("Contents", []):
                    yield entry["Key"]

    def next_key(self, prefix: str, after: str) -> str | None:
        """One listing request, however many keys follow (S3 lists keys in byte order)."""
        with self._errors():
            page = self._client.list_objects_v2(Bucket=self.bucket, Prefix=prefix, StartAfter=after, MaxKeys=1)
        contents = page.get("Contents", [])
        return str(contents[0]["Key"]) if contents else None

    def iter_versions(self, prefix: str = "") -> Iterator[ObjectVersion]:
        """Every stored version and delete marker of the keys under ``prefix``.

        A plain DeleteObject on a versioned bucket only hides an object behind a
        delete marker: this listing still shows both.
        """
        paginator = self._client.get_paginator("list_object_versions")
        with self._errors():
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                for entry in page.get("Versions", []):
                    yield ObjectVersion(entry["Key"], entry["VersionId"], entry["IsLatest"], False)
                for entry in page.get("DeleteMarkers", []):
                    yield ObjectVersion(entry["Key"], entry["VersionId"], entry["IsLatest"], True)

    def open_version(self, key: str, version_id: str) -> BinaryIO:
        """A streaming reader of one version, hidden behind a delete marker or not."""
        validate_key(key)
        with self._errors(key):
            response = self._client.get_object(Bucket=self.bucket, Key=key, VersionId=version_id)
        return _StreamingReader(self, key, response)  # type: ignore[return-value]

    def keeps_versions(self) -> bool:
        """Whether the bucket keeps every version (a delete then leaves a marker, not nothing)."""
        with self._errors():
            answer = self._client.get_bucket_versioning(Bucket=self.bucket)
        return answer.get("Status") == "Enabled"

    def _head(self, key: str, **extra: str) -> dict[str, Any]:
        validate_key(key)
        with self._errors(key):
            head: dict[str, Any] = self._client.head_object(Bucket=self.bucket, Key=key, **extra)
        return head

    # -- changing ----------------------------------------------------------------

    def replace_metadata(self, key: str, metadata: dict[str, str]) -> None:
        """Server-side copy onto itself; the new version keeps the old retention."""
        checked = validate_metadata(metadata)
        head = self._head(key)
        if head["ContentLength"] > MAX_COPY_SIZE:
            raise StorageError(f"object {key!r} is larger than 5 GiB: metadata cannot be replaced")
        source = {"Bucket": self.bucket, "Key": key}
        if head.get("VersionId"):
            source["VersionId"] = head["VersionId"]
        with self._errors(key):
            copy = self._client.copy_object(
                Bucket=self.bucket,
                Key=key,
                CopySource=source,
                Metadata=checked,
                MetadataDirective="REPLACE",
            )
        until = head.get("ObjectLockRetainUntilDate")
        if head.get("ObjectLockMode") and until and until > datetime.now(UTC):
            # A separate call: lock headers on CopyObject need checksums some servers lack.
            with self._errors(key):
                self._client.put_object_retention(
                    Bucket=self.bucket,
                    Key=key,
                    # Ceph RGW's CopyObject answer carries no VersionId: the new version is the latest.
                    VersionId=copy.get("VersionId") or self._head(key)["VersionId"],
                    Retention={"Mode": head["ObjectLockMode"], "RetainUntilDate": until},
                )
        if head.get("ObjectLockLegalHoldStatus") == "ON":  # a held object stays held in its new version
            with self._errors(key):
                self._client.put_object_legal_hold(
                    Bucket=self.bucket,
                    Key=key,
                    VersionId=copy.get("VersionId") or self._head(key)["VersionId"],
                    LegalHold={"Status": "ON"},
                )

    def delete(self, key: str) -> None:
        """Delete every version of the key; refused for versions under retention."""
        validate_key(key)
        entries = list(self._versions(key))
        if not entries:
            raise ObjectNotFound(f"no object stored under {key!r}")
        for start in range(0, len(entries), 1000):
            batch = entries[start : start + 1000]
            with self._errors(key):
                response = self._client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            if errors := response.get("Errors"):
                codes = sorted({error.get("Code", "?") for error in errors})
                raise StorageError(
                    f"could not delete {len(errors)} version(s) of {key!r} ({', '.join(codes)}): "
                    "versions under Object Lock retention cannot be deleted before it ends"
                )

    def _versions(self, key: str) -> Iterator[dict[str, str]]:
        paginator = self._client.get_paginator("list_object_versions")
        with self._errors(key):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=key):
                for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
                    if entry["Key"] == key:
                        yield {"Key": key, "VersionId": entry["VersionId"]}

    def lock(self, key: str, until: datetime, mode: LockMode = "COMPLIANCE") -> None:
        if until.tzinfo is None:
            raise ValueError("retention date must be timezone-aware")
        validate_key(key)
        try:
            with self._errors(key):
                self._client.put_object_retention(
                    Bucket=self.bucket,
                    Key=key,
                    Retention={"Mode": mode, "RetainUntilDate": until},
                )
        except StorageError as exc:
            if _is_lock_missing(exc.__cause__):
                raise LockUnsupported(
                    f"bucket {self.bucket!r} has no Object Lock; it must be created with "
                    "object lock enabled to keep objects write-once"
                ) from exc
            raise

    def _stored_versions(self, key: str) -> list[str]:
        """The version ids of the key's stored versions (delete markers hold no bytes and no hold)."""
        found = []
        paginator = self._client.get_paginator("list_object_versions")
        with self._errors(key):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=key):
                found += [v["VersionId"] for v in page.get("Versions", []) if v["Key"] == key]
        return found

    def set_legal_hold(self, key: str, on: bool) -> None:
        """Object Lock legal hold ON or OFF on every stored version of the key: held on the newest
        version only, an older one (the key rewrapped) could still be deleted."""
        validate_key(key)
        versions = self._stored_versions(key)
        if not versions:
            raise ObjectNotFound(f"no object stored under {key!r}")
        for version_id in versions:
            try:
                with self._errors(key):
                    self._client.put_object_legal_hold(
                        Bucket=self.bucket,
                        Key=key,
                        VersionId=version_id,
                        LegalHold={"Status": "ON" if on else "OFF"},
                    )
            except StorageError as exc:
                if _is_lock_missing(exc.__cause__):
                    raise LockUnsupported(
                        f"bucket {self.bucket!r} has no Object Lock, so no legal hold; it must be "
                        "created with object lock enabled"
                    ) from exc
                raise

    def legal_hold(self, key: str) -> bool:
        """Whether any stored version of the key is under a legal hold."""
        validate_key(key)
        return any(
            self._head(key, VersionId=version_id).get("ObjectLockLegalHoldStatus") == "ON"
            for version_id in self._stored_versions(key)
        )

    def supports_legal_hold(self) -> bool:
        return self.supports_lock()

    def deletion_blocked(self, key: str) -> str | None:
        """The first stored version the server would refuse to delete: under a legal hold, or retained
        until a date still to come. None also when nothing is stored under the key."""
        validate_key(key)
        now = datetime.now(UTC)
        for version_id in self._stored_versions(key):
            head = self._head(key, VersionId=version_id)
            if head.get("ObjectLockLegalHoldStatus") == "ON":
                return f"version {version_id} of {key} is under the store's legal hold"
            until = head.get("ObjectLockRetainUntilDate")
            if until is not None and until > now:
                return f"version {version_id} of {key} is retained by the store until {until:%Y-%m-%d}"
        return None

    def supports_lock(self) -> bool:
        """Asked of the server once it says yes: Object Lock cannot be switched off again."""
        if self._lock_enabled:
            return True
        try:
            with self._errors():
                config = self._client.get_object_lock_configuration(Bucket=self.bucket)
        except StorageUnavailable:
            raise
        except StorageError:
            return False
        self._lock_enabled = config.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"
        return self._lock_enabled

    def ensure_container(self) -> None:
        """Create the bucket with Object Lock and versioning if it does not exist."""
        try:
            with self._errors():
                self._client.head_bucket(Bucket=self.bucket)
            return
        except StorageUnavailable as exc:
            if _code(exc.__cause__) not in {"404", "NoSuchBucket", "NotFound"}:
                raise
        options: dict[str, Any] = {"Bucket": self.bucket}
        region = self._client.meta.region_name
        if region and region != "us-east-1":
            options["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            self._create_bucket(ObjectLockEnabledForBucket=True, **options)
        except StorageUnavailable:
            raise
        except StorageError:
            log.warning("bucket %r: server refused Object Lock; creating it without", self.bucket)
            self._create_bucket(**options)
        with self._errors():
            self._client.put_bucket_versioning(Bucket=self.bucket, VersioningConfiguration={"Status": "Enabled"})

    def _create_bucket(self, **options: Any) -> None:
        try:
            with self._errors():
                self._client.create_bucket(**options)
        except StorageError as exc:
            if _code(exc.__cause__) != "BucketAlreadyOwnedByYou":
                raise

    # -- checking ----------------------------------------------------------------

    def health(self) -> None:
        where = f"bucket {self.bucket!r} at {self.endpoint_url or 'AWS S3'}"
        try:
            self._probe_client.head_bucket(Bucket=self.bucket)
        except _UNREACHABLE as exc:
            raise StorageUnavailable(f"cannot reach {where}: {exc}") from exc
        except _NO_CREDENTIALS as exc:
            raise StorageUnavailable(_CREDENTIALS_HINT) from exc
        except botocore.exceptions.ClientError as exc:
            code = _code(exc)
            if code in {"404", "NoSuchBucket", "NotFound"}:
                raise StorageUnavailable(f"{where} does not exist; create it first") from exc
            if code in {"403", "AccessDenied", "Forbidden"}:
                raise StorageUnavailable(f"access to {where} denied; check the credentials") from exc
            raise StorageUnavailable(f"{where} answered {code}: {exc}") from exc
        except botocore.exceptions.BotoCoreError as exc:
            raise StorageUnavailable(f"cannot use {where}: {exc}") from exc

    def worm_selftest(self) -> WormStatus:
        """Prove on a probe object that the server really enforces COMPLIANCE retention.

        Emulators accept Object Lock calls without enforcing all of them, so the
        answer comes from what the server refuses, not from its configuration.
        """
        if not self.supports_lock():
            return WormStatus("unavailable", f"bucket {self.bucket!r} has no Object Lock enabled")
        self._remove_expired_probes()
        now = datetime.now(UTC)
        key = f"{SELFTEST_PREFIX}worm-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"
        with self._errors(key):
            version = self._client.put_object(Bucket=self.bucket, Key=key, Body=b"worm probe").get("VersionId")
        if not version:
            return WormStatus("unavailable", f"bucket {self.bucket!r} does not keep versions")
        refused = self._refuses(
            self._client.put_object_retention,
            Bucket=self.bucket,
            Key=key,
            VersionId=version,
            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": now + timedelta(minutes=5)},
        )
        if refused:
            return WormStatus("unavailable", f"the server refused to set a retention: {refused}")
        findings = []
        deleted = not self._refuses(self._client.delete_object, Bucket=self.bucket, Key=key, VersionId=version)
        if deleted and not self._has_version(key, version):
            findings.append("it deleted a version under COMPLIANCE retention")
        if not self._refuses(
            self._client.put_object_retention,
            Bucket=self.bucket,
            Key=key,
            VersionId=version,
            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": now + timedelta(minutes=2)},
        ):
            findings.append("it accepted shortening a COMPLIANCE retention")
        if findings:
            return WormStatus("not_proven", "the server does not enforce WORM: " + "; ".join(findings))
        return WormStatus(
            "enforced",
            "the server refused to delete a locked version and to shorten its COMPLIANCE retention",
        )

    def _has_version(self, key: str, version_id: str) -> bool:
        try:
            self._head(key, VersionId=version_id)
        except ObjectNotFound:
            return False
        return True

    def _refuses(self, call: Any, **arguments: Any) -> str | None:
        """Run a request that a WORM server must refuse; return the refusal code or None."""
        try:
            with self._errors():
                call(**arguments)
        except StorageUnavailable:
            raise
        except StorageError as exc:
            cause = exc.__cause__
            status = getattr(cause, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if 400 <= status < 500:
                return _code(cause) or str(status)
            raise
        return None

    def _remove_expired_probes(self) -> None:
        """Keep ``selftest/`` small: delete probes whose retention has ended."""
        paginator = self._client.get_paginator("list_object_versions")
        with self._errors():
            for page in paginator.paginate(Bucket=self.bucket, Prefix=SELFTEST_PREFIX):
                for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
                    # Refused while still under retention: a later run retries.
                    with suppress(botocore.exceptions.ClientError):
                        self._client.delete_object(Bucket=self.bucket, Key=entry["Key"], VersionId=entry["VersionId"])

    @contextmanager
    def _errors(self, key: str | None = None) -> Iterator[None]:
        """Turn botocore failures into the storage errors callers understand."""
        try:
            yield
        except _UNREACHABLE as exc:
            raise StorageUnavailable(f"S3 endpoint {self.endpoint_url or 'AWS'} unreachable: {exc}") from exc
        except _NO_CREDENTIALS as exc:
            raise StorageUnavailable(_CREDENTIALS_HINT) from exc
        except botocore.exceptions.ClientError as exc:
            code = _code(exc)
            if code == "NoSuchBucket" or (code in _NOT_FOUND_CODES and key is None):
                raise StorageUnavailable(f"bucket {self.bucket!r} does not exist") from exc
            if code in _NOT_FOUND_CODES:
                raise ObjectNotFound(f"no object stored under {key!r}") from exc
            raise StorageError(f"S3 request failed for {key or self.bucket!r}: {code}: {exc}") from exc
        except botocore.exceptions.BotoCoreError as exc:
            raise StorageError(f"S3 client error: {exc}") from exc


class _StreamingReader(io.RawIOBase):
    """One GET, received by a background thread into a bounded queue of chunks.

    The network keeps flowing while the caller decrypts and hashes; memory is
    bounded by the queue. A dropped connection resumes with a ranged GET pinned
    to the same version, so a long download never mixes two versions.
    """

    def __init__(self, store: S3Store, key: str, response: dict[str, Any]) -> None:
        super().__init__()
        self._store, self._key = store, key
        self._size = response["ContentLength"]
        version = response.get("VersionId")
        self._pin = {"VersionId": version} if version else {"IfMatch": response["ETag"]}
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(1, DOWNLOAD_BUFFER // DOWNLOAD_CHUNK))
        self._closing = threading.Event()
        self._chunk = b""
        self._position = 0
        self._finished = False
        self._thread = threading.Thread(target=self._receive, args=(response["Body"],), name="s3-download", daemon=True)
        self._thread.start()

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return self.readall()
        if self._position >= len(self._chunk) and not self._next_chunk():
            return b""
        data = self._chunk[self._position : self._position + size]
        self._position += len(data)
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._closing.set()
            self._chunk = b""
            while not self._queue.empty():  # unblock the receiver so it can stop
                self._queue.get_nowait()
        super().close()

    def _next_chunk(self) -> bool:
        if self._finished:
            return False
        item = self._queue.get()
        if isinstance(item, BaseException):
            self._finished = True
            raise item
        if item is None:
            self._finished = True
            return False
        self._chunk, self._position = item, 0
        return True

    def _receive(self, body: Any) -> None:
        offset, resumes = 0, 0
        try:
            while offset < self._size and not self._closing.is_set():
                try:
                    chunk = body.read(min(DOWNLOAD_CHUNK, self._size - offset))
                except _BROKEN_BODY as exc:
                    if resumes >= MAX_RESUMES:
                        raise StorageUnavailable(
                            f"connection lost {resumes + 1} times reading {self._key!r}: {exc}"
                        ) from exc
                    resumes += 1
                    body.close()
                    body = self._store._resume(self._key, offset, self._pin)
                    continue
                offset += len(chunk)
                self._hand_over(chunk)
            self._hand_over(None)
        except BaseException as exc:  # handed to the reader, raised in its thread
            self._hand_over(exc)
        finally:
            body.close()

    def _hand_over(self, item: Any) -> None:
        while not self._closing.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                continue


class _ExactBody(io.RawIOBase):
    """The next ``length`` bytes of a seekable stream, as a request body.

    Positions count from where the stream stood (botocore rewinds a body to 0
    before a retry). A stream that ends early or holds more raises StorageError
    before the body's last byte is handed out, so the server never receives a
    complete request for a wrong object, and a short stream cannot leave it
    waiting for bytes that will never come.
    """

    def __init__(self, stream: BinaryIO, length: int) -> None:
        super().__init__()
        self._stream = stream
        self._readinto = _readinto_of(stream)
        self._start = stream.tell()
        self._length = length
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        bases = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._length}
        if whence not in bases or bases[whence] + offset < 0:
            raise ValueError(f"cannot seek to {offset} from {whence}")
        self._position = min(bases[whence] + offset, self._length)
        self._stream.seek(self._start + self._position)
        return self._position

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        wanted = min(len(buffer), self._length - self._position)
        if wanted <= 0:
            return 0
        count = self._readinto(memoryview(buffer)[:wanted])
        if not count:
            raise StorageError(f"stream gave {self._position} bytes, {self._length} were announced")
        self._position += count
        if self._position == self._length and self._stream.read(1):
            raise StorageError(f"stream gave more than the {self._length} bytes announced")
        return count


def _read_part(stream: BinaryIO, size: int) -> bytearray:
    """Fill one part buffer from the stream (short only at end of stream)."""
    part = bytearray(size)
    view = memoryview(part)
    readinto = _readinto_of(stream)
    filled = 0
    while filled < size:
        count = readinto(view[filled:])
        if not count:
            break
        filled += count
    view.release()
    del part[filled:]
    return part


def _is_seekable(stream: BinaryIO) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, OSError, ValueError):  # no such method, unsupported, closed
        return False


def _readinto_of(stream: BinaryIO) -> Any:
    return getattr(stream, "readinto", None) or _readinto_by_read(stream)


def _readinto_by_read(stream: BinaryIO) -> Any:
    """Adapt a stream that only has ``read`` (e.g. a hand-written wrapper)."""

    def readinto(buffer: memoryview) -> int:
        data = stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    return readinto


def _check_length(actual: int, announced: int | None) -> None:
    if announced is not None and actual != announced:
        raise StorageError(f"stream gave {actual} bytes, {announced} were announced")


def _code(exc: BaseException | None) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def _is_lock_missing(exc: BaseException | None) -> bool:
    code = _code(exc)
    return code == "ObjectLockConfigurationNotFoundError" or (code == "InvalidRequest" and "lock" in str(exc).lower())
