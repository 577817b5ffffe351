"""Genomic CSV/TXT results: shown as clean UTF-8 text whatever encoding the lab used."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from registry.documents.inspection import FileRefused
from registry.documents.viewing_copy import make_viewing_copy

RESULT = "Локус;Ребёнок;Мать;PI\nD8S1179;13/14;13/15;1,52\nTH01;6/9.3;6/7;2,10\n"


@pytest.mark.parametrize(
    ("encoded", "expected"),
    [
        (RESULT.encode("utf-8"), RESULT),
        (codecs.BOM_UTF8 + RESULT.encode("utf-8"), RESULT),
        (RESULT.encode("utf-16"), RESULT),  # Excel "Unicode text": UTF-16 with BOM
        (RESULT.encode("utf-16-be").join([codecs.BOM_UTF16_BE, b""]), RESULT),
        (RESULT.encode("cp1251"), RESULT),  # older Russian-language lab software
        (RESULT.replace("\n", "\r\n").encode(), RESULT),  # Windows line ends
        ((RESULT + "\x07\x1b[0m\x0c" + RESULT).encode(), RESULT + "[0m" + RESULT),  # bell, escape, form feed
        ("Mother: \u202eDEDULCXE\u202c\n".encode(), "Mother: DEDULCXE\n"),  # no right-to-left override tricks
    ],
)
def test_text_is_decoded_cleaned_and_stored_as_utf8(
    tmp_path: Path, workdir: Path, encoded: bytes, expected: str
) -> None:
    original = tmp_path / "result.csv"
    original.write_bytes(encoded)
    copy = make_viewing_copy(str(original), "text/csv", str(workdir))
    assert copy.content_type == "text/plain; charset=utf-8"
    assert (copy.pages, copy.width, copy.height) == (None, None, None)
    assert Path(copy.path).read_bytes().decode("utf-8") == expected
    assert original.read_bytes() == encoded


@pytest.mark.parametrize(
    "junk",
    [
        bytes(range(256)) * 8,  # every byte value, NULs included
        bytes(range(1, 32)) * 40 + b"abc",  # controls without NULs
        b"PK\x03\x04" + bytes(range(1, 9)) * 100,
    ],
)
def test_binary_data_declared_as_text_is_refused(tmp_path: Path, workdir: Path, junk: bytes) -> None:
    original = tmp_path / "result.txt"
    original.write_bytes(junk)
    with pytest.raises(FileRefused) as refused:
        make_viewing_copy(str(original), "text/plain", str(workdir))
    assert (refused.value.code, refused.value.http_status) == ("malformed_file", 422)
    assert "CSV or plain text" in refused.value.message
