"""What the bytes are, whether the kind takes them, and safe names for them."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from registry.documents.inspection import (
    ALLOWED_TYPES,
    DOCUMENT_KINDS,
    FileRefused,
    check_declared_type,
    safe_filename,
    sniff_content_type,
)

from . import files


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


MAKERS: dict[str, Callable[[Path], Path]] = {
    "pdf": lambda p: files.simple_pdf(p / "a.pdf"),
    "jpeg": lambda p: files.cmyk_jpeg(p / "a.jpg"),
    "png": lambda p: files.sixteen_bit_gray_png(p / "a.png"),
    "tiff": lambda p: files.fax_tiff(p / "a.tif", pages=1),
    "heic": lambda p: files.heic_photo(p / "a.heic"),
    "csv": lambda p: _write(p, "a.csv", b"Locus,Child,Mother\nD8S1179,13/14,13/15\nTH01,6/9.3,6/7\n"),
    "cp1251 text": lambda p: _write(p, "a.txt", "Локус;Ребёнок\nD8S1179;13/14\n".encode("cp1251")),
    "utf-16 text": lambda p: _write(p, "a.txt", "Локус\tМать\nTH01\t6/7\n".encode("utf-16")),
    "html": lambda p: _write(p, "a.html", files.HTML),
    "svg": lambda p: _write(p, "a.svg", files.SVG),
    "zip": lambda p: _write(p, "a.zip", files.zip_archive()),
    "exe": lambda p: _write(p, "a.exe", files.windows_executable()),
}


@pytest.mark.parametrize(
    ("maker", "expected"),
    [
        ("pdf", "application/pdf"),
        ("jpeg", "image/jpeg"),
        ("png", "image/png"),
        ("tiff", "image/tiff"),
        ("heic", "image/heic"),
        ("csv", "text/csv"),
        ("cp1251 text", "text/plain"),
        ("utf-16 text", "text/plain"),
        ("html", "text/html"),
        ("svg", "image/svg+xml"),
        ("zip", "application/zip"),
    ],
)
def test_content_type_comes_from_the_bytes(tmp_path: Path, maker: str, expected: str) -> None:
    original = MAKERS[maker](tmp_path)
    disguised = original.rename(tmp_path / "upload.bin")
    assert sniff_content_type(str(disguised)) == expected


def test_sniffing_from_many_threads_gives_the_same_answers(tmp_path: Path) -> None:
    """Upload requests run in threads; the shared libmagic handle must not mix them up."""
    samples = {name: MAKERS[name](tmp_path) for name in ("pdf", "jpeg", "png", "html", "zip")}
    expected = {name: sniff_content_type(str(path)) for name, path in samples.items()}
    jobs = [name for name in samples for _ in range(40)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda name: (name, sniff_content_type(str(samples[name]))), jobs))
    assert all(answer == expected[name] for name, answer in answers)


def test_an_empty_file_is_refused_when_sniffed(tmp_path: Path) -> None:
    empty = _write(tmp_path, "scan.pdf", b"")
    with pytest.raises(FileRefused) as refused:
        sniff_content_type(str(empty))
    assert (refused.value.code, refused.value.http_status) == ("empty_file", 422)


@pytest.mark.parametrize(
    ("kind", "maker", "declared", "filename"),
    [
        ("passport", "pdf", "application/x-pdf", "Scan.PDF"),
        ("passport", "pdf", "application/octet-stream", "скан паспорта.pdf"),
        ("passport", "pdf", None, None),
        ("birth_record", "pdf", "", "scan.2024.05.01"),  # dots in a name are not an extension we know
        ("identity_document", "jpeg", "image/jpg", "photo.jpe"),
        ("identity_document", "jpeg", "image/pjpeg", "photo.JPEG"),
        ("court_ruling", "tiff", "image/x-tiff", "ruling.tif"),
        ("consent_receipt", "heic", "image/heif", "IMG_0001.HEIC"),
        ("other", "png", "image/png", "logo.png"),
        ("genomic_test_result", "csv", "application/vnd.ms-excel", "result.csv"),  # Windows with Excel
        ("genomic_test_result", "cp1251 text", "text/csv", "result.csv"),
        ("genomic_test_result", "utf-16 text", "text/plain", "result.txt"),
    ],
)
def test_benign_declarations_are_accepted(
    tmp_path: Path, kind: str, maker: str, declared: str | None, filename: str | None
) -> None:
    sniffed = sniff_content_type(str(MAKERS[maker](tmp_path)))
    check_declared_type(kind, sniffed, declared, filename)


@pytest.mark.parametrize(
    ("kind", "maker", "declared", "filename", "code", "clerk_words"),
    [
        # The bytes decide: a web page stays a web page whatever its name, and renaming
        # it would not help, so the clerk is told it is unsupported (not a mismatch).
        ("passport", "html", "application/pdf", "passport.pdf", "unsupported_content_type", ["web page", ".pdf"]),
        ("passport", "exe", "application/pdf", "passport.pdf", "unsupported_content_type", ["Windows program", ".pdf"]),
        ("passport", "svg", "image/svg+xml", "passport.svg", "unsupported_content_type", ["SVG drawing"]),
        ("court_ruling", "zip", "application/zip", "ruling.zip", "unsupported_content_type", ["ZIP archive"]),
        ("passport", "csv", "text/csv", "passport.csv", "unsupported_content_type", ["PDF, JPEG, PNG, TIFF or HEIC"]),
        ("passport", "jpeg", "image/jpeg", "passport.pdf", "content_type_mismatch", [".pdf", "JPEG photo", ".jpg"]),
        ("passport", "pdf", "image/jpeg", "passport.pdf", "content_type_mismatch", ["image/jpeg", "PDF document"]),
        ("passport", "pdf", None, "passport.pdf.exe", "content_type_mismatch", [".exe", "rename it to end in .pdf"]),
        ("genomic_test_result", "pdf", None, "result.csv", "content_type_mismatch", [".csv", "PDF document"]),
    ],
)
def test_wrong_or_disguised_files_are_refused_in_plain_words(
    tmp_path: Path,
    kind: str,
    maker: str,
    declared: str | None,
    filename: str,
    code: str,
    clerk_words: list[str],
) -> None:
    sniffed = sniff_content_type(str(MAKERS[maker](tmp_path)))
    with pytest.raises(FileRefused) as refused:
        check_declared_type(kind, sniffed, declared, filename)
    assert (refused.value.code, refused.value.http_status) == (code, 415)
    for words in clerk_words:
        assert words in refused.value.message


def test_every_kind_takes_scans_and_only_genomic_results_take_text() -> None:
    text_kinds = {kind for kind in DOCUMENT_KINDS if "text/csv" in ALLOWED_TYPES[kind]}
    assert text_kinds == {"genomic_test_result"}
    for kind in DOCUMENT_KINDS:
        assert {"application/pdf", "image/jpeg", "image/png", "image/tiff", "image/heic"} <= ALLOWED_TYPES[kind]


def test_an_empty_sniff_result_is_an_empty_file() -> None:
    with pytest.raises(FileRefused) as refused:
        check_declared_type("passport", "application/x-empty", None, "scan.pdf")
    assert refused.value.code == "empty_file"


def test_an_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        check_declared_type("diary", "application/pdf", None, None)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\clerk\\Desktop\\скан.pdf", "скан.pdf"),
        ("photo\u202egpj.exe", "photogpj.exe"),  # shown as "photoexe.jpg" without the strip
        ("\u2066report\u2069\u200e.pdf", "report.pdf"),
        ("a\x00b\n\tc\x7f.pdf", "abc.pdf"),
        ("И\u0306ылдыз.pdf", "Йылдыз.pdf"),  # decomposed Й becomes one character (NFC)
        ("می\u200cخواهم.pdf", "می\u200cخواهم.pdf"),  # the Persian zero-width non-joiner is spelling
        ('ruling: 12/2019 "final"?.pdf', "2019 _final__.pdf"),
        (".hidden.pdf", "hidden.pdf"),
        ("  spaced   name .pdf. ", "spaced name .pdf"),
        ("...", "document"),
        ("", "document"),
        (None, "document"),
    ],
)
def test_safe_filename(given: str | None, expected: str) -> None:
    assert safe_filename(given) == expected


def test_a_long_filename_is_cut_but_keeps_its_extension() -> None:
    name = safe_filename("Ж" * 400 + ".pdf")
    assert name.endswith("Ж.pdf")
    assert len(name.encode()) <= 200
    assert unicodedata.is_normalized("NFC", name)
