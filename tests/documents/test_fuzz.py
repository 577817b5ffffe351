"""Whatever bytes arrive, the pipeline answers with a clean copy or a FileRefused, nothing else.

Every example spawns a conversion process, so the example counts stay small.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.documents.inspection import FileRefused, check_declared_type, sniff_content_type
from registry.documents.viewing_copy import ViewingCopy, make_viewing_copy

from . import copies, files

FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_SEEDS_DIR = tempfile.TemporaryDirectory(prefix="document-seeds-")


def _seed(make: Callable[[Path], object], name: str) -> bytes:
    path = Path(_SEEDS_DIR.name) / name
    make(path)
    return path.read_bytes()


SEEDS = {  # name: (sniffed type, bytes)
    "pdf with object streams": ("application/pdf", _seed(files.hostile_pdf, "hostile.pdf")),
    "hand-written pdf": (
        "application/pdf",
        files.incremental_update(files.hex_escaped_pdf(), {4: files.stream(files.RIGHT_MARK_DRAWING)}),
    ),
    "jpeg": ("image/jpeg", _seed(files.sideways_gps_jpeg, "photo.jpg")),
    "png": ("image/png", _seed(files.transparent_palette_png, "logo.png")),
    "tiff": ("image/tiff", _seed(lambda path: files.fax_tiff(path, pages=2), "fax.tif")),
}

# A mutation: (relative position, bytes to splice in, how many bytes to drop there).
mutations = st.lists(st.tuples(st.floats(0, 1), st.binary(max_size=8), st.integers(0, 64)), min_size=1, max_size=6)


def _mutated(seed: bytes, changes: list[tuple[float, bytes, int]], cut_at: float) -> bytes:
    data = bytearray(seed)
    for where, inserted, dropped in changes:
        at = int(where * len(data))
        data[at : at + dropped] = inserted
    return bytes(data[: max(1, int(cut_at * len(data)))])


def _convert_anything(data: bytes, content_type: str | None = None) -> ViewingCopy | FileRefused:
    with tempfile.TemporaryDirectory() as scratch:
        original = Path(scratch) / "upload"
        original.write_bytes(data)
        workdir = Path(scratch) / "work"
        workdir.mkdir()
        try:
            sniffed = content_type or sniff_content_type(str(original))
            if content_type is None:
                check_declared_type("genomic_test_result", sniffed, None, None)
            copy = make_viewing_copy(str(original), sniffed, str(workdir))
        except FileRefused as refused:
            assert refused.message and refused.http_status in (415, 422)
            return refused
        if copy.content_type == "application/pdf":
            assert copies.forbidden_names(Path(copy.path)) == []
        assert Path(copy.path).stat().st_size > 0
        assert original.read_bytes() == data
        return copy


@FUZZ
@given(data=st.binary(max_size=4096))
def test_random_bytes_never_escape_as_anything_but_a_refusal(data: bytes) -> None:
    _convert_anything(data)


@FUZZ
@given(
    prefix=st.sampled_from([b"%PDF-1.7\n", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"II*\x00"]),
    body=st.binary(max_size=2048),
)
def test_random_bodies_behind_real_signatures_never_crash(prefix: bytes, body: bytes) -> None:
    _convert_anything(prefix + body)


@pytest.mark.parametrize("seed", sorted(SEEDS))
@FUZZ
@given(changes=mutations, cut_at=st.floats(0.05, 1))
def test_mutated_documents_give_a_clean_copy_or_a_refusal(
    seed: str, changes: list[tuple[float, bytes, int]], cut_at: float
) -> None:
    content_type, original = SEEDS[seed]
    _convert_anything(_mutated(original, changes, cut_at), content_type)
