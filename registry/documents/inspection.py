"""What an uploaded file really is, and whether the registry takes it.

The content type always comes from the bytes (libmagic); the client's declared
type and the file name only serve to catch a wrong or disguised file. Every
refusal carries a stable API code and a message a registry clerk can act on.
"""

from __future__ import annotations

import mimetypes
import os
import re
import threading
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class DocumentKind(StrEnum):
    IDENTITY_DOCUMENT = "identity_document"
    PASSPORT = "passport"
    BIRTH_RECORD = "birth_record"
    GENOMIC_TEST_RESULT = "genomic_test_result"
    COURT_RULING = "court_ruling"
    CONSENT_RECEIPT = "consent_receipt"
    OTHER = "other"


DOCUMENT_KINDS = tuple(kind.value for kind in DocumentKind)

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"
TIFF = "image/tiff"
HEIC = "image/heic"
HEIF = "image/heif"
CSV = "text/csv"
TEXT = "text/plain"

_SCANS = frozenset({PDF, JPEG, PNG, TIFF, HEIC, HEIF})
ALLOWED_TYPES: dict[str, frozenset[str]] = {
    kind: _SCANS | ({CSV, TEXT} if kind == "genomic_test_result" else frozenset()) for kind in DOCUMENT_KINDS
}

HTTP_STATUS = {
    "unsupported_content_type": 415,
    "content_type_mismatch": 415,
    "malformed_file": 422,
    "password_protected": 422,
    "empty_file": 422,
    "image_too_large": 422,
    "conversion_failed": 422,
}


def N_(words: str) -> str:
    """Mark English words for translation (``pybabel extract -k N_``) without importing Flask:
    the conversion child imports this module before its resource limits are set."""
    return words


def _as_written(words: str) -> str:
    return words


@dataclass(frozen=True)
class Phrase:
    """Words for a clerk: an English template with named {parameters}, any of them words too.

    Templates are translated where the words are shown (documents.service); a plain
    parameter (a number, a file's extension, a content type) is shown as it is.
    """

    template: str
    params: Mapping[str, int | str | Phrase] = field(default_factory=dict)

    def render(self, translate: Callable[[str], str] = _as_written) -> str:
        values = {
            name: value.render(translate) if isinstance(value, Phrase) else value for name, value in self.params.items()
        }
        return translate(self.template).format(**values)


# reason -> (API code, message template). The conversion child reports only a
# reason and whole-number parameters, so a compromised child cannot put its own
# words in front of a clerk.
REFUSALS: dict[str, tuple[str, str]] = {
    "empty_file": (
        "empty_file",
        N_(
            "The file is empty (0 bytes), so the upload probably went wrong or the wrong "
            "file was chosen. Choose the file again and upload it."
        ),
    ),
    "pdf_damaged": (
        "malformed_file",
        N_(
            "The PDF file is damaged and cannot be opened. Ask for a new copy of the "
            "document, or scan the paper again, and upload that file."
        ),
    ),
    "pdf_no_pages": (
        "malformed_file",
        N_(
            "The PDF file contains no page that can be shown. Ask for a new copy of the "
            "document, or scan the paper again, and upload that file."
        ),
    ),
    "pdf_password": (
        "password_protected",
        N_(
            "The PDF file is locked with a password, so the registry cannot show it. Ask "
            "the issuer for an unprotected copy and upload that copy."
        ),
    ),
    "too_many_pages": (
        "conversion_failed",
        N_(
            "The file has {pages} pages; the registry converts at most {max_pages} pages "
            "per file. Split the document into smaller files and upload each one."
        ),
    ),
    "image_damaged": (
        "malformed_file",
        N_(
            "The image file is damaged or incomplete and cannot be shown. Scan or "
            "photograph the document again and upload the new file."
        ),
    ),
    "image_too_large": (
        "image_too_large",
        N_(
            "The image is too large to process (the limit is {max_megapixels} megapixels). "
            "Scan the document again at a lower resolution (300 dpi is enough), or split it "
            "into smaller files, and upload again."
        ),
    ),
    "text_not_text": (
        "malformed_file",
        N_(
            "The file should be text (CSV or TXT) but contains binary data. Export the "
            "result from the laboratory's software again as CSV or plain text."
        ),
    ),
    "too_complex": (
        "conversion_failed",
        N_(
            "The file is far too complex to be converted for viewing within the registry's limits, "
            "so it was not stored. Split the document into smaller files and upload each one, or "
            "scan the paper again at a lower resolution (300 dpi is enough) and upload that file."
        ),
    ),
    "limits_exceeded": (
        "conversion_failed",
        N_(
            "The file could not be converted for viewing within the registry's limits: it "
            "is too large or too complex, or it is damaged. Scan the document again at a "
            "lower resolution (300 dpi is enough), or split it into smaller files, and "
            "upload again."
        ),
    ),
    "timed_out": (
        "conversion_failed",
        N_(
            "Converting the file for viewing took longer than {seconds} seconds, so it was "
            "stopped. Scan the document again at a lower resolution (300 dpi is enough), or "
            "split it into smaller files, and upload again."
        ),
    ),
    "not_convertible": (
        "unsupported_content_type",
        N_(
            "The registry cannot make a viewing copy of this kind of file. Upload the "
            "document as PDF, JPEG, PNG, TIFF or HEIC (genomic results also as CSV or TXT)."
        ),
    ),
    "copy_not_clean": (
        "conversion_failed",
        N_(
            "The registry could not make a safe viewing copy of this file. Give the file to "
            "the registry's technical support."
        ),
    ),
    "conversion_error": (
        "conversion_failed",
        N_(
            "The file could not be converted for viewing. Scan the document again or ask "
            "for a new copy, and upload that file. If it keeps failing, give the file to "
            "the registry's technical support."
        ),
    ),
}


