"""Child process that turns one untrusted upload into a viewing copy.

Started by `viewing_copy` ahead of need as

    python -m registry.documents.converter LIMITS_JSON

and given one request as a JSON line on stdin. It caps its own memory, CPU time
and output size before any file parser is loaded; that is why Pillow, pikepdf,
pdfium and img2pdf are imported inside functions, never at the top of this
module (they are loaded while it waits for its request). A request with
``"inspect": true`` only opens the file, counts its pages and estimates what
drawing them will cost (what an upload waits for); otherwise it writes the
viewing copy. It prints exactly one JSON line on stdout:

    {"ok": true, "content_type": ..., "pages": ..., "width": ..., "height": ..., "cost": ...}
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
from collections import Counter
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
ACTIVE_NAMES = frozenset(
    {
        "/JS",
        "/JavaScript",
        "/OpenAction",
        "/AA",
        "/Launch",
        "/GoToR",
        "/GoToE",
        "/SubmitForm",
        "/ImportData",
        "/EmbeddedFiles",
        "/EmbeddedFile",
        "/XFA",
        "/RichMedia",
        "/AcroForm",
        "/URI",
        "/Metadata",
        "/Annots",
    }
)


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
        outcome = {
            "ok": False,
            "reason": "limits_exceeded" if error.errno == errno.EFBIG else "conversion_error",
            "params": {},
        }
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
    """Open the file as the viewing copy will, without rendering: what cannot be opened is refused now.
    ``cost`` is the estimated CPU milliseconds of the copy (see "drawing cost" below)."""
    if content_type == PDF:
        drawing = _check_with_pikepdf(source, limits, estimate=True)
        with _pdfium_document(source, limits) as document:
            sizes = [_page_size(document, index) for index in range(len(document))]
        cost = drawing + sum(_page_pixels(width, height, limits) for width, height in sizes) * NS_PER_PAGE_PIXEL
        return {"content_type": None, "pages": len(sizes), "width": None, "height": None, "cost": _ms(cost)}
    if content_type in IMAGE_FORMATS:
        return _inspect_image(source, content_type, limits)
    if content_type in (CSV, TEXT):
        with open(source, "rb") as file:
            raw = file.read()
        decoded_text(raw)
        return {
            "content_type": None,
            "pages": None,
            "width": None,
            "height": None,
            "cost": _ms(len(raw) * NS_PER_TEXT_BYTE),
        }
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


def _check_with_pikepdf(source: str, limits: Limits, *, estimate: bool = False) -> int:
    """qpdf is the gatekeeper: it tells a locked file from a broken one. Asked to, it also
    estimates what drawing the pages' contents will cost (nanoseconds, see drawing_cost)."""
    import pikepdf

    try:
        with pikepdf.open(source) as pdf:
            _check_page_count(len(pdf.pages), limits)
            return drawing_cost(pdf) if estimate else 0
    except pikepdf.PasswordError:
        raise refusal("pdf_password") from None
    except (pikepdf.PdfError, pikepdf.ForeignObjectError, RuntimeError, ValueError):
        raise refusal("pdf_damaged") from None


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


# ---------------------------------------------------------------- drawing cost

# What a viewing copy costs to draw, in nanoseconds of CPU on the machines of DESIGN.md: per pixel of
# the rendered page (drawn and encoded), per pixel of a picture a page shows (decoded and scaled), per
# byte of a page's drawing instructions (pdfium parses them every time it draws a page, however many
# pages share them), per byte of a genomic text file. Rough on purpose: it orders the copy queue and
# refuses only files an order of magnitude beyond what a copy may use (viewing_copy.FAR_BEYOND).
NS_PER_PAGE_PIXEL = 5
NS_PER_IMAGE_PIXEL = 15
NS_PER_DRAWING_BYTE = 60
NS_PER_TEXT_BYTE = 10
MAX_FORM_DEPTH = 40  # pdfium draws forms nested no deeper
_CALL = re.compile(rb"/([^\s/<>\[\]()%{}]+)\s*Do(?![^\s/<>\[\]()%{}])")
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")


def drawing_cost(pdf: pikepdf.Pdf) -> int:
    """Nanoseconds drawing every page's contents will take (the page pixels are counted apart).
    A page qpdf cannot follow counts as empty: pdfium may still draw it, and refusing a file is for
    pdfium and qpdf to decide, not for an estimate."""
    import pikepdf

    cost, total = _DrawingCost(), 0
    for page in pdf.pages:
        try:
            total += cost.page(page.obj)
        except (pikepdf.PdfError, RuntimeError, ValueError, TypeError, KeyError):
            continue
    return total


