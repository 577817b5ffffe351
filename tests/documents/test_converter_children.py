"""The converter children: started ahead of need, told nothing of the server, one file each."""
from __future__ import annotations

import subprocess
from pathlib import Path

from registry.documents import viewing_copy
from registry.documents.inspection import PDF
from registry.documents.viewing_copy import ConversionLimits, make_viewing_copy

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

    make_viewing_copy(str(files.simple_pdf(tmp_path / "scan.pdf")), PDF, str(tmp_path))

    assert started and all(env is not None and set(env) == {"PATH", "LC_ALL", "MALLOC_ARENA_MAX"} for env in started)


def test_each_child_converts_one_file_and_exits(tmp_path: Path) -> None:
    pdf = files.simple_pdf(tmp_path / "scan.pdf")
    make_viewing_copy(str(pdf), PDF, str(tmp_path))
    spare = _spare()

    make_viewing_copy(str(pdf), PDF, str(tmp_path))  # the spare takes this file ...

    assert spare.wait(timeout=30) == 0  # ... and is gone once it has answered
    assert _spare() is not spare


def test_a_spare_started_with_other_limits_is_not_used(tmp_path: Path) -> None:
    pdf = files.simple_pdf(tmp_path / "scan.pdf")
    make_viewing_copy(str(pdf), PDF, str(tmp_path))
    spare = _spare()

    make_viewing_copy(str(pdf), PDF, str(tmp_path), limits=ConversionLimits(max_pages=3))

    assert spare.wait(timeout=30) != 0  # dismissed (killed), never given the file
    assert viewing_copy._spares._spare[1] == ConversionLimits(max_pages=3)
