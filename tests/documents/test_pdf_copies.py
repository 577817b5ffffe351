"""PDF viewing copies: pages as pictures, nothing else; real-world PDFs are not refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest

from registry.documents import converter
from registry.documents.inspection import FileRefused
from registry.documents.viewing_copy import ConversionLimits, ViewingCopy, make_viewing_copy

from . import copies, files

Convert = Callable[..., ViewingCopy]


def _assert_clean_copy(copy: ViewingCopy) -> Path:
    """Independent of the converter's own scan: printed dictionaries, raw bytes, API views."""
    path = Path(copy.path)
    assert copy.content_type == "application/pdf"
    assert copies.forbidden_names(path) == []
    raw = path.read_bytes()
    for secret in (files.PAYLOAD, files.JS_SOURCE, files.SECRET_NAME.encode(), b"exfil.invalid"):
        assert secret not in raw
    with pikepdf.open(path) as pdf:
        assert len(pdf.attachments) == 0
        assert len(pdf.docinfo) == 0
        assert "/Metadata" not in pdf.Root
    return path


def _mark_visible(path: Path, centre: tuple[int, int] = files.MARK_CENTRE, page: int = 0) -> bool:
    return copies.is_dark(copies.rendered_page(path, page), centre, copies.page_size_points(path, page)[1])


def test_scripts_attachments_links_forms_and_metadata_do_not_reach_the_copy(tmp_path: Path, convert: Convert) -> None:
    original = files.hostile_pdf(tmp_path / "hostile.pdf")
    before = copies.sha256(original)
    assert {"/JavaScript", "/EmbeddedFiles", "/OpenAction", "/AA", "/XFA", "/Metadata"} <= set(
        copies.forbidden_names(original)
    )  # the original really carries them, so the checks below can fail

    copy = convert(original)

    path = _assert_clean_copy(copy)
    assert copy.pages == 1
    assert _mark_visible(path)  # the page itself survived
    assert copies.sha256(original) == before


def test_names_spelled_with_hex_escapes_are_still_names(tmp_path: Path, convert: Convert) -> None:
    original = tmp_path / "escaped.pdf"
    original.write_bytes(files.hex_escaped_pdf())
    assert b"/JavaScript" not in original.read_bytes()
    with pikepdf.open(original) as pdf:
        assert {"/JavaScript", "/JS", "/Launch", "/AA", "/EmbeddedFiles", "/EmbeddedFile", "/OpenAction"} <= (
            converter.active_content(pdf)
        )

    path = _assert_clean_copy(convert(original))
    assert _mark_visible(path)


def test_the_final_check_refuses_a_copy_that_is_not_clean(tmp_path: Path) -> None:
    not_clean = files.hostile_pdf(tmp_path / "hostile.pdf")
    with pytest.raises(FileRefused) as refused:
        converter.check_copy(str(not_clean), expected_pages=1)
    assert refused.value.code == "conversion_failed"


def test_a_filled_in_form_shows_its_values_in_the_copy(tmp_path: Path, convert: Convert) -> None:
    original = files.form_pdf(tmp_path / "form.pdf")
    path = _assert_clean_copy(convert(original))
    assert _mark_visible(path)


def test_an_incremental_update_shows_the_latest_revision(tmp_path: Path, convert: Convert) -> None:
    original = tmp_path / "updated.pdf"
    original.write_bytes(files.updated_pdf())
    path = _assert_clean_copy(convert(original))
    assert _mark_visible(path, files.RIGHT_MARK_CENTRE)
    assert not _mark_visible(path, files.MARK_CENTRE)


def test_jpeg2000_pictures_are_rendered(tmp_path: Path, convert: Convert) -> None:
    path = _assert_clean_copy(convert(files.jpx_pdf(tmp_path / "jpx.pdf")))
    assert _mark_visible(path)


def test_an_owner_password_alone_does_not_stop_the_copy(tmp_path: Path, convert: Convert) -> None:
    original = files.encrypted_pdf(tmp_path / "restricted.pdf", user_password="")
    with pikepdf.open(original) as pdf:
        assert pdf.is_encrypted
    path = _assert_clean_copy(convert(original))
    assert _mark_visible(path)


def test_a_pdf_that_needs_a_password_to_open_is_refused(tmp_path: Path, convert: Convert) -> None:
    original = files.encrypted_pdf(tmp_path / "locked.pdf", user_password="1234")
    with pytest.raises(FileRefused) as refused:
        convert(original)
    assert (refused.value.code, refused.value.http_status) == ("password_protected", 422)
    assert "ask the issuer for an unprotected copy" in refused.value.message.lower()


