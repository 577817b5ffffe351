"""A seekable upload of known length is one streamed PutObject, never held in memory.

botocore reads a streamed body once to sign its SHA-256 and seeks back, and seeks
back again before a retry; the ``EncryptingReader`` therefore rewinds by
re-encrypting the same bytes. The S3 cases run on ``[moto]`` and ``[ceph]``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from storage import EncryptedStore, Keyring, ObjectInfo, S3Store, StorageError, fingerprint
from storage.stream_aead import (
    HEADER_BYTES,
    TAG_BYTES,
    DecryptingReader,
    EncryptingReader,
    ciphertext_length,
)
from tests.real_s3.generated import GeneratedStream  # read-only: no seekable(), no seek()
from tests.real_s3.servers import S3Server

MiB = 1024 * 1024
SEGMENT = 4096
SIZE = 20 * MiB + 123  # above the 5 MiB parts of these tests, below single_put_max
ROOT = Path(__file__).resolve().parents[2]
DATA_KEY = bytes(range(32))
SEALED_END = HEADER_BYTES + SEGMENT + TAG_BYTES  # where the first sealed segment ends


def _reader(plaintext: bytes, **options: Any) -> EncryptingReader:
    options.setdefault("expected_length", len(plaintext))
    return EncryptingReader(io.BytesIO(plaintext), DATA_KEY, "objects/a", SEGMENT, **options)


def _decrypt(ciphertext: bytes, sha256: str | None = None) -> bytes:
    return DecryptingReader(io.BytesIO(ciphertext), DATA_KEY, "objects/a", sha256).read()


def _record_calls(store: S3Store) -> list[str]:
    """The names of the S3 operations the store calls from now on (one per call, not per try)."""
    calls: list[str] = []
    store._client.meta.events.register("before-call.s3.*", lambda model, **_: calls.append(model.name))
    return calls


def _file(path: Path, size: int) -> Path:
    with path.open("wb") as out:
        for start in range(0, size, MiB):
            out.write(os.urandom(min(MiB, size - start)))
    return path


def _sha256_of(path: Path) -> str:
    with path.open("rb") as source:
        return hashlib.file_digest(source, "sha256").hexdigest()


def _fingerprint_of(keyring: Keyring, path: Path) -> str:
    return fingerprint.current(keyring).of(path.read_bytes())


def _round_trips(encrypted: EncryptedStore, key: str, info: ObjectInfo, expected: str) -> bool:
    """The object decrypts, authenticates, has the fingerprint ``put`` reported, and the expected SHA-256."""
    digest = hashlib.sha256()
    with encrypted.open(key, expected_fingerprint=info.fingerprint) as reader:
        while chunk := reader.read(MiB):
            digest.update(chunk)
    return digest.hexdigest() == expected


# -- the rewindable EncryptingReader ------------------------------------------


def test_rewound_reader_yields_the_same_bytes_and_digest() -> None:
    plaintext = os.urandom(3 * SEGMENT + 17)
    reader = _reader(plaintext)

    first = reader.read()
    assert reader.seek(0) == 0
    second = reader.read()

    assert first == second
    assert len(first) == ciphertext_length(len(plaintext), SEGMENT)
    assert reader.digest_hex == hashlib.sha256(plaintext).hexdigest()
    assert reader.plaintext_size == len(plaintext)
    assert _decrypt(second, reader.digest_hex) == plaintext


def test_rewind_mid_stream_resets_digest_and_size() -> None:
    plaintext = os.urandom(5 * SEGMENT)
    reader = _reader(plaintext)
    reader.read(2 * SEGMENT)

    reader.seek(0)
    whole = reader.read()

    assert reader.plaintext_size == len(plaintext)
    assert reader.digest_hex == hashlib.sha256(plaintext).hexdigest()
    assert _decrypt(whole) == plaintext


def test_rewind_returns_to_where_the_source_started() -> None:
    plaintext = os.urandom(2 * SEGMENT + 5)
    source = io.BytesIO(b"not part of the object" + plaintext)
    source.seek(len(b"not part of the object"))
    reader = EncryptingReader(source, DATA_KEY, "objects/a", SEGMENT, len(plaintext))

    reader.read(100)
    reader.seek(0)

    assert _decrypt(reader.read()) == plaintext


def test_seek_to_end_and_back_continues_where_it_was() -> None:
    reader = _reader(os.urandom(3 * SEGMENT))
    whole = reader.read()
    reader.seek(1000)

    end = reader.seek(0, io.SEEK_END)

    assert end == reader.tell() == len(whole)
    assert reader.read() == b""
    assert reader.seek(1000) == reader.tell() == 1000
    assert reader.read() == whole[1000:]


@pytest.mark.parametrize(
    "offset",
    [0, 1, HEADER_BYTES, SEALED_END - 1, SEALED_END],
)
def test_seek_to_any_offset_reads_that_slice(offset: int) -> None:
    plaintext = os.urandom(4 * SEGMENT + 99)
    reader = _reader(plaintext)
    whole = reader.read()
    reader.seek(len(whole) // 2)  # then forward and backward seeks alike

    assert reader.seek(offset) == offset
    assert reader.read() == whole[offset:]
    assert reader.seek(-10, io.SEEK_END) == len(whole) - 10
    assert reader.read() == whole[-10:]
    assert reader.digest_hex == hashlib.sha256(plaintext).hexdigest()


@pytest.mark.parametrize(
    "source, length",
    [(io.BytesIO(b"abc"), None), (GeneratedStream(3), 3)],
    ids=["no-length", "unseekable-source"],
)
def test_reader_cannot_seek_without_a_seekable_source_and_a_length(source: BinaryIO, length: int | None) -> None:
    reader = EncryptingReader(source, DATA_KEY, "objects/a", SEGMENT, length)

    assert not reader.seekable()
    with pytest.raises(io.UnsupportedOperation):
        reader.seek(0)
    with pytest.raises(io.UnsupportedOperation):
        reader.tell()
    assert len(_decrypt(reader.read(), reader.digest_hex)) == reader.plaintext_size == 3


# -- one PutObject on S3 ------------------------------------------------------


class _ErrorBody:
    """The raw body of a canned botocore response."""

    def __init__(self, content: bytes) -> None:
        self._content = content

    def stream(self, **_: Any) -> Any:
        yield self._content


@pytest.fixture
def big_file(tmp_path: Path) -> Path:
    return _file(tmp_path / "scan.tiff", SIZE)


@pytest.fixture
def encrypted_s3(
    make_s3_store: Callable[..., S3Store], s3_bucket: str, keyring: Keyring
) -> Callable[..., EncryptedStore]:
    def make(**options: Any) -> EncryptedStore:
        return EncryptedStore(make_s3_store(s3_bucket, **options), keyring)

    return make


def test_encrypted_put_of_a_seekable_file_is_one_put_object(
    encrypted_s3: Callable[..., EncryptedStore], big_file: Path
) -> None:
    encrypted = encrypted_s3()
    calls = _record_calls(encrypted.store)

    with big_file.open("rb") as source:
        info = encrypted.put("objects/a", source, length=SIZE)

    assert calls == ["PutObject"]
    assert info.size == SIZE
    assert info.fingerprint == _fingerprint_of(encrypted.keyring, big_file)
    assert info.stored_size == ciphertext_length(SIZE, encrypted.segment_size)
    assert _round_trips(encrypted, "objects/a", info, _sha256_of(big_file))


def test_a_retried_put_object_sends_the_same_ciphertext(
    encrypted_s3: Callable[..., EncryptedStore], big_file: Path
) -> None:
    """The first try reads the whole body and gets a 500: botocore rewinds it and retries."""
    encrypted = encrypted_s3()
    calls = _record_calls(encrypted.store)
    tries = []

    def fail_first_try(request: Any, **_: Any) -> AWSResponse | None:
        tries.append(request)
        if len(tries) > 1:
            return None
        while request.body.read(MiB):
            pass
        error = _ErrorBody(b"<Error><Code>InternalError</Code></Error>")
        return AWSResponse(request.url, 500, {}, error)

    encrypted.store._client.meta.events.register("before-send.s3.PutObject", fail_first_try)
    with big_file.open("rb") as source:
        info = encrypted.put("objects/a", source, length=SIZE)

    assert calls == ["PutObject"] and len(tries) == 2
    assert info.fingerprint == _fingerprint_of(encrypted.keyring, big_file)
    assert _round_trips(encrypted, "objects/a", info, _sha256_of(big_file))


def test_unseekable_stream_still_goes_multipart(
    encrypted_s3: Callable[..., EncryptedStore],
) -> None:
    encrypted = encrypted_s3()
    calls = _record_calls(encrypted.store)
    source = GeneratedStream(SIZE)

    info = encrypted.put("objects/a", source, length=SIZE)  # type: ignore[arg-type]

    assert calls[0] == "CreateMultipartUpload" and calls[-1] == "CompleteMultipartUpload"
    assert "PutObject" not in calls
    assert _round_trips(encrypted, "objects/a", info, source.sha256.hexdigest())


def test_seekable_stream_above_single_put_max_goes_multipart(
    encrypted_s3: Callable[..., EncryptedStore], big_file: Path
) -> None:
    encrypted = encrypted_s3(single_put_max=SIZE // 2)
    calls = _record_calls(encrypted.store)

    with big_file.open("rb") as source:
        info = encrypted.put("objects/a", source, length=SIZE)

    assert calls[0] == "CreateMultipartUpload" and "PutObject" not in calls
    assert _round_trips(encrypted, "objects/a", info, _sha256_of(big_file))


def test_plain_put_streams_from_where_the_stream_stands(s3_store: S3Store) -> None:
    """botocore rewinds a body to 0 before a retry: 0 must be the stream's position."""
    data = os.urandom(2 * MiB)
    source = io.BytesIO(b"skip me" + data)
    source.seek(len(b"skip me"))
    calls = _record_calls(s3_store)

    info = s3_store.put("objects/a", source, length=len(data))

    assert calls == ["PutObject"] and info.size == len(data)
    with s3_store.open("objects/a") as reader:
        assert reader.read() == data