class FileRefused(Exception):
    """An upload the registry will not store; `words` are meant for the clerk,
    `message` is the same in English (for logs and the conversion child)."""

    def __init__(
        self,
        code: str,
        words: Phrase,
        *,
        reason: str | None = None,
        params: dict[str, int] | None = None,
    ) -> None:
        self.words = words
        self.message = words.render()
        super().__init__(self.message)
        self.code = code
        self.http_status = HTTP_STATUS[code]
        self.reason = reason
        self.params = params or {}


def refusal(reason: str, **params: int) -> FileRefused:
    """Build the refusal for a known reason (see REFUSALS)."""
    code, template = REFUSALS[reason]
    return FileRefused(code, Phrase(template, params), reason=reason, params=params)


# ---------------------------------------------------------------- content types

_ALIASES = {
    "application/x-pdf": PDF,
    "application/acrobat": PDF,
    "applications/vnd.pdf": PDF,
    "text/pdf": PDF,
    "text/x-pdf": PDF,
    "image/jpg": JPEG,
    "image/pjpeg": JPEG,
    "image/x-png": PNG,
    "image/tif": TIFF,
    "image/x-tif": TIFF,
    "image/x-tiff": TIFF,
    "image/heic-sequence": HEIC,
    "image/heif-sequence": HEIF,
    "application/csv": CSV,
    "text/comma-separated-values": CSV,
    "text/x-csv": CSV,
    "text/x-comma-separated-values": CSV,
    "text/tab-separated-values": TEXT,
}
# What browsers send for an upload they cannot name: the same as no declaration.
_UNDECLARED = frozenset({"", "application/octet-stream", "binary/octet-stream", "application/unknown"})
# Windows sends this for every .csv file when Excel is installed.
_DECLARED_ONLY_ALIASES = {"application/vnd.ms-excel": CSV}

