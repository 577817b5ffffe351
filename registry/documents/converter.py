"""Child process that turns one untrusted upload into a viewing copy.

Started by `viewing_copy` ahead of need as

    python -m registry.documents.converter LIMITS_JSON

and given one request as a JSON line on stdin. It caps its own memory, CPU time
and output size before any file parser is loaded; that is why Pillow, pikepdf,
pdfium and img2pdf are imported inside functions, never at the top of this
module (they are loaded while it waits for its request). A request with
``"inspect": true`` only opens the file and counts its pages (what an upload
waits for); otherwise it writes the viewing copy. It prints exactly one JSON
line on stdout:

    {"ok": true, "content_type": ..., "pages": ..., "width": ..., "height": ...}
    {"ok": false, "reason": <key of inspection.REFUSALS>, "params": {name: int}}

Everything else (library warnings, tracebacks) goes to stderr, for the log only.
"""
from __future__ import annotations

import codecs
import errno
import io
import json
import math
import os
import re
import resource
import sys
import tempfile
import traceback
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

from registry.documents import sandbox
from registry.documents.inspection import (
    CSV,
    HEIC,
    HEIF,
    JPEG,
    PDF,
    PNG,
    TEXT,
    TIFF,
    FileRefused,
    refusal,
)

if TYPE_CHECKING:
    import pikepdf
    from PIL import Image

MIB = 1024 * 1024
NICENESS = 10  # converting is background work: a clerk's request comes first
TEXT_UTF8 = "text/plain; charset=utf-8"
COPY_SUFFIX = {PDF: ".pdf", JPEG: ".jpg", PNG: ".png", TEXT_UTF8: ".txt"}
Limits = dict[str, int]
Outcome = dict[str, Any]

# Names that make a PDF do something or carry something besides its page
# pictures. Compared after pikepdf has decoded `#xx` escapes.
ACTIVE_NAMES = frozenset({
    "/JS", "/JavaScript", "/OpenAction", "/AA", "/Launch", "/GoToR", "/GoToE",
    "/SubmitForm", "/ImportData", "/EmbeddedFiles", "/EmbeddedFile", "/XFA",
    "/RichMedia", "/AcroForm", "/URI", "/Metadata", "/Annots",
})


# ---------------------------------------------------------------- process

def apply_limits(limits: Limits) -> None:
    """Cap this process: memory, CPU seconds, bytes written; no core dumps."""
    memory = limits["memory_mb"] * MIB
    cpu = limits["cpu_seconds"]
    output = limits["max_output_mb"] * MIB
    _lower_limit(resource.RLIMIT_AS, memory, memory)
    _lower_limit(resource.RLIMIT_CPU, cpu, cpu + 1)  # SIGXCPU first, SIGKILL a second later
    _lower_limit(resource.RLIMIT_FSIZE, output, output)
    _lower_limit(resource.RLIMIT_CORE, 0, 0)


def _lower_limit(which: int, soft: int, hard: int) -> None:
    """Only ever lower a limit: the host may already be stricter than we are."""
    _, old_hard = resource.getrlimit(which)
    if old_hard != resource.RLIM_INFINITY:
        hard = min(hard, old_hard)
    resource.setrlimit(which, (min(soft, hard), hard))


def main(argv: list[str]) -> int:
    """Started ahead of need: cap this process, load the parsers, then convert the one request on stdin."""
    limits: Limits = json.loads(argv[1])
    apply_limits(limits)
    _refuse_tracing()
    os.nice(NICENESS)
    report_fd = _private_stdout()
    _load_parsers()
    line = sys.stdin.readline()
    if not line.strip():
        return 0  # dismissed unused: the server stopped, or wants other limits
    request = {**json.loads(line), "limits": limits}
    work = os.path.dirname(request["stem"])
    os.environ["TMPDIR"] = work  # a library's scratch files stay in the work folder
    tempfile.tempdir = None
    confinement = sandbox.enter(request["source"], work)
    try:
        outcome: Outcome = {"ok": True, **convert(request)}
    except FileRefused as refused:
        outcome = {"ok": False, "reason": refused.reason, "params": refused.params}
    except MemoryError:
        outcome = {"ok": False, "reason": "limits_exceeded", "params": {}}
    except OSError as error:
        traceback.print_exc()  # EFBIG: the copy outgrew the output limit (Python ignores SIGXFSZ)
        outcome = {"ok": False, "reason": "limits_exceeded" if error.errno == errno.EFBIG else "conversion_error",
                   "params": {}}
    except Exception:
        traceback.print_exc()
        outcome = {"ok": False, "reason": "conversion_error", "params": {}}
    report = {**outcome, "landlock": confinement.landlock, "seccomp": confinement.seccomp}
    os.write(report_fd, (json.dumps(report) + "\n").encode())
    return 0