@pytest.mark.parametrize("single_put_max", [-1, 5 * 1024 * MiB + 1])
def test_single_put_max_is_checked(single_put_max: int) -> None:
    with pytest.raises(ValueError, match="single_put_max"):
        S3Store("bucket", single_put_max=single_put_max)


# -- a stream that does not hold the announced length -------------------------

WRONG_LENGTHS = {
    "shorter": (MiB + 5, MiB + 6),
    "longer": (MiB + 6, MiB + 5),
    "longer-by-a-segment": (2 * MiB + 1, 2 * MiB),  # the announced end falls on a segment end
}


def _unsigned_payloads(store: S3Store, server: S3Server) -> None:
    """Send bodies unsigned, so they are read only while on the wire (botocore's choice
    over HTTPS with a checksum): a wrong length must still fail before the last byte."""
    store._client = boto3.client(
        "s3",
        endpoint_url=server.endpoint_url,
        region_name=server.region,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        config=Config(
            s3={"addressing_style": "path", "payload_signing_enabled": False},
            request_checksum_calculation="when_required",
            retries={"max_attempts": 1},
        ),
    )


@pytest.mark.parametrize("signing", ["signed", "unsigned"])
@pytest.mark.parametrize("encrypt", [True, False], ids=["encrypted", "plain"])
@pytest.mark.parametrize("wrong", WRONG_LENGTHS)
def test_a_stream_of_another_length_is_refused_and_stores_nothing(
    make_s3_store: Callable[..., S3Store],
    s3_bucket: str,
    s3_server: S3Server,
    s3_client: Any,
    keyring: Keyring,
    tmp_path: Path,
    wrong: str,
    encrypt: bool,
    signing: str,
) -> None:
    actual, announced = WRONG_LENGTHS[wrong]
    store = make_s3_store(s3_bucket)
    if signing == "unsigned":
        _unsigned_payloads(store, s3_server)
    target = EncryptedStore(store, keyring) if encrypt else store

    with _file(tmp_path / "scan", actual).open("rb") as source:
        with pytest.raises(StorageError, match="announced"):
            target.put("objects/a", source, length=announced)

    assert not store.exists("objects/a")
    assert s3_client.list_object_versions(Bucket=s3_bucket).get("Versions", []) == []
    assert s3_client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []


