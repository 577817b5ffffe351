"""The upload estimates what its viewing copy will cost to draw, from what the file says it holds.

The estimate orders the copy queue (heavy copies have their own lane) and refuses only a file far
beyond what a copy may use; a real scan, however long, is never refused by it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from registry.documents.copies import HEAVY, LIGHT, lane_of
from registry.documents.inspection import FileRefused, sniff_content_type
from registry.documents.viewing_copy import ConversionLimits, Inspection, inspect_original

from . import files


def _inspect(path: Path, workdir: Path) -> Inspection:
    return inspect_original(str(path), sniff_content_type(str(path)), str(workdir))


def test_a_short_scan_is_light_and_a_shared_drawing_on_500_pages_is_heavy(tmp_path, workdir):
    scan = _inspect(files.scanned_pdf(tmp_path / "scan.pdf", pages=2, photo_side=1200), workdir)
    hostile = _inspect(files.shared_drawing_pdf(tmp_path / "hostile.pdf"), workdir)
    one_page = _inspect(files.shared_drawing_pdf(tmp_path / "one.pdf", pages=1), workdir)

    assert (scan.pages, lane_of(scan.cost)) == (2, LIGHT)
    assert (hostile.pages, lane_of(hostile.cost)) == (500, HEAVY)
    assert hostile.cost > 400 * one_page.cost  # the drawing is stored once but drawn on every page


def test_a_300_page_book_scan_is_accepted(tmp_path, workdir):
    book = _inspect(files.book_scan_pdf(tmp_path / "book.pdf", pages=300), workdir)

    assert book.pages == 300
    assert book.cost < ConversionLimits().cpu_seconds * 1000  # its copy fits in the CPU a copy may use


@pytest.mark.parametrize(
    "make",
    [
        lambda folder: files.fax_tiff(folder / "fax.tif"),
        lambda folder: files.heic_photo(folder / "photo.heic"),
        lambda folder: files.form_pdf(folder / "form.pdf"),
        lambda folder: files.jpx_pdf(folder / "jpx.pdf"),
        lambda folder: files.hostile_pdf(folder / "hostile.pdf"),
        lambda folder: files.exponential_pdf(folder / "nested.pdf", depth=4),
    ],
)
def test_everyday_files_are_light(make, tmp_path, workdir):
    assert lane_of(_inspect(make(tmp_path), workdir).cost) == LIGHT


def test_a_drawing_that_calls_itself_over_and_over_is_refused_with_what_to_do(tmp_path, workdir):
    endless = files.exponential_pdf(tmp_path / "endless.pdf", depth=30)  # 2 KiB, 2**30 squares

    with pytest.raises(FileRefused) as refused:
        _inspect(endless, workdir)

    assert (refused.value.code, refused.value.reason) == ("conversion_failed", "too_complex")
    assert "Split the document" in refused.value.message and "lower resolution" in refused.value.message


def test_a_form_that_draws_itself_is_counted_once(tmp_path, workdir):
    """pdfium stops at a form inside itself; the estimate must not loop or explode on it either."""
    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=files.A4)
    loop = pdf.make_stream(
        b"/X Do /X Do 0 0 0 rg 10 10 3 3 re f",
        Type=pikepdf.Name.XObject,
        Subtype=pikepdf.Name.Form,
        BBox=[0, 0, *files.A4],
    )
    loop.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(X=loop))
    pdf.pages[0].Contents = pdf.make_stream(b"/X Do")
    pdf.pages[0].Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(X=loop))
    pdf.save(tmp_path / "loop.pdf")

    assert lane_of(_inspect(tmp_path / "loop.pdf", workdir).cost) == LIGHT