def _refuse_tracing() -> None:
    """Not dumpable: a converter that a hostile file took over cannot ptrace or read the memory of the
    spare child waiting for the next file (both run as the same user)."""
    import ctypes

    PR_SET_DUMPABLE = 4
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def _load_parsers() -> None:
    """Import every parser now, under the limits, while nobody waits for them (a quarter second of CPU)."""
    try:
        import img2pdf  # noqa: F401
        import pikepdf  # noqa: F401
        import pillow_heif  # noqa: F401
        import pypdfium2  # noqa: F401
        import pyseccomp  # noqa: F401  (finding libseccomp runs ldconfig: before the sandbox, not after)
        from PIL import Image, ImageCms, ImageOps  # noqa: F401
    except (ImportError, MemoryError, RuntimeError):
        traceback.print_exc()  # the conversion imports again and reports what fails


def _private_stdout() -> int:
    """Keep fd 1 for the report alone: whatever a library prints goes to stderr."""
    report_fd = os.dup(1)
    os.dup2(2, 1)
    return report_fd


def convert(request: dict[str, Any]) -> Outcome:
    content_type, source, stem = request["content_type"], request["source"], request["stem"]
    limits: Limits = request["limits"]
    if request.get("inspect"):
        return inspect(source, content_type, limits)
    if content_type == PDF:
        return convert_pdf(source, stem, limits)
    if content_type in IMAGE_FORMATS:
        return convert_image(source, stem, content_type, limits)
    if content_type in (CSV, TEXT):
        return convert_text(source, stem)
    raise ValueError(f"no converter for {content_type}")


def inspect(source: str, content_type: str, limits: Limits) -> Outcome:
    """Open the file as the viewing copy will, without rendering: what cannot be opened is refused now."""
    if content_type == PDF:
        _check_with_pikepdf(source, limits)
        with _pdfium_document(source, limits) as document:
            return {"content_type": None, "pages": len(document), "width": None, "height": None}
    if content_type in IMAGE_FORMATS:
        return _inspect_image(source, content_type, limits)
    if content_type in (CSV, TEXT):
        with open(source, "rb") as file:
            decoded_text(file.read())
        return {"content_type": None, "pages": None, "width": None, "height": None}
    raise ValueError(f"no converter for {content_type}")


# ---------------------------------------------------------------- PDF

def convert_pdf(source: str, stem: str, limits: Limits) -> Outcome:
    """Render every page to pixels and rebuild an image-only PDF from them."""
    _check_with_pikepdf(source, limits)
    pages = _rendered_pages(source, limits)
    target = stem + ".pdf"
    write_image_pdf(pages, target)
    check_copy(target, len(pages))
    return {"content_type": PDF, "pages": len(pages), "width": None, "height": None}


def _check_with_pikepdf(source: str, limits: Limits) -> None:
    """qpdf is the gatekeeper: it tells a locked file from a broken one."""
    import pikepdf

    try:
        with pikepdf.open(source) as pdf:
            page_count = len(pdf.pages)
    except pikepdf.PasswordError:
        raise refusal("pdf_password") from None
    except (pikepdf.PdfError, pikepdf.ForeignObjectError, RuntimeError, ValueError):
        raise refusal("pdf_damaged") from None
    _check_page_count(page_count, limits)