class _DrawingCost:
    """What a page draws: its content streams, the forms and pictures they call (as often as they
    are called) and its annotations' appearances. A stream shared by many pages is read once and
    counted on every page; a form that calls itself is counted once, as pdfium draws it."""

    def __init__(self) -> None:
        self._streams: dict[tuple[int, int], tuple[int, Counter[bytes]]] = {}
        self._forms: dict[tuple[tuple[int, int], tuple[int, int]], int] = {}
        self._drawing: set[tuple[tuple[int, int], tuple[int, int]]] = set()

    def page(self, page: Any) -> int:
        import pikepdf

        resources = _inherited(page, "/Resources")
        contents = page.get("/Contents")
        streams = contents if isinstance(contents, pikepdf.Array) else [contents]
        cost = sum(self._content(stream, resources, 0) for stream in streams)
        annotations = page.get("/Annots")
        for annotation in annotations if isinstance(annotations, pikepdf.Array) else []:
            cost += self._appearance(annotation, resources)
        return cost

    def _appearance(self, annotation: Any, resources: Any) -> int:
        import pikepdf

        if not isinstance(annotation, pikepdf.Dictionary):
            return 0
        appearances = annotation.get("/AP")
        normal = appearances.get("/N") if isinstance(appearances, pikepdf.Dictionary) else None
        if isinstance(normal, pikepdf.Dictionary) and not isinstance(normal, pikepdf.Stream):
            return max((self._xobject(state, resources, 0) for state in normal.values()), default=0)
        return self._xobject(normal, resources, 0)

    def _content(self, stream: Any, resources: Any, depth: int) -> int:
        import pikepdf

        if not isinstance(stream, pikepdf.Stream):
            return 0
        size, calls = self._read(stream)
        cost = size * NS_PER_DRAWING_BYTE
        xobjects = resources.get("/XObject") if isinstance(resources, pikepdf.Dictionary) else None
        if isinstance(xobjects, pikepdf.Dictionary):
            for name, times in calls.items():
                cost += times * self._xobject(xobjects.get("/" + name.decode("latin-1")), resources, depth)
        return cost

    def _read(self, stream: Any) -> tuple[int, Counter[bytes]]:
        """Size of the instructions and how often each named XObject is called; a stream qpdf cannot
        decode counts as its stored bytes (pdfium may still draw something of it)."""
        import pikepdf

        key = stream.objgen  # a stream is always an indirect object
        if key not in self._streams:
            try:
                data = stream.read_bytes()
            except (pikepdf.PdfError, RuntimeError, ValueError):
                data = stream.read_raw_bytes()
            calls = Counter(
                _NAME_ESCAPE.sub(lambda hex_: bytes([int(hex_[1], 16)]), match[1]) for match in _CALL.finditer(data)
            )
            self._streams[key] = (len(data), calls)
        return self._streams[key]

    def _xobject(self, xobject: Any, resources: Any, depth: int) -> int:
        import pikepdf

        if not isinstance(xobject, pikepdf.Stream):
            return 0
        subtype = xobject.get("/Subtype")
        if subtype == pikepdf.Name.Image:
            return _whole_number(xobject.get("/Width")) * _whole_number(xobject.get("/Height")) * NS_PER_IMAGE_PIXEL
        if subtype != pikepdf.Name.Form or depth >= MAX_FORM_DEPTH:
            return 0
        own = xobject.get("/Resources")
        if isinstance(own, pikepdf.Dictionary):
            resources = own
        key = (xobject.objgen, resources.objgen if isinstance(resources, pikepdf.Object) else (0, 0))
        if key in self._drawing:
            return 0  # a form inside itself: pdfium stops there
        if key not in self._forms:
            self._drawing.add(key)
            self._forms[key] = self._content(xobject, resources, depth + 1)
            self._drawing.discard(key)
        return self._forms[key]


def _inherited(page: Any, name: str) -> Any:
    """A page attribute, from the page or the nearest ancestor in the page tree."""
    import pikepdf

    node = page
    for _ in range(64):
        if not isinstance(node, pikepdf.Dictionary):
            return None
        if name in node:
            return node[name]
        node = node.get("/Parent")
    return None


def _whole_number(value: Any) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def _page_size(document: Any, index: int) -> tuple[float, float]:
    """The page's size in points, read without parsing its contents; none if pdfium cannot tell
    (the copy finds out what is wrong with the page, as it does today)."""
    import pypdfium2 as pdfium

    try:
        return document.get_page_size(index)
    except pdfium.PdfiumError:
        return 0.0, 0.0


def _page_pixels(width_pt: float, height_pt: float, limits: Limits) -> float:
    """Pixels of the rendered page (none for a page without a size)."""
    if not (width_pt > 0 and height_pt > 0):
        return 0
    dpi = render_dpi(width_pt, height_pt, limits)
    return width_pt * height_pt * (dpi / 72) ** 2


def _ms(nanoseconds: float) -> int:
    return math.ceil(nanoseconds / 1_000_000)


# ---------------------------------------------------------------- images

IMAGE_FORMATS = {JPEG: "JPEG", PNG: "PNG", TIFF: "TIFF", HEIC: "HEIF", HEIF: "HEIF"}
_ROTATED_ORIENTATIONS = frozenset({5, 6, 7, 8})
_DEFAULT_SCAN_DPI = 150.0
# What Pillow's decoders raise on malformed input (found by fuzzing, see tests).
_PILLOW_PARSE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    TypeError,
    EOFError,
    IndexError,
    KeyError,
    ZeroDivisionError,
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
        width, height = image.width, image.height
        pixels = sum(_frame_pixels(image, frames))
        cost = pixels * NS_PER_IMAGE_PIXEL + min(pixels, frames * limits["max_copy_pixels"]) * NS_PER_PAGE_PIXEL
        return {"content_type": None, "pages": frames, "width": width, "height": height, "cost": _ms(cost)}


def _frame_pixels(image: Image.Image, frames: int) -> Iterator[int]:
    """Each frame's pixels (TIFF headers only: no frame is decoded); a frame that cannot be reached
    counts as the first one, and is left for the copy to refuse."""
    first = image.width * image.height
    for index in range(frames):
        try:
            image.seek(index)
            yield image.width * image.height
        except _PILLOW_PARSE_ERRORS:
            yield first


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
