"""Image viewing copies: upright, no private metadata, every real-world pixel format."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from registry.documents.inspection import FileRefused
from registry.documents.viewing_copy import ConversionLimits, ViewingCopy

from . import copies, files

Convert = Callable[..., ViewingCopy]
RED, WHITE, BLUE, GREY, BLACK = (255, 0, 0), (255, 255, 255), (0, 0, 255), (128, 128, 128), (0, 0, 0)


def _close(actual: float | tuple[int, ...] | None, expected: tuple[int, ...] | int, tolerance: int = 12) -> bool:
    assert actual is not None
    actual_values = actual if isinstance(actual, tuple) else (actual,)
    expected_values = expected if isinstance(expected, tuple) else (expected,)
    return all(abs(a - e) <= tolerance for a, e in zip(actual_values, expected_values, strict=True))


def test_a_sideways_phone_photo_is_turned_upright_and_loses_gps_and_all_metadata(
    tmp_path: Path, convert: Convert
) -> None:
    original = tmp_path / "passport.jpg"
    upright_size = files.sideways_gps_jpeg(original)
    with Image.open(original) as stored:
        assert stored.size == upright_size[::-1]
        assert stored.getexif().get_ifd(0x8825)  # GPS is really there before
    before = copies.sha256(original)

    copy = convert(original)

    assert (copy.content_type, copy.width, copy.height) == ("image/jpeg", *upright_size)
    with Image.open(copy.path) as seen:
        assert seen.size == upright_size
        assert _close(seen.getpixel((100, 20)), RED)  # the red band is on top
        assert _close(seen.getpixel((100, 380)), WHITE)
        assert len(seen.getexif()) == 0
        assert not {"exif", "icc_profile", "comment", "xmp", "XML:com.adobe.xmp"} & set(seen.info)
    raw = Path(copy.path).read_bytes()
    for trace in (b"Exif", b"PhoneMaker", files.SECRET_NAME.encode(), b"adobe:ns:meta", b"ICC_PROFILE"):
        assert trace not in raw
    assert copies.sha256(original) == before


def test_a_decompression_bomb_is_refused_before_it_is_decoded(tmp_path: Path, convert: Convert) -> None:
    bomb = files.png_bomb(tmp_path / "scan.png")  # 900 megapixels in ~100 KiB
    assert bomb.stat().st_size < 1024 * 1024
    # Decoding would need ~900 MiB; with 256 MiB the child could only fail on
    # memory, so image_too_large proves the refusal came first.
    with pytest.raises(FileRefused) as refused:
        convert(bomb, ConversionLimits(memory_mb=256))
    assert (refused.value.code, refused.value.http_status) == ("image_too_large", 422)
    assert "lower resolution" in refused.value.message


def test_a_huge_later_page_of_a_tiff_is_caught_too(tmp_path: Path, convert: Convert) -> None:
    """Pillow checks only the first frame's size; the converter checks every page."""
    small, huge = Image.new("1", (100, 100), 1), Image.new("1", (3000, 3000), 1)
    original = tmp_path / "fax.tif"
    small.save(original, "TIFF", save_all=True, append_images=[huge], compression="group4")
    with pytest.raises(FileRefused) as refused:
        convert(original, ConversionLimits(max_image_pixels=5_000_000))
    assert refused.value.code == "image_too_large"


@pytest.mark.parametrize(
    ("maker", "copy_type", "expected_pixels"),
    [
        # 48-bit colour: left mid-grey, right white
        (lambda p: files.sixteen_bit_rgb_png(p / "a.png"), "image/png", {(2, 2): GREY, (60, 30): WHITE}),
        # 16-bit grey: black and white stay black and white (not clipped to white)
        (lambda p: files.sixteen_bit_gray_png(p / "a.png"), "image/png", {(2, 2): 0, (60, 30): 255}),
        # print CMYK red comes out red, not inverted
        (lambda p: files.cmyk_jpeg(p / "a.jpg"), "image/jpeg", {(60, 40): RED}),
        # transparent background becomes paper white, not black
        (lambda p: files.transparent_palette_png(p / "a.png"), "image/png", {(2, 2): WHITE, (20, 20): BLUE}),
        # iPhone HEIC becomes JPEG
        (lambda p: files.heic_photo(p / "a.heic"), "image/jpeg", {(40, 120): BLUE, (280, 120): WHITE}),
        # single-page TIFF becomes PNG
        (lambda p: files.fax_tiff(p / "a.tif", pages=1), "image/png", {(200, 200): 0, (1000, 1000): 255}),
    ],
)
def test_real_world_pixel_formats_get_a_faithful_copy(
    tmp_path: Path,
    convert: Convert,
    maker: Callable[[Path], Path],
    copy_type: str,
    expected_pixels: dict[tuple[int, int], tuple[int, ...] | int],
) -> None:
    copy = convert(maker(tmp_path))
    assert copy.content_type == copy_type
    with Image.open(copy.path) as seen:
        assert seen.mode in ("1", "L", "RGB")
        assert (seen.width, seen.height) == (copy.width, copy.height)
        for point, colour in expected_pixels.items():
            assert _close(seen.getpixel(point), colour)


def test_every_page_of_a_fax_tiff_is_in_the_copy_at_its_paper_size(tmp_path: Path, convert: Convert) -> None:
    original = files.fax_tiff(tmp_path / "fax.tif", pages=3)
    copy = convert(original)
    path = Path(copy.path)
    assert (copy.content_type, copy.pages) == ("application/pdf", 3)
    assert copies.page_count(path) == 3
    assert copies.forbidden_names(path) == []
    # 1728 x 2200 pixels at 204 x 196 dpi: 8.47 x 11.22 inches, not squashed
    assert copies.page_size_points(path, 2) == pytest.approx((1728 / 204 * 72, 2200 / 196 * 72), abs=1.5)
    third = copies.rendered_page(path, 2)
    assert _close(third.getpixel((round(250 / 204 * 72), round(850 / 196 * 72))), BLACK, 60)  # page 3's box


def test_an_oversized_photo_is_scaled_down_not_refused(tmp_path: Path, convert: Convert) -> None:
    original = tmp_path / "photo.jpg"
    Image.new("RGB", (4000, 3000), "white").save(original, "JPEG")
    copy = convert(original, ConversionLimits(max_copy_pixels=3_000_000))
    assert copy.width and copy.height
    assert copy.width * copy.height <= 3_000_000
    assert copy.width / copy.height == pytest.approx(4 / 3, rel=0.01)


def test_a_truncated_photo_is_refused_as_damaged(tmp_path: Path, convert: Convert) -> None:
    whole = tmp_path / "whole.jpg"
    picture = Image.effect_noise((400, 400), 50).convert("RGB")
    ImageDraw.Draw(picture).text((10, 10), "ID 0123456", fill="white")
    picture.save(whole, "JPEG")
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(whole.read_bytes()[:5000])
    with pytest.raises(FileRefused) as refused:
        convert(cut)
    assert (refused.value.code, refused.value.http_status) == ("malformed_file", 422)
