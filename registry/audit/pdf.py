"""Tables as PDF text (not pictures): an access report can be searched, quoted and printed.

pdfium writes the file and embeds a TrueType font that has Cyrillic and Kazakh
letters (the standard PDF fonts have neither); Pillow measures the text so that
long cells wrap inside their column. pdfium is not thread-safe, hence the lock.
"""

from __future__ import annotations

import ctypes
import io
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# Fonts with Latin, Cyrillic and Kazakh letters, where Debian and most distributions put them.
FONT_FILES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
)
PAGE_WIDTH, PAGE_HEIGHT = 842.0, 595.0  # A4 landscape, in points
MARGIN = 36.0
FONT_SIZE, TITLE_SIZE = 7.5, 13.0
LEADING = 9.5
CELL_GAP = 4.0
_pdfium = threading.Lock()


class FontMissing(RuntimeError):
    """No font with Cyrillic letters is installed (Debian: fonts-dejavu-core)."""


@dataclass(frozen=True)
class Column:
    heading: str
    width: float  # points; the columns of a table should add up to PAGE_WIDTH - 2 * MARGIN


@dataclass(frozen=True)
class _Text:
    x: float
    y: float
    text: str
    size: float = FONT_SIZE


@lru_cache(maxsize=1)
def font_file() -> Path:
    for candidate in FONT_FILES:
        if Path(candidate).is_file():
            return Path(candidate)
    raise FontMissing("no font for PDF exports was found; install fonts-dejavu-core")


@lru_cache(maxsize=1)
def _measure_font():
    from PIL import ImageFont

    return ImageFont.truetype(str(font_file()), 100)


def text_width(text: str, size: float = FONT_SIZE) -> float:
    return _measure_font().getlength(text) * size / 100


def wrap(text: str, width: float) -> list[str]:
    """Lines of ``text`` no wider than ``width``: at spaces, or inside a word too long for a line."""
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if text_width(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        for char in word:
            if line and text_width(line + char) > width:
                lines.append(line)
                line = ""
            line += char
    lines.append(line)
    return lines


def table_pdf(title: str, notes: list[str], columns: list[Column], rows: list[list[str]]) -> bytes:
    """A titled table over as many pages as it needs, headings repeated, pages numbered."""
    pages = _layout(title, notes, columns, rows)
    return _render(pages)


def _layout(title: str, notes: list[str], columns: list[Column], rows: list[list[str]]) -> list[list[_Text]]:
    pages: list[list[_Text]] = []
    y = 0.0

    def wrapped(cells: list[str]) -> list[list[str]]:
        return [wrap(cell, column.width - CELL_GAP) for column, cell in zip(columns, cells, strict=False)]

    def place(cells: list[list[str]]) -> None:
        nonlocal y
        x = MARGIN
        for column, lines in zip(columns, cells, strict=False):
            pages[-1].extend(_Text(x, y - LEADING * (i + 1), line) for i, line in enumerate(lines))
            x += column.width
        y -= LEADING * max(len(lines) for lines in cells) + 2

    def new_page() -> None:
        nonlocal y
        pages.append([])
        y = PAGE_HEIGHT - MARGIN
        if len(pages) == 1:
            pages[-1].append(_Text(MARGIN, y - TITLE_SIZE, title, TITLE_SIZE))
            y -= TITLE_SIZE + LEADING
            for line in (line for note in notes for line in wrap(note, PAGE_WIDTH - 2 * MARGIN)):
                y -= LEADING
                pages[-1].append(_Text(MARGIN, y, line))
            y -= LEADING
        place(wrapped([c.heading for c in columns]))
        y -= LEADING / 2

    new_page()
    for row in rows:
        cells = wrapped(row)
        if y - LEADING * max(len(lines) for lines in cells) - 2 < MARGIN + LEADING:
            new_page()
        place(cells)
    return pages


def _render(pages: list[list[_Text]]) -> bytes:
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    data = font_file().read_bytes()
    with _pdfium:
        document = pdfium.PdfDocument.new()
        buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        font = raw.FPDFText_LoadFont(document.raw, buffer, len(data), raw.FPDF_FONT_TRUETYPE, True)
        try:
            for number, texts in enumerate(pages, start=1):
                page = document.new_page(PAGE_WIDTH, PAGE_HEIGHT)
                footer = _Text(PAGE_WIDTH - MARGIN - 60, MARGIN / 2, f"{number} / {len(pages)}")
                for text in [*texts, footer]:
                    _place(raw, document, page, font, text)
                raw.FPDFPage_GenerateContent(page.raw)
                page.close()
            out = io.BytesIO()
            document.save(out)
        finally:
            raw.FPDFFont_Close(font)
            document.close()
    return out.getvalue()


def _place(raw, document, page, font, text: _Text) -> None:
    if not text.text:
        return
    obj = raw.FPDFPageObj_CreateTextObj(document.raw, font, text.size)
    utf16 = (text.text + "\0").encode("utf-16-le")
    raw.FPDFText_SetText(obj, ctypes.cast(ctypes.c_char_p(utf16), ctypes.POINTER(raw.FPDF_WCHAR)))
    raw.FPDFPageObj_Transform(obj, 1, 0, 0, 1, text.x, text.y)
    raw.FPDFPage_InsertObject(page.raw, obj)
