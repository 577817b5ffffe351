"""The STREAM format itself, independent of any backend."""

from __future__ import annotations

import hashlib
import io
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage import IntegrityError, StorageError
from storage.stream_aead import (
    HEADER_BYTES,
    MAGIC,
    TAG_BYTES,
    DecryptingReader,
    EncryptingReader,
    ciphertext_length,
)

KEY = bytes(range(32))


def _seal(data: bytes, segment: int, object_key: str = "objects/a") -> bytes:
    return EncryptingReader(io.BytesIO(data), KEY, object_key, segment).read()


@settings(max_examples=60, deadline=None)
@given(
    data=st.binary(max_size=5000),
    segment=st.sampled_from([256, 257, 1000, 4096]),
    chunk=st.integers(min_value=1, max_value=3000),
)
def test_any_plaintext_roundtrips_whatever_the_read_size(data: bytes, segment: int, chunk: int) -> None:
    sealed = _seal(data, segment)
    reader = DecryptingReader(io.BytesIO(sealed), KEY, "objects/a")

    parts = list(iter(lambda: reader.read(chunk), b""))

    assert b"".join(parts) == data
    assert len(sealed) == ciphertext_length(len(data), segment)


def test_header_names_format_and_segment_size() -> None:
    sealed = _seal(b"abc", 4096)

    assert sealed[:4] == MAGIC
    assert sealed[4] == 1
    assert int.from_bytes(sealed[5:9], "big") == 4096


def test_empty_plaintext_is_one_final_empty_segment() -> None:
    assert len(_seal(b"", 4096)) == HEADER_BYTES + TAG_BYTES


def test_only_authenticated_bytes_are_handed_out() -> None:
    data = os.urandom(3 * 256)
    sealed = bytearray(_seal(data, 256))
    sealed[HEADER_BYTES + (256 + TAG_BYTES) + 3] ^= 0x80  # inside segment 1
    reader = DecryptingReader(io.BytesIO(bytes(sealed)), KEY, "objects/a")

    first = reader.read(256)
    with pytest.raises(IntegrityError, match="segment 1"):
        reader.read(1)

    assert first == data[:256]


def test_digest_is_of_the_plaintext() -> None:
    data = os.urandom(1000)
    reader = EncryptingReader(io.BytesIO(data), KEY, "objects/a", 256)
    reader.read()

    assert reader.digest_hex == hashlib.sha256(data).hexdigest()
    assert reader.plaintext_size == 1000


@pytest.mark.parametrize("segment", [255, 64 * 1024 * 1024 + 1])
def test_segment_size_out_of_range_is_refused(segment: int) -> None:
    with pytest.raises(ValueError):
        EncryptingReader(io.BytesIO(b""), KEY, "objects/a", segment)


class EndlessStream(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        buffer[:] = bytes(len(buffer))
        return len(buffer)


def test_stream_longer_than_announced_fails_without_reading_it_all() -> None:
    reader = EncryptingReader(EndlessStream(), KEY, "objects/a", 256, expected_length=1000)

    with pytest.raises(StorageError, match="1000 were announced"):
        reader.read()
