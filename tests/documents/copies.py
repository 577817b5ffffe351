"""Reading viewing copies the way a test should: independently of the code under test.

The converter walks pikepdf objects structurally; here every object is printed
back to PDF syntax and searched as text, and pages are rendered to pixels.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import cast

import pikepdf
import pypdfium2 as pdfium
from PIL import Image

# Anything in a copy's dictionaries beyond page pictures is a failure.
FORBIDDEN_IN_COPY = (
    "/JS",
    "/JavaScript",
    "/OpenAction",
    "/AA",
    "/Launch",
    "/GoToR",
    "/SubmitForm",
    "/ImportData",
    "/EmbeddedFile",
    "/EmbeddedFiles",
    "/XFA",
    "/RichMedia",
    "/AcroForm",
    "/URI",
    "/Metadata",
    "/Annots",
    "/Names",
    "/Font",
    "/Widget",
    "/Link",
    "/Filespec",
)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pdf_syntax(path: Path) -> str:
    """Trailer and every object's dictionary, as PDF text (names decoded by qpdf)."""
    with pikepdf.open(path) as pdf:
        parts = [pdf.trailer.unparse(resolved=True).decode("latin-1")]
        for obj in pdf.objects:
            shown = obj.stream_dict if isinstance(obj, pikepdf.Stream) else obj
            if isinstance(shown, (pikepdf.Dictionary, pikepdf.Array)):
                parts.append(shown.unparse(resolved=True).decode("latin-1"))
    return "\n".join(parts)


def forbidden_names(path: Path) -> list[str]:
    syntax = pdf_syntax(path)
    return [name for name in FORBIDDEN_IN_COPY if re.search(re.escape(name) + r"(?![A-Za-z0-9])", syntax)]


def page_count(path: Path) -> int:
    with pikepdf.open(path) as pdf:
        return len(pdf.pages)


def page_size_points(path: Path, index: int = 0) -> tuple[float, float]:
    document = pdfium.PdfDocument(str(path))
    try:
        return document[index].get_size()
    finally:
        document.close()


def rendered_page(path: Path, index: int = 0, dpi: int = 72) -> Image.Image:
    """Page as RGB pixels, 1 pixel per point at the default 72 dpi."""
    document = pdfium.PdfDocument(str(path))
    try:
        return document[index].render(scale=dpi / 72).to_pil().convert("RGB")
    finally:
        document.close()


def is_dark(image: Image.Image, point_pt: tuple[float, float], page_height_pt: float) -> bool:
    """Whether the pixel at a PDF point (origin bottom-left) of a 72-dpi render is dark."""
    x, y = point_pt
    red, green, blue = cast(tuple[int, int, int], image.getpixel((round(x), round(page_height_pt - y))))
    return red + green + blue < 200
