"""What a converter child that a hostile file took over can still do: the attacks, run inside the sandbox.

Each attack runs in a fresh Python process that enters the sandbox exactly as
the converter does (documents.sandbox.enter), standing in for a parser exploit:
read the master key, another clerk's upload, the database; write outside its
folder; start a program; open a TCP connection; signal the server. (More
attacks, from a second reading: test_sandbox_second_reading.py.) Landlock is a
kernel feature: without it (an old kernel, a container that forbids it) these
tests skip with the reason, unless REGISTRY_REQUIRE_LANDLOCK is set, as
`.ci/run` does.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from registry.documents import viewing_copy
from registry.documents.inspection import PDF
from registry.documents.viewing_copy import ConversionLimits

from . import files

ROOT = Path(__file__).resolve().parents[2]

ATTACKS = textwrap.dedent("""
    import json, os, signal, socket, subprocess, sys
    from registry.documents import sandbox
    args = json.loads(sys.argv[1])
    confinement = sandbox.enter(args["source"], args["work"])

    def attempt(action):
        try:
            action()
            return "done"
        except OSError as error:
            return type(error).__name__

    def read(path):
        with open(path, "rb") as fh:
            fh.read()

    def write(path):
        with open(path, "wb") as fh:
            fh.write(b"x")

    def connect():
        with socket.create_connection(("127.0.0.1", args["port"]), timeout=5):
            pass

    print(json.dumps({
        "landlock": confinement.landlock,
        "seccomp": confinement.seccomp,
        "read source": attempt(lambda: read(args["source"])),
        "write in work": attempt(lambda: write(os.path.join(args["work"], "page.pdf"))),
        "read master key": attempt(lambda: read(args["master_key"])),
        "read other upload": attempt(lambda: read(args["other_upload"])),
        "list instance": attempt(lambda: os.listdir(args["instance"])),
        "write outside": attempt(lambda: write(os.path.join(args["instance"], "planted"))),
        "start a program": attempt(lambda: subprocess.run(["/bin/true"], check=True)),
        "tcp connect": attempt(connect),
        "signal the server": attempt(lambda: os.kill(args["server"], 0)),
        "lazy import": attempt(lambda: __import__("xml.dom.minidom")),
    }))
""")


def test_a_taken_over_converter_reaches_only_its_own_file_and_folder(landlock, tmp_path):
    instance = tmp_path / "instance"
    (instance / "uploads" / "work").mkdir(parents=True)
    master_key = instance / "master.key"
    master_key.write_text("MARKER-master-key")
    other_upload = instance / "uploads" / "other.original"
    other_upload.write_bytes(b"%PDF- another person's passport")
    source = instance / "uploads" / "mine.original"
    source.write_bytes(b"%PDF- the file being converted")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        args = {
            "source": str(source),
            "work": str(instance / "uploads" / "work"),
            "instance": str(instance),
            "master_key": str(master_key),
            "other_upload": str(other_upload),
            "port": listener.getsockname()[1],
            "server": os.getpid(),
        }
        result = subprocess.run(
            [sys.executable, "-c", ATTACKS, json.dumps(args)],
            cwd=instance,
            capture_output=True,
            text=True,
            timeout=60,
            env={"PATH": os.defpath, "PYTHONPATH": str(ROOT)},
        )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)

    assert outcome["landlock"] == landlock and outcome["seccomp"]
    assert outcome["read source"] == outcome["write in work"] == outcome["lazy import"] == "done"
    assert outcome["read master key"] == outcome["read other upload"] == "PermissionError"
    assert outcome["list instance"] == outcome["write outside"] == "PermissionError"
    assert outcome["start a program"] == outcome["tcp connect"] == outcome["signal the server"] == "PermissionError"


def test_the_converter_confines_itself_before_it_opens_the_file(landlock, tmp_path):
    source = files.simple_pdf(tmp_path / "scan.pdf")
    request = {"source": str(source), "content_type": PDF, "stem": str(tmp_path / "copy"), "inspect": True}

    outcome = viewing_copy._run_converter(request, ConversionLimits())

    assert outcome["ok"] and outcome["pages"] == 1
    assert outcome["landlock"] == landlock and outcome["seccomp"] is True


@pytest.mark.parametrize(
    ("landlock", "seccomp", "warned"),
    [
        (0, True, ["without Landlock"]),
        (3, False, ["without seccomp"]),
        (0, False, ["without Landlock", "without seccomp"]),
        (3, True, []),  # what Landlock 3 leaves open (TCP, signals), the seccomp filter closes
    ],
)
def test_a_gap_in_the_sandbox_is_reported_to_the_operator(landlock, seccomp, warned, monkeypatch, caplog):
    """Without Landlock or seccomp the copy is still made, and the log says which protection is missing."""
    monkeypatch.setattr(viewing_copy, "_warn_unconfined", viewing_copy._warn_unconfined.__wrapped__)
    report = json.dumps({"ok": True, "pages": 1, "landlock": landlock, "seccomp": seccomp}).encode()

    with caplog.at_level(logging.WARNING, logger=viewing_copy.logger.name):
        outcome = viewing_copy._reported_outcome(0, report, b"", PDF)

    assert outcome["ok"]
    assert [phrase for phrase in ("without Landlock", "without seccomp") if phrase in caplog.text] == warned


def test_elsewhere_than_linux_the_converter_runs_and_says_it_is_unconfined(tmp_path):
    """A developer's Mac has neither Landlock nor seccomp (and system call 444 is another one there). Run apart:
    were the check missing, the process that calls ``enter`` would be confined for good."""
    script = textwrap.dedent(f"""
        import sys
        sys.platform = "darwin"
        from registry.documents import sandbox
        print(sandbox.abi_version(), sandbox.enter({str(tmp_path / "scan.pdf")!r}, {str(tmp_path)!r}))
    """)
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.defpath, "PYTHONPATH": str(ROOT)},
    )

    assert result.stdout.strip() == "0 Confinement(landlock=0, seccomp=False)", result.stderr