# -- memory -------------------------------------------------------------------

MEMORY_SIZE = 60 * MiB
MAX_GROWTH_MIB = 40
# Runs in a child so its peak RSS is its own (see test_store_memory.py); growth is
# counted from after imports, client and keyring are set up.
_CHILD = """
import json, os, resource, sys
from storage import EncryptedStore, Keyring, S3Store

endpoint, bucket, access_key, secret_key, key_file, path = sys.argv[1:]
store = S3Store(bucket, endpoint_url=endpoint, region="us-east-1", path_style=True,
                access_key=access_key, secret_key=secret_key)
calls = []
store._client.meta.events.register("before-call.s3.*", lambda model, **_: calls.append(model.name))
encrypted = EncryptedStore(store, Keyring.load(key_file))
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with open(path, "rb") as source:
    info = encrypted.put("objects/big", source, length=os.path.getsize(path))
growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline
print(json.dumps({"rss_growth_mib": growth / 1024, "calls": calls, "fingerprint": info.fingerprint}))
"""


@pytest.mark.slow
def test_single_put_of_60_mib_keeps_memory_flat(s3_server: S3Server, s3_bucket: str, tmp_path: Path) -> None:
    key_file = tmp_path / "master.key"
    Keyring.generate(key_file)
    path = _file(tmp_path / "scan", MEMORY_SIZE)
    command = [
        sys.executable,
        "-c",
        _CHILD,
        s3_server.endpoint_url,
        s3_bucket,
        s3_server.access_key,
        s3_server.secret_key,
        str(key_file),
        str(path),
    ]

    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["calls"] == ["PutObject"]
    assert result["fingerprint"] == _fingerprint_of(Keyring.load(key_file), path)
    assert result["rss_growth_mib"] < MAX_GROWTH_MIB


def test_a_source_that_changes_before_a_retry_is_refused_before_any_of_its_bytes_leave() -> None:
    """Same key, same nonces: resending other plaintext would give the storage operator the XOR of the two."""
    plaintext = bytearray(os.urandom(3 * SEGMENT))
    source = io.BytesIO(plaintext)
    reader = EncryptingReader(source, DATA_KEY, "objects/a", SEGMENT, len(plaintext))
    first = reader.read()
    source.getbuffer()[SEGMENT + 5] ^= 0xFF  # the file changed on disk between the try and the retry
    reader.seek(0)

    sent_again = b"".join(
        iter(lambda: reader.read(SEALED_END - reader.tell()) if reader.tell() < SEALED_END else b"", b"")
    )
    assert sent_again == first[:SEALED_END]  # the unchanged first segment still goes
    with pytest.raises(StorageError, match="changed"):
        reader.read(SEGMENT + TAG_BYTES)