_FAMILY = {PDF: "pdf", JPEG: "jpeg", PNG: "png", TIFF: "tiff", HEIC: "heif", HEIF: "heif", CSV: "text", TEXT: "text"}
_EXTENSION_FAMILY = {
    "pdf": "pdf",
    "jpg": "jpeg",
    "jpeg": "jpeg",
    "jpe": "jpeg",
    "jfif": "jpeg",
    "pjpeg": "jpeg",
    "pjp": "jpeg",
    "png": "png",
    "tif": "tiff",
    "tiff": "tiff",
    "heic": "heif",
    "heif": "heif",
    "hif": "heif",
    "csv": "text",
    "tsv": "text",
    "txt": "text",
    "text": "text",
}
_FAMILY_WORDS = {
    "pdf": (N_("a PDF document"), "pdf"),
    "jpeg": (N_("a JPEG photo"), "jpg"),
    "png": (N_("a PNG image"), "png"),
    "tiff": (N_("a TIFF scan"), "tif"),
    "heif": (N_("an HEIC/HEIF phone photo"), "heic"),
    "text": (N_("a text (CSV or TXT) file"), "csv"),
}
_OTHER_WORDS = {
    "text/html": N_("a web page (HTML)"),
    "application/xhtml+xml": N_("a web page (XHTML)"),
    "image/svg+xml": N_("an SVG drawing"),
    "text/xml": N_("an XML file"),
    "application/xml": N_("an XML file"),
    "application/zip": N_("a ZIP archive"),
    "application/x-7z-compressed": N_("a 7-Zip archive"),
    "application/x-rar": N_("a RAR archive"),
    "application/gzip": N_("a compressed archive"),
    "application/x-dosexec": N_("a Windows program"),
    "application/vnd.microsoft.portable-executable": N_("a Windows program"),
    "application/x-executable": N_("a program"),
    "application/x-sharedlib": N_("a program"),
    "application/x-mach-binary": N_("a program"),
    "application/msword": N_("a Word document"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": N_("a Word document"),
    "application/vnd.ms-excel": N_("an Excel workbook"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": N_("an Excel workbook"),
    "image/gif": N_("a GIF image"),
    "image/webp": N_("a WebP image"),
    "image/bmp": N_("a BMP image"),
    "image/jp2": N_("a JPEG 2000 image"),
}
_KIND_WORDS = {
    "identity_document": N_("an identity document"),
    "passport": N_("a passport"),
    "birth_record": N_("a birth record"),
    "genomic_test_result": N_("a genomic (DNA) test result"),
    "court_ruling": N_("a court ruling"),
    "consent_receipt": N_("a voluntary return receipt"),
    "other": N_("a document"),
}
_BUILTIN_TYPES = mimetypes.MimeTypes(filenames=())  # Python's own table: same on every host
_magic_lock = threading.Lock()
_magic: Any = None  # one libmagic handle, created on first use


def canonical_type(content_type: str | None) -> str:
    """Lower-case MIME type without parameters, benign aliases folded."""
    bare = (content_type or "").split(";", 1)[0].strip().lower()
    if bare.startswith("text/x-") and bare not in _ALIASES:
        return TEXT  # libmagic guessing a programming language: still plain text
    return _ALIASES.get(bare, bare)


def sniff_content_type(path: str) -> str:
    """Content type of the file from its first 8 KiB; raises FileRefused if empty."""
    global _magic
    with open(path, "rb") as file:
        head = file.read(8192)
    if not head:
        raise refusal("empty_file")
    with _magic_lock:  # libmagic handles are not thread-safe
        if _magic is None:
            import magic  # not at the top: the conversion child imports this module before its limits

            _magic = magic.Magic(mime=True)
        sniffed = _magic.from_buffer(head)
    return canonical_type(sniffed)


def check_declared_type(kind: str, sniffed: str, declared_type: str | None, filename: str | None) -> None:
    """Refuse a file this kind does not take, or whose name or declared type lies."""
    if kind not in ALLOWED_TYPES:
        raise ValueError(f"unknown document kind {kind!r}")
    actual = canonical_type(sniffed)
    if actual == "application/x-empty":
        raise refusal("empty_file")
    claimed = _claims(declared_type, filename)
    if actual not in ALLOWED_TYPES[kind]:
        raise FileRefused("unsupported_content_type", _unsupported_words(kind, actual, claimed))
    for claim, family in claimed:
        if family != _FAMILY[actual]:
            raise FileRefused("content_type_mismatch", _mismatch_words(actual, claim, family))


def _claims(declared_type: str | None, filename: str | None) -> list[tuple[Phrase, str | None]]:
    """What the client says the file is: (how it said it, family or None for other).

    The name comes first: it is what the clerk sees and can change.
    """
    claims: list[tuple[Phrase, str | None]] = []
    extension = _extension(filename)
    named = Phrase(N_("its name ends in .{extension}"), {"extension": extension})
    if extension in _EXTENSION_FAMILY:
        claims.append((named, _EXTENSION_FAMILY[extension]))
    elif extension and _BUILTIN_TYPES.guess_type("x." + extension, strict=False)[0]:
        claims.append((named, None))
    declared = canonical_type(declared_type)
    if declared not in _UNDECLARED:
        declared = _DECLARED_ONLY_ALIASES.get(declared, declared)
        claims.append(
            (Phrase(N_("the browser reported it as {content_type}"), {"content_type": declared}), _FAMILY.get(declared))
        )
    return claims


def _extension(filename: str | None) -> str:
    base = re.split(r"[/\\]", filename or "")[-1].rstrip(" .")
    return os.path.splitext(base)[1][1:].lower()


def _describe(content_type: str) -> Phrase:
    family = _FAMILY.get(content_type)
    if family:
        return Phrase(_FAMILY_WORDS[family][0])
    if content_type in _OTHER_WORDS:
        return Phrase(_OTHER_WORDS[content_type])
    return Phrase(N_("a file of type {content_type}"), {"content_type": content_type})


def _unsupported_words(kind: str, actual: str, claimed: list[tuple[Phrase, str | None]]) -> Phrase:
    accepted = N_("PDF, JPEG, PNG, TIFF or HEIC")
    if CSV in ALLOWED_TYPES[kind]:
        accepted = N_("PDF, JPEG, PNG, TIFF, HEIC, CSV or TXT")
    params: dict[str, int | str | Phrase] = {
        "actual": _describe(actual),
        "kind": Phrase(_KIND_WORDS[kind]),
        "accepted": Phrase(accepted),
    }
    disguise = next((claim for claim, family in claimed if family and family != _FAMILY.get(actual)), None)
    if disguise is None:
        return Phrase(
            N_(
                "This file is {actual}. For {kind} the registry accepts only {accepted} files. "
                "Scan or save the document in one of these formats and upload it again."
            ),
            params,
        )
    return Phrase(
        N_(
            "This file is {actual}, although {claim}. For {kind} the registry accepts only "
            "{accepted} files. Scan or save the document in one of these formats and upload "
            "it again."
        ),
        {**params, "claim": disguise},
    )


def _mismatch_words(actual: str, claim: Phrase, family: str | None) -> Phrase:
    params: dict[str, int | str | Phrase] = {
        "actual": _describe(actual),
        "claim": claim,
        "extension": _FAMILY_WORDS[_FAMILY[actual]][1],
    }
    if family is None:
        return Phrase(
            N_(
                "The file's contents are {actual}, but {claim}. Check that you chose the right "
                "file. If you did, rename it to end in .{extension} and upload it again."
            ),
            params,
        )
    return Phrase(
        N_(
            "The file's contents are {actual}, but {claim}, which means {claimed}. Check that "
            "you chose the right file. If you did, rename it to end in .{extension} and upload "
            "it again."
        ),
        {**params, "claimed": Phrase(_FAMILY_WORDS[family][0])},
    )


# ---------------------------------------------------------------- file names

_BIDI_CONTROLS = frozenset("\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff")
_WINDOWS_RESERVED = re.compile(r'[<>:"|?*]')
MAX_FILENAME_BYTES = 200


def safe_filename(name: str | None) -> str:
    """A file name safe to store and to offer in a download: no path, no hidden
    direction tricks (`gpj.exe` shown as `exe.jpg`), bounded length."""
    text = unicodedata.normalize("NFC", name or "")
    text = re.split(r"[/\\]", text)[-1]
    text = "".join(char for char in text if char not in _BIDI_CONTROLS and unicodedata.category(char) != "Cc")
    text = _WINDOWS_RESERVED.sub("_", text)
    text = " ".join(text.split()).strip(" .")
    return _shortened(text) or "document"


def _shortened(name: str) -> str:
    """Cut the stem, not the extension, until the UTF-8 name fits."""
    if len(name.encode()) <= MAX_FILENAME_BYTES:
        return name
    stem, extension = os.path.splitext(name)
    if len(extension.encode()) > 16:
        stem, extension = name, ""
    budget = MAX_FILENAME_BYTES - len(extension.encode())
    stem = stem.encode()[:budget].decode(errors="ignore").rstrip(" .")
    return stem + extension
