"""The converter children: started ahead of need when asked, told nothing of the server, one file each."""

from __future__ import annotations

import subprocess
from pathlib import Path

from registry.documents import viewing_copy
from registry.documents.inspection import PDF
from registry.documents.viewing_copy import ConversionLimits, make_viewing_copy, prepare_converter

from . import files


def _spare() -> object:
    spare = viewing_copy._spares._spare
    assert spare is not None, "no converter was started ahead of need"
    return spare[2]


def test_a_child_gets_nothing_of_the_servers_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("REGISTRY_MASTER_KEY", "MARKER-master-key-for-the-server-only")
    started = []
    real_popen = subprocess.Popen

    def popen(*args, **kwargs):
        started.append(kwargs.get("env"))
        return real_popen(*args, **kwargs)

    monkeypatch.setattr(viewing_copy.subprocess, "Popen", popen)
    monkeypatch.setattr(viewing_copy, "_spares", viewing_copy._SpareConverter())  # none ready: a child is started

    make_viewing_copy(str(files.simple_pdf(tmp_path / "scan.pdf")), PDF, str(tmp_path))

    assert started and all(env is not None and set(env) == {"PATH", "LC_ALL", "MALLOC_ARENA_MAX"} for env in started)


def test_each_child_converts_one_file_and_exits(tmp_path: Path) -> None:
    pdf = files.simple_pdf(tmp_path / "scan.pdf")
    prepare_converter(ConversionLimits())
    spare = _spare()

    make_viewing_copy(str(pdf), PDF, str(tmp_path))  # the spare takes this file ...

    assert spare.wait(timeout=30) == 0  # ... and is gone once it has answered
    assert viewing_copy._spares._spare is None  # no other child loaded meanwhile: the next is asked for


def test_a_prepared_spare_is_kept_until_used(tmp_path: Path) -> None:
    prepare_converter(ConversionLimits())
    spare = _spare()

    prepare_converter(ConversionLimits())

    assert _spare() is spare and spare.poll() is None


def test_a_spare_started_with_other_limits_is_not_used(tmp_path: Path) -> None:
    pdf = files.simple_pdf(tmp_path / "scan.pdf")
    prepare_converter(ConversionLimits())
    spare = _spare()

    copy = make_viewing_copy(str(pdf), PDF, str(tmp_path), limits=ConversionLimits(max_pages=3))

    assert copy.pages == 1
    assert spare.wait(timeout=30) != 0  # dismissed (killed), never given the file
    prepare_converter(ConversionLimits(max_pages=3))
    assert viewing_copy._spares._spare[1] == ConversionLimits(max_pages=3)
