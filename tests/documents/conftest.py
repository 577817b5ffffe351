from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from registry.documents.inspection import sniff_content_type
from registry.documents.viewing_copy import ConversionLimits, ViewingCopy, make_viewing_copy


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def convert(workdir: Path) -> Callable[..., ViewingCopy]:
    """Sniff the bytes and convert, as the upload service does."""
    def run(original: Path, limits: ConversionLimits | None = None) -> ViewingCopy:
        sniffed = sniff_content_type(str(original))
        return make_viewing_copy(str(original), sniffed, str(workdir), limits=limits or ConversionLimits())

    return run