def _check_page_count(count: int, limits: Limits) -> None:
    if count == 0:
        raise refusal("pdf_no_pages")
    if count > limits["max_pages"]:
        raise refusal("too_many_pages", pages=count, max_pages=limits["max_pages"])


@contextmanager
def _pdfium_document(source: str, limits: Limits) -> Iterator[Any]:
    """pdfium refuses files qpdf would repair into empty pages (an interrupted download)."""
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(source)
    except pdfium.PdfiumError:
        raise refusal("pdf_damaged") from None
    try:
        _check_page_count(len(document), limits)
        yield document
    except pdfium.PdfiumError:
        raise refusal("pdf_damaged") from None
    finally:
        document.close()


def _rendered_pages(source: str, limits: Limits) -> list[bytes]:
    """Each page as a JPEG whose DPI keeps the page's printed size."""
    with _pdfium_document(source, limits) as document:
        document.init_forms()  # filled-in form fields are part of what the clerk must see
        return [_rendered_page(document[index], limits) for index in range(len(document))]


def _rendered_page(page: Any, limits: Limits) -> bytes:
    try:
        width, height = page.get_size()
        dpi = render_dpi(width, height, limits)
        bitmap = page.render(scale=dpi / 72, rev_byteorder=True, may_draw_forms=True)
        return page_bytes(bitmap.to_pil(), (dpi, dpi))
    finally:
        page.close()


def render_dpi(width_pt: float, height_pt: float, limits: Limits) -> int:
    """The configured DPI, lowered for huge pages so one page stays within the pixel cap."""
    if not (width_pt > 0 and height_pt > 0):
        raise refusal("pdf_damaged")
    square_inches = width_pt * height_pt / 72**2
    fitting = math.floor(math.sqrt(limits["max_copy_pixels"] / square_inches))
    return max(1, min(limits["dpi"], fitting))


def page_bytes(image: Image.Image, dpi: tuple[float, float]) -> bytes:
    """One page for img2pdf: bilevel pages stay sharp as PNG, the rest are JPEG."""
    buffer = io.BytesIO()
    if image.mode == "1":
        image.save(buffer, "PNG", dpi=dpi)
    else:
        image.save(buffer, "JPEG", quality=85, dpi=dpi)
    return buffer.getvalue()


def write_image_pdf(pages: list[bytes], target: str) -> None:
    import img2pdf

    with open(target, "wb") as out:
        img2pdf.convert(pages, nodate=True, outputstream=out)


def check_copy(target: str, expected_pages: int) -> None:
    """Re-read the copy we built: it must hold our pages and nothing else."""
    import pikepdf

    with pikepdf.open(target) as copy:
        if active_content(copy) or len(copy.pages) != expected_pages:
            raise refusal("copy_not_clean")


def active_content(pdf: pikepdf.Pdf) -> set[str]:
    """Every active or hidden-content name anywhere in the file, plus document info."""
    import pikepdf

    found = {"/Info"} if "/Info" in pdf.trailer else set()
    pending: list[Any] = [pdf.trailer, *pdf.objects]
    while pending:
        item = pending.pop()
        if isinstance(item, pikepdf.Name):
            found.update({str(item)} & ACTIVE_NAMES)
        elif isinstance(item, (pikepdf.Dictionary, pikepdf.Stream)):
            found.update(set(item.keys()) & ACTIVE_NAMES)
            pending.extend(value for value in item.values() if _direct_container(value))
        elif isinstance(item, pikepdf.Array):
            pending.extend(value for value in item if _direct_container(value))
    return found


def _direct_container(value: Any) -> bool:
    """Indirect objects are visited on their own, as members of `pdf.objects`."""
    import pikepdf

    if isinstance(value, pikepdf.Name):
        return True
    return isinstance(value, (pikepdf.Dictionary, pikepdf.Array)) and not value.is_indirect


# ---------------------------------------------------------------- images

