"""A file that would exhaust the machine stops its own child, and the clerk gets a plain refusal."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from registry.documents.inspection import FileRefused
from registry.documents.viewing_copy import ConversionLimits, ViewingCopy

from . import files

Convert = Callable[..., ViewingCopy]
NEVER_FINISHES = 30  # 2**30 nested drawings: minutes of CPU


def _assert_plain_refusal(refused: FileRefused, workdir: Path) -> None:
    assert (refused.code, refused.http_status) == ("conversion_failed", 422)
    for internals in ("Traceback", "signal", "Error", "rlimit", "pdfium"):
        assert internals not in refused.message
    assert list(workdir.iterdir()) == []  # no half-written copy left for anyone to store


def test_a_child_killed_by_the_memory_limit_is_a_clean_refusal(
    tmp_path: Path, workdir: Path, convert: Convert, caplog: pytest.LogCaptureFixture
) -> None:
    bomb = files.content_bomb_pdf(tmp_path / "bomb.pdf", mebibytes=300)
    with caplog.at_level(logging.WARNING), pytest.raises(FileRefused) as refused:
        convert(bomb, ConversionLimits(memory_mb=200))
    _assert_plain_refusal(refused.value, workdir)
    assert "too large or too complex" in refused.value.message
    assert "converter died" in caplog.text  # the operator's log says what happened


def test_a_file_that_burns_cpu_is_stopped_by_the_cpu_limit(tmp_path: Path, workdir: Path, convert: Convert) -> None:
    endless = files.exponential_pdf(tmp_path / "endless.pdf", NEVER_FINISHES)
    with pytest.raises(FileRefused) as refused:
        convert(endless, ConversionLimits(cpu_seconds=1, wall_seconds=60))
    _assert_plain_refusal(refused.value, workdir)


def test_a_conversion_past_the_wall_clock_is_killed(tmp_path: Path, workdir: Path, convert: Convert) -> None:
    endless = files.exponential_pdf(tmp_path / "endless.pdf", NEVER_FINISHES)
    with pytest.raises(FileRefused) as refused:
        convert(endless, ConversionLimits(cpu_seconds=60, wall_seconds=1))
    _assert_plain_refusal(refused.value, workdir)
    assert "longer than 1 seconds" in refused.value.message


def test_the_same_files_convert_when_they_are_small(tmp_path: Path, convert: Convert) -> None:
    """The limits, not the files' shape, caused the refusals above."""
    assert convert(files.content_bomb_pdf(tmp_path / "spaces.pdf", mebibytes=2)).pages == 1
    assert convert(files.exponential_pdf(tmp_path / "nested.pdf", depth=4)).pages == 1


def test_no_file_parser_is_loaded_before_the_child_sets_its_limits() -> None:
    """Everything the child imports before `apply_limits` runs is this module's import
    chain, so `registry/__init__.py` and `registry/documents/__init__.py` must stay light."""
    parsers = ("PIL", "pikepdf", "pypdfium2", "img2pdf", "pillow_heif", "magic", "flask", "sqlalchemy")
    probe = (
        "import sys, registry.documents.converter; "
        f"print(sorted(name for name in sys.modules if name.split('.')[0] in {parsers!r}))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
