"""Fixtures of the converter tests: a work folder, a conversion as the upload service runs it, the sandbox."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from registry.documents import sandbox
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


@pytest.fixture
def landlock() -> int:
    """The kernel's Landlock ABI. Without one (an old kernel, a container that forbids it) the sandbox tests
    skip with the reason, unless REGISTRY_REQUIRE_LANDLOCK is set (`.ci/run` sets it): then they fail."""
    abi = sandbox.abi_version()
    if abi == 0 and not os.environ.get("REGISTRY_REQUIRE_LANDLOCK"):
        pytest.skip("this kernel has no Landlock: the converter would run unconfined")
    assert abi > 0, "REGISTRY_REQUIRE_LANDLOCK is set but the kernel offers no Landlock"
    return abi