IMAGE_FORMATS = {JPEG: "JPEG", PNG: "PNG", TIFF: "TIFF", HEIC: "HEIF", HEIF: "HEIF"}
_ROTATED_ORIENTATIONS = frozenset({5, 6, 7, 8})
_DEFAULT_SCAN_DPI = 150.0
# What Pillow's decoders raise on malformed input (found by fuzzing, see tests).
_PILLOW_PARSE_ERRORS = (
    OSError, SyntaxError, ValueError, TypeError, EOFError, IndexError, KeyError, ZeroDivisionError,
)


def convert_image(source: str, stem: str, content_type: str, limits: Limits) -> Outcome:
    """Upright, metadata-free copy; every page of a multi-page TIFF ends up in a PDF."""
    with _opened_image(source, content_type, limits) as image:
        frames = _frame_count(image, content_type, limits)
        if frames > 1:
            return _frames_to_pdf(image, frames, stem, limits)
        return _saved_picture(clean_frame(image, limits), stem, content_type)


def _inspect_image(source: str, content_type: str, limits: Limits) -> Outcome:
    with _opened_image(source, content_type, limits) as image:
        frames = _frame_count(image, content_type, limits)
        if image.width * image.height > limits["max_image_pixels"]:
            raise _too_large(limits)
        return {"content_type": None, "pages": frames, "width": image.width, "height": image.height}


@contextmanager
def _opened_image(source: str, content_type: str, limits: Limits) -> Iterator[Image.Image]:
    """The verified image; Pillow's many ways of failing on a bad file become one refusal."""
    from PIL import Image

    _configure_pillow(limits)
    try:
        with _verified_image(source, IMAGE_FORMATS[content_type]) as image:
            yield image
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_large(limits) from None
    except _PILLOW_PARSE_ERRORS:
        raise refusal("image_damaged") from None


def _frame_count(image: Image.Image, content_type: str, limits: Limits) -> int:
    frames = getattr(image, "n_frames", 1) if content_type == TIFF else 1
    if frames > limits["max_pages"]:
        raise refusal("too_many_pages", pages=frames, max_pages=limits["max_pages"])
    return int(frames)


def _configure_pillow(limits: Limits) -> None:
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    Image.MAX_IMAGE_PIXELS = limits["max_image_pixels"]
    warnings.simplefilter("error", Image.DecompressionBombWarning)


