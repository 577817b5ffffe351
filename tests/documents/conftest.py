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
    def run(original: Path, limits: ConversionLimits = ConversionLimits()) -> ViewingCopy:
        return make_viewing_copy(str(original), sniff_content_type(str(original)), str(workdir), limits=limits)

    return run
