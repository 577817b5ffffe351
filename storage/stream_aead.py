"""Streaming authenticated encryption: the STREAM construction over AES-256-GCM.

This is the "online AE" construction of Hoang, Reyhanitabar, Rogaway and Vizár
(CRYPTO 2015), the one behind Tink's streaming AEAD and age. The plaintext is cut
into fixed-size segments; each is sealed with AES-256-GCM under a nonce made of

    nonce prefix (7 random bytes) || segment counter (32-bit big-endian) || last flag (1 byte)

and with associated data ``header || object key``. Hence every segment is
authenticated on its own (a reader can hand out plaintext before the end), a
reordered or duplicated segment fails (counter), a cut at a segment boundary
fails (the new last segment was not sealed as last), a segment from another
object fails (other data key), and a whole ciphertext moved to another object
key fails (associated data). An empty plaintext is one empty final segment.

Layout: ``header || segment_0 || ... || segment_n`` where the 16-byte header is
magic ``KRSE``, format version (1 byte), plaintext segment size (32-bit
big-endian) and the nonce prefix; each sealed segment is its plaintext plus a
16-byte tag, all full-size except possibly the last.

Written by hand over ``cryptography``'s AESGCM rather than taken from the
``tink`` package because the upload path must encrypt segment by segment while
earlier multipart parts are still on the wire, and the download path must
decrypt ranged GETs as they arrive; the pieces here are plain readers that the
storage backends pipeline (and ``cryptography`` is much faster at it).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets
import struct
from collections.abc import Callable
from typing import BinaryIO, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.errors import IntegrityError, StorageError

MAGIC = b"KRSE"
FORMAT_VERSION = 1
NONCE_PREFIX_BYTES = 7
TAG_BYTES = 16
DEFAULT_SEGMENT_SIZE = 1024 * 1024
MIN_SEGMENT_SIZE = 256
MAX_SEGMENT_SIZE = 64 * 1024 * 1024
_HEADER = struct.Struct(f">4sBI{NONCE_PREFIX_BYTES}s")
HEADER_BYTES = _HEADER.size
_MAX_SEGMENTS = 2**32


class Digest(Protocol):
    """What hashlib's and hmac's objects share: the readers hash plaintext with either."""

    def update(self, data: bytes, /) -> None: ...

    def hexdigest(self) -> str: ...


DigestFactory = Callable[[], Digest]


def ciphertext_length(plaintext_length: int, segment_size: int) -> int:
    """Size of the stored object for a plaintext of the given length."""
    segments = max(1, -(-plaintext_length // segment_size))
    return HEADER_BYTES + plaintext_length + segments * TAG_BYTES


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def _read_exact(source: BinaryIO, size: int) -> bytes:
    """Read ``size`` bytes, fewer only at end of stream (sources may return short reads)."""
    data = source.read(size)
    if len(data) == size or not data:
        return data
    parts = [data]
    missing = size - len(data)
    while missing and (more := source.read(missing)):
        parts.append(more)
        missing -= len(more)
    return b"".join(parts)


def _start_of(source: BinaryIO) -> int | None:
    """The position a seekable source starts at, to rewind to; None if it cannot seek."""
    try:
        return source.tell() if source.seekable() else None
    except (AttributeError, OSError, ValueError):  # no such method, unsupported, closed
        return None


class EncryptingReader(io.RawIOBase):
    """Reads plaintext from ``source`` and yields the encrypted object.

    Hashes the plaintext on the way with ``digest`` (``digest_hex``, ``plaintext_size`` are
    final once the reader is exhausted). Holds two plaintext segments at most.

    With a seekable source and an ``expected_length`` the reader is seekable
    too, in ciphertext positions, so it can be the body of one streamed
    PutObject: botocore reads a body once to sign its SHA-256 and seeks back,
    and seeks back again before a retry. Going back re-encrypts from the
    source's starting position under the same key and nonce prefix, so every
    pass yields the same bytes, and a segment whose bytes changed in the source
    is refused before it is handed out (nonce reuse); the size is that of the last pass, the hash that
    of the first complete one.
    Seeking forward encrypts and drops the bytes in between; seeking to or past
    the end parks the reader at the end without encrypting anything.
    """

    def __init__(
        self,
        source: BinaryIO,
        data_key: bytes,
        object_key: str,
        segment_size: int = DEFAULT_SEGMENT_SIZE,
        expected_length: int | None = None,
        digest: DigestFactory = hashlib.sha256,
    ) -> None:
        super().__init__()
        if not MIN_SEGMENT_SIZE <= segment_size <= MAX_SEGMENT_SIZE:
            raise ValueError(f"segment size must be {MIN_SEGMENT_SIZE}..{MAX_SEGMENT_SIZE}")
        self._source = source
        self._new_digest = digest
        self._aead = AESGCM(data_key)
        self._segment_size = segment_size
        self._prefix = secrets.token_bytes(NONCE_PREFIX_BYTES)
        self._header = _HEADER.pack(MAGIC, FORMAT_VERSION, segment_size, self._prefix)
        self._aad = self._header + object_key.encode()
        self._expected_length = expected_length
        self._source_start = None if expected_length is None else _start_of(source)
        self._parked_at_end = False
        self._hashed = False
        # The tag of every segment sealed so far: a later pass must seal the very same plaintext under
        # the same nonce, or its ciphertext would reveal the two plaintexts' difference (nonce reuse).
        self._tags: list[bytes] = []
        self._start_pass()

    def _start_pass(self) -> None:
        """Begin the ciphertext at the header, with a fresh size; the hash is kept once a pass completed
        (the same source gives the same bytes again, and hashing them twice costs a tenth of a put)."""
        if not self._hashed:
            self._hash = self._new_digest()
        self._counter = 0
        self._lookahead: bytes | None = None
        self._finished = False
        self._pending = memoryview(self._header)
        self._position = 0
        self.plaintext_size = 0

    @property
    def digest_hex(self) -> str:
        return self._hash.hexdigest()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._source_start is not None

    def tell(self) -> int:
        self._require_seekable()
        return self._end() if self._parked_at_end else self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._require_seekable()
        bases = {io.SEEK_SET: 0, io.SEEK_CUR: self.tell(), io.SEEK_END: self._end()}
        if whence not in bases:
            raise ValueError(f"invalid whence {whence!r}")
        target = bases[whence] + offset
        if target < 0:
            raise ValueError(f"negative seek position {target}")
        self._parked_at_end = target >= self._end()
        if not self._parked_at_end:
            if target < self._position:
                self._source.seek(self._source_start)  # type: ignore[arg-type]
                self._start_pass()
            self._skip(target - self._position)
        return self.tell()

    def _end(self) -> int:
        """Where the ciphertext ends if the source holds its announced length (seekable only)."""
        return ciphertext_length(self._expected_length or 0, self._segment_size)

    def _require_seekable(self) -> None:
        if not self.seekable():
            raise io.UnsupportedOperation("seeking needs a seekable source and an expected length")

    def _skip(self, count: int) -> None:
        scratch = bytearray(min(count, self._segment_size + TAG_BYTES))
        while count > 0 and (done := self.readinto(memoryview(scratch)[:count])):
            count -= done

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._parked_at_end:
            return 0
        while not self._pending and not self._finished:
            self._pending = memoryview(self._seal_next_segment())
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        self._position += count
        return count

    def _seal_next_segment(self) -> bytes:
        if self._lookahead is None:
            self._lookahead = _read_exact(self._source, self._segment_size)
        plaintext = self._lookahead
        if len(plaintext) == self._segment_size:
            self._lookahead = _read_exact(self._source, self._segment_size)
            last = not self._lookahead
        else:
            last = True
        if self._counter >= _MAX_SEGMENTS:
            raise StorageError("object too large for this segment size")
        if not self._hashed:
            self._hash.update(plaintext)
        self.plaintext_size += len(plaintext)
        sealed = self._aead.encrypt(_nonce(self._prefix, self._counter, last), plaintext, self._aad)
        self._check_same_segment(sealed[-TAG_BYTES:])
        self._counter += 1
        self._finished = last
        if last and self.plaintext_size == self._expected_length:
            self._hashed = True
        self._check_length()
        return sealed

    def _check_same_segment(self, tag: bytes) -> None:
        """On a pass after a rewind, refuse (before a byte of it leaves) a segment the source changed."""
        if self._counter == len(self._tags):
            self._tags.append(tag)
        elif not hmac.compare_digest(self._tags[self._counter], tag):
            raise StorageError(
                "the source changed while it was being sent again: refused rather than encrypt other bytes "
                "under the same nonce"
            )

    def _check_length(self) -> None:
        """Fail at the end on a short stream, or as soon as a stream runs long."""
        expected = self._expected_length
        if expected is None:
            return
        if self.plaintext_size > expected or (self._finished and self.plaintext_size != expected):
            raise StorageError(f"stream gave {self.plaintext_size} bytes, {self._expected_length} were announced")


class DecryptingReader(io.BufferedIOBase):
    """Reads an encrypted object from ``source`` and yields verified plaintext.

    Every byte handed out belongs to a segment that authenticated. The end of
    the object is only accepted once the final segment authenticated and, when
    ``expected_digest`` is given, the whole plaintext's ``digest`` matched it.
    """

    def __init__(
        self,
        source: BinaryIO,
        data_key: bytes,
        object_key: str,
        expected_digest: str | None = None,
        digest: DigestFactory = hashlib.sha256,
    ) -> None:
        super().__init__()
        self._source = source
        self._object_key = object_key
        header = _read_exact(source, HEADER_BYTES)
        segment_size, prefix = self._parse_header(header)
        self._aead = AESGCM(data_key)
        self._aad = header + object_key.encode()
        self._prefix = prefix
        self._sealed_size = segment_size + TAG_BYTES
        self._expected_digest = expected_digest.lower() if expected_digest else None
        self._hash = digest() if expected_digest else None
        self._counter = 0
        self._lookahead: bytes | None = None
        self._finished = False
        self._segment = b""
        self._offset = 0

    def _parse_header(self, header: bytes) -> tuple[int, bytes]:
        """Check the header before trusting its segment size (it is authenticated later)."""
        if len(header) < HEADER_BYTES:
            raise IntegrityError(f"object {self._object_key!r} is too short to be encrypted")
        magic, version, segment_size, prefix = _HEADER.unpack(header)
        if magic != MAGIC:
            raise IntegrityError(f"object {self._object_key!r} is not an encrypted object")
        if version != FORMAT_VERSION:
            raise IntegrityError(f"object {self._object_key!r} uses unknown encryption format {version}")
        if not MIN_SEGMENT_SIZE <= segment_size <= MAX_SEGMENT_SIZE:
            raise IntegrityError(f"object {self._object_key!r} has an invalid segment size")
        return segment_size, prefix

    def readable(self) -> bool:
        return True

    def read1(self, size: int = -1) -> bytes:
        if self._offset >= len(self._segment) and not self._open_next_segment():
            return b""
        end = len(self._segment) if size is None or size < 0 else self._offset + size
        chunk = self._segment[self._offset : end]
        self._offset += len(chunk)
        return chunk

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            return b"".join(iter(self.read1, b""))
        parts = []
        while size > 0 and (chunk := self.read1(size)):
            parts.append(chunk)
            size -= len(chunk)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        chunk = self.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def close(self) -> None:
        if not self.closed:
            self._source.close()
        super().close()

    def _open_next_segment(self) -> bool:
        """Authenticate the next segment into ``_segment``; False at the verified end."""
        while not self._finished:
            sealed = self._lookahead if self._lookahead is not None else self._read_sealed()
            if len(sealed) == self._sealed_size:
                self._lookahead = self._read_sealed()
                last = not self._lookahead
            else:
                self._lookahead, last = b"", True
            self._segment = self._open_sealed(sealed, last)
            self._offset = 0
            self._counter += 1
            if last:
                self._finished = True
                self._check_digest()
            if self._segment:
                return True
        return False

    def _read_sealed(self) -> bytes:
        return _read_exact(self._source, self._sealed_size)

    def _open_sealed(self, sealed: bytes, last: bool) -> bytes:
        counter = self._counter
        try:
            plaintext = self._aead.decrypt(_nonce(self._prefix, counter, last), sealed, self._aad)
        except InvalidTag:
            raise IntegrityError(self._describe_failure(sealed, counter, last)) from None
        if self._hash is not None:
            self._hash.update(plaintext)
        return plaintext

    def _describe_failure(self, sealed: bytes, counter: int, last: bool) -> str:
        """Tell truncation apart from tampering: it changes what an operator looks for."""
        where = f"object {self._object_key!r}"
        if last and len(sealed) >= TAG_BYTES:
            try:
                self._aead.decrypt(_nonce(self._prefix, counter, False), sealed, self._aad)
                return f"{where} is truncated: its final segment is missing"
            except InvalidTag:
                pass
        if last and len(sealed) < TAG_BYTES:
            return f"{where} is truncated inside segment {counter}"
        return (
            f"{where}: segment {counter} does not authenticate "
            "(altered, reordered, cut, or taken from another object or key)"
        )

    def _check_digest(self) -> None:
        if self._hash is None:
            return
        actual = self._hash.hexdigest()
        if not hmac.compare_digest(actual, self._expected_digest or ""):
            raise IntegrityError(
                f"object {self._object_key!r} decrypted but its digest {actual} "
                f"differs from the expected {self._expected_digest}"
            )