def _too_large(limits: Limits) -> FileRefused:
    return refusal("image_too_large", max_megapixels=limits["max_image_pixels"] // 1_000_000)


def _verified_image(source: str, image_format: str) -> Image.Image:
    """verify() reads the whole file once; a verified image must be reopened to use."""
    from PIL import Image

    with Image.open(source, formats=[image_format]) as probe:
        probe.verify()
    return Image.open(source, formats=[image_format])


def clean_frame(image: Image.Image, limits: Limits) -> Image.Image:
    """The current frame upright, in 1/L/RGB, within the pixel cap, with no metadata."""
    from PIL import Image, ImageOps

    if image.width * image.height > limits["max_image_pixels"]:
        raise _too_large(limits)  # Pillow checks only the first frame of a file
    scale = _copy_scale(image.size, limits)
    if scale < 1:
        image.draft(None, _scaled(image.size, scale))  # JPEG decodes at reduced size
    ImageOps.exif_transpose(image, in_place=True)
    scale = _copy_scale(image.size, limits)
    if scale < 1:
        image = image.resize(_scaled(image.size, scale), Image.Resampling.LANCZOS)
    image = display_mode(image)
    clean = Image.new(image.mode, image.size)  # fresh: no EXIF, XMP, ICC, comments
    clean.paste(image)
    return clean


def _copy_scale(size: tuple[int, int], limits: Limits) -> float:
    return min(1.0, math.sqrt(limits["max_copy_pixels"] / (size[0] * size[1])))


def _scaled(size: tuple[int, int], scale: float) -> tuple[int, int]:
    return max(1, math.floor(size[0] * scale)), max(1, math.floor(size[1] * scale))


def display_mode(image: Image.Image) -> Image.Image:
    """Bring any Pillow mode to 1, L or RGB as it looks on paper (white behind transparency)."""
    from PIL import Image

    if image.has_transparency_data:
        rgba = image.convert("RGBA")
        paper = Image.new("RGB", rgba.size, "white")
        paper.paste(rgba, mask=rgba.getchannel("A"))
        return paper
    if image.mode in ("1", "L"):
        return image
    if image.mode in ("RGB", "CMYK"):
        return _in_srgb(image)
    if image.mode.startswith("I") or image.mode == "F":
        return _eight_bit_gray(image)
    return image.convert("RGB")


def _in_srgb(image: Image.Image) -> Image.Image:
    """Apply the embedded colour profile (phone P3, print CMYK) rather than drop it blindly."""
    from PIL import ImageCms

    profile = image.info.get("icc_profile")
    if profile:
        try:
            converted = ImageCms.profileToProfile(
                image, io.BytesIO(profile), ImageCms.createProfile("sRGB"), outputMode="RGB"
            )
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile must not cost the clerk the document
    return image if image.mode == "RGB" else image.convert("RGB")


def _eight_bit_gray(image: Image.Image) -> Image.Image:
    """16-bit and float scans: stretch the used range to 0..255 instead of clipping it."""
    wide = image if image.mode == "F" else image.convert("I")
    low, high = cast(tuple[float, float], wide.getextrema())  # one band: (min, max)
    if low >= 0 and high <= 255:
        return wide.convert("L")
    factor = 255 / (high - low)
    return wide.point(lambda value: value * factor - low * factor).convert("L")


def _saved_picture(image: Image.Image, stem: str, content_type: str) -> Outcome:
    """PNG and TIFF stay lossless (PNG); photos (JPEG, HEIC) become JPEG."""
    if content_type in (PNG, TIFF):
        copy_type, target = PNG, stem + ".png"
        image.save(target, "PNG")
    else:
        copy_type, target = JPEG, stem + ".jpg"
        (image.convert("L") if image.mode == "1" else image).save(target, "JPEG", quality=90)
    return {"content_type": copy_type, "pages": 1, "width": image.width, "height": image.height}


def _frames_to_pdf(image: Image.Image, frames: int, stem: str, limits: Limits) -> Outcome:
    pages = []
    for index in range(frames):
        image.seek(index)
        inches = _page_inches(image)
        clean = clean_frame(image, limits)
        pages.append(page_bytes(clean, (clean.width / inches[0], clean.height / inches[1])))
    target = stem + ".pdf"
    write_image_pdf(pages, target)
    check_copy(target, frames)
    return {"content_type": PDF, "pages": frames, "width": None, "height": None}


def _page_inches(image: Image.Image) -> tuple[float, float]:
    """Printed size of the frame as it will stand upright (fax pixels are not square)."""
    x_dpi, y_dpi = (float(value) for value in image.info.get("dpi", (0, 0)))
    if not (10 <= x_dpi <= 5000 and 10 <= y_dpi <= 5000):
        x_dpi = y_dpi = _DEFAULT_SCAN_DPI
    width, height = image.width / x_dpi, image.height / y_dpi
    if image.getexif().get(0x0112) in _ROTATED_ORIENTATIONS:
        return height, width
    return width, height


# ---------------------------------------------------------------- text

_UNWANTED_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_BINARY_SIGNS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")


def convert_text(source: str, stem: str) -> Outcome:
    """Genomic CSV/TXT: decoded, stripped of control and direction-override characters, UTF-8."""
    with open(source, "rb") as file:
        text = decoded_text(file.read())
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    with open(stem + ".txt", "w", encoding="utf-8", newline="") as out:
        out.write(_UNWANTED_TEXT.sub("", text))
    return {"content_type": TEXT_UTF8, "pages": None, "width": None, "height": None}


def decoded_text(raw: bytes) -> str:
    """UTF-16 with a BOM, else UTF-8, else cp1251 (older Russian-language lab software)."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings: tuple[str, ...] = ("utf-16",)
    elif b"\x00" in raw:
        raise refusal("text_not_text")
    else:
        encodings = ("utf-8-sig", "cp1251")
    for encoding in encodings:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if len(_BINARY_SIGNS.findall(text)) <= len(text) / 50:  # binary junk: about 1 in 9
            return text
        break
    raise refusal("text_not_text")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
