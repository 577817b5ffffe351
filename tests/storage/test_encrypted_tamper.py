"""Any change to a stored object is detected, with a message that says what happened."""

from __future__ import annotations

import io
import os

import pytest

from storage import EncryptedStore, IntegrityError, Keyring, KeyringError
from storage.stream_aead import HEADER_BYTES, TAG_BYTES

SEGMENT = 4096
SEALED = SEGMENT + TAG_BYTES
DATA = os.urandom(3 * SEGMENT + 100)  # three full segments and a short final one


@pytest.fixture
def stored(encrypted: EncryptedStore, read_raw) -> bytes:
    """The ciphertext of DATA under objects/a."""
    encrypted.put("objects/a", io.BytesIO(DATA))
    return read_raw(encrypted.store, "objects/a")


def _segments(ciphertext: bytes) -> tuple[bytes, list[bytes]]:
    body = ciphertext[HEADER_BYTES:]
    return ciphertext[:HEADER_BYTES], [body[i : i + SEALED] for i in range(0, len(body), SEALED)]


def _overwrite_raw(encrypted: EncryptedStore, key: str, raw: bytes, metadata: dict) -> None:
    encrypted.store.put(key, io.BytesIO(raw), metadata=metadata)


def _read_all(encrypted: EncryptedStore, key: str) -> bytes:
    with encrypted.open(key) as reader:
        return reader.read()


def _replace(encrypted: EncryptedStore, raw: bytes) -> None:
    _overwrite_raw(encrypted, "objects/a", raw, encrypted.store.metadata("objects/a"))


@pytest.mark.parametrize("position", [0, 5, HEADER_BYTES, HEADER_BYTES + SEALED + 7, -1])
def test_flipped_bit_is_detected(encrypted: EncryptedStore, stored: bytes, position: int) -> None:
    tampered = bytearray(stored)
    tampered[position] ^= 0x01
    _replace(encrypted, bytes(tampered))

    with pytest.raises(IntegrityError):
        _read_all(encrypted, "objects/a")


def test_cut_inside_the_final_segment_is_detected(encrypted: EncryptedStore, stored: bytes) -> None:
    _replace(encrypted, stored[:-50])

    with pytest.raises(IntegrityError):
        _read_all(encrypted, "objects/a")


def test_missing_final_segment_is_reported_as_truncation(encrypted: EncryptedStore, stored: bytes) -> None:
    header, segments = _segments(stored)
    _replace(encrypted, header + b"".join(segments[:-1]))

    with pytest.raises(IntegrityError, match="truncated"):
        _read_all(encrypted, "objects/a")


def test_header_only_is_reported_as_truncation(encrypted: EncryptedStore, stored: bytes) -> None:
    _replace(encrypted, stored[:HEADER_BYTES])

    with pytest.raises(IntegrityError, match="truncated"):
        _read_all(encrypted, "objects/a")


def test_empty_object_is_not_accepted_as_encrypted(encrypted: EncryptedStore, stored: bytes) -> None:
    _replace(encrypted, b"")

    with pytest.raises(IntegrityError, match="too short"):
        _read_all(encrypted, "objects/a")


def test_reordered_segments_are_detected(encrypted: EncryptedStore, stored: bytes) -> None:
    header, segments = _segments(stored)
    segments[0], segments[1] = segments[1], segments[0]
    _replace(encrypted, header + b"".join(segments))

    with pytest.raises(IntegrityError, match="segment 0"):
        _read_all(encrypted, "objects/a")


def test_extra_segment_after_the_final_one_is_detected(encrypted: EncryptedStore, stored: bytes) -> None:
    header, segments = _segments(stored)
    _replace(encrypted, header + b"".join(segments[:3]) + segments[2] + segments[3])

    with pytest.raises(IntegrityError):
        _read_all(encrypted, "objects/a")


def test_segment_from_another_object_is_detected(encrypted: EncryptedStore, stored: bytes, read_raw) -> None:
    encrypted.put("objects/b", io.BytesIO(DATA))
    header, segments = _segments(stored)
    segments[1] = _segments(read_raw(encrypted.store, "objects/b"))[1][1]
    _replace(encrypted, header + b"".join(segments))

    with pytest.raises(IntegrityError, match="segment 1"):
        _read_all(encrypted, "objects/a")


def test_object_moved_to_another_key_is_detected(encrypted: EncryptedStore, stored: bytes) -> None:
    """Ciphertext and wrapped key of objects/a copied under objects/b."""
    _overwrite_raw(encrypted, "objects/b", stored, encrypted.store.metadata("objects/a"))

    with pytest.raises(IntegrityError):
        _read_all(encrypted, "objects/b")


def test_ciphertext_swapped_under_another_objects_key_material(encrypted: EncryptedStore, stored: bytes) -> None:
    """objects/b keeps its own wrapped key but now holds the bytes of objects/a."""
    encrypted.put("objects/b", io.BytesIO(b"other"))
    _overwrite_raw(encrypted, "objects/b", stored, encrypted.store.metadata("objects/b"))

    with pytest.raises(IntegrityError):
        _read_all(encrypted, "objects/b")


def test_unknown_key_id_names_the_missing_master_key(encrypted: EncryptedStore, stored: bytes) -> None:
    info_metadata = encrypted.store.metadata("objects/a")

    with pytest.raises(KeyringError, match="mk-unknown"):
        encrypted.open("objects/a", key_id="mk-unknown", wrapped_key=info_metadata["enc-wrapped-key"])


def test_wrapped_key_presented_under_another_key_id_is_refused(
    encrypted: EncryptedStore, stored: bytes, tmp_path
) -> None:
    wrapped = encrypted.store.metadata("objects/a")["enc-wrapped-key"]
    old_id = encrypted.keyring.current_key_id
    new_id = encrypted.keyring.add_new_key(tmp_path / "master.key")
    assert new_id != old_id

    with pytest.raises(IntegrityError, match="does not authenticate"):
        encrypted.open("objects/a", key_id=new_id, wrapped_key=wrapped)


def test_object_sealed_under_another_master_key_is_refused(encrypted: EncryptedStore, stored: bytes, tmp_path) -> None:
    stranger = Keyring.generate(tmp_path / "other.key")
    reader = EncryptedStore(encrypted.store, stranger)

    with pytest.raises(KeyringError):
        reader.open("objects/a")


def test_not_an_encrypted_object_is_refused(encrypted: EncryptedStore, stored: bytes) -> None:
    _replace(encrypted, b"%PDF-1.7 plain file put there by someone" * 10)

    with pytest.raises(IntegrityError, match="not an encrypted object"):
        _read_all(encrypted, "objects/a")


def test_an_object_opened_as_something_else_than_it_was_stored_as_is_refused(encrypted: EncryptedStore) -> None:
    """A record pointed at another record's object (a database owner's swap) does not decrypt as that record."""
    info = encrypted.put("objects/b", io.BytesIO(DATA), context="document d1 version 1 original")

    def read(context: str) -> bytes:
        with encrypted.open("objects/b", key_id=info.key_id, wrapped_key=info.wrapped_key, context=context) as fh:
            return fh.read()

    assert read("document d1 version 1 original") == DATA
    for other in ("document d2 version 1 original", "document d1 version 2 original", ""):
        with pytest.raises(IntegrityError):
            read(other)
    new_key_id, new_wrapped = encrypted.rewrap(
        "objects/b", info.key_id, info.wrapped_key, context="document d1 version 1 original"
    )
    with encrypted.open(
        "objects/b", key_id=new_key_id, wrapped_key=new_wrapped, context="document d1 version 1 original"
    ) as fh:
        assert fh.read() == DATA