def test_a_pdf_cut_off_before_its_trailer_is_refused_as_damaged(tmp_path: Path, convert: Convert) -> None:
    """What qpdf cannot rebuild the clerk cannot see: refuse and ask for a new copy."""
    whole = files.simple_pdf(tmp_path / "whole.pdf", pages=3).read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(whole[: len(whole) * 9 // 10])
    with pytest.raises(FileRefused) as refused:
        convert(cut)
    assert (refused.value.code, refused.value.http_status) == ("malformed_file", 422)
    assert "new copy" in refused.value.message


def test_a_pdf_cut_off_inside_its_last_update_shows_the_revision_before_it(tmp_path: Path, convert: Convert) -> None:
    """qpdf repairs what it can, as viewers do; the original is kept bit for bit anyway."""
    whole = files.updated_pdf()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(whole[: len(whole) - 60])
    path = _assert_clean_copy(convert(cut))
    assert _mark_visible(path, files.MARK_CENTRE)
    assert not _mark_visible(path, files.RIGHT_MARK_CENTRE)


def test_every_page_is_kept_at_its_printed_size(tmp_path: Path, convert: Convert) -> None:
    pdf = pikepdf.new()
    for _ in range(10):
        pdf.add_blank_page(page_size=files.A4)
        pdf.pages[-1].Contents = pdf.make_stream(files.MARK_DRAWING)
    pdf.pages[3].Rotate = 90
    original = tmp_path / "ten.pdf"
    pdf.save(original)

    copy = convert(original)

    path = _assert_clean_copy(copy)
    assert copy.pages == copies.page_count(path) == 10
    assert copies.page_size_points(path, 0) == pytest.approx(files.A4, abs=1)
    assert copies.page_size_points(path, 3) == pytest.approx(files.A4[::-1], abs=1)  # turned as the reader sees it


def test_a_huge_page_is_rendered_coarser_instead_of_refused(tmp_path: Path, convert: Convert) -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(14400, 14400))  # 200 x 200 inches, the PDF maximum
    original = tmp_path / "poster.pdf"
    pdf.save(original)
    limits = ConversionLimits(max_copy_pixels=4_000_000)

    path = _assert_clean_copy(convert(original, limits))

    assert copies.page_size_points(path) == pytest.approx((14400, 14400), rel=0.02)
    with pikepdf.open(path) as copy:
        picture = next(iter(copy.pages[0].get_images().values()))
        assert picture.Width * picture.Height <= limits.max_copy_pixels


def test_more_pages_than_allowed_is_refused_with_the_numbers(tmp_path: Path, convert: Convert) -> None:
    original = files.simple_pdf(tmp_path / "three.pdf", pages=3)
    with pytest.raises(FileRefused) as refused:
        convert(original, ConversionLimits(max_pages=2))
    assert refused.value.code == "conversion_failed"
    assert "3 pages" in refused.value.message and "at most 2" in refused.value.message


def test_a_web_page_passed_off_as_pdf_is_not_rendered(tmp_path: Path, workdir: Path) -> None:
    """Even if a caller skipped the type check, the PDF path refuses non-PDF bytes."""
    disguised = tmp_path / "passport.pdf"
    disguised.write_bytes(files.HTML)
    with pytest.raises(FileRefused) as refused:
        make_viewing_copy(str(disguised), "application/pdf", str(workdir))
    assert refused.value.code == "malformed_file"
    assert list(workdir.iterdir()) == []


def test_a_zero_byte_file_is_refused_as_empty(tmp_path: Path, workdir: Path) -> None:
    empty = tmp_path / "scan.pdf"
    empty.write_bytes(b"")
    with pytest.raises(FileRefused) as refused:
        make_viewing_copy(str(empty), "application/pdf", str(workdir))
    assert refused.value.code == "empty_file"


def test_a_type_without_a_converter_is_unsupported(tmp_path: Path, workdir: Path) -> None:
    page = tmp_path / "page.html"
    page.write_bytes(files.HTML)
    with pytest.raises(FileRefused) as refused:
        make_viewing_copy(str(page), "text/html", str(workdir))
    assert (refused.value.code, refused.value.http_status) == ("unsupported_content_type", 415)
