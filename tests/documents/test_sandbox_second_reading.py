"""Second reading of the converter sandbox: the holes Landlock alone left open, each closed since.

Each test runs an attack in a fresh Python process that enters the sandbox
exactly as the converter does (documents.sandbox.enter). Every one of them
succeeded under Landlock alone: Unix socket files, UDP, MPTCP and raw sockets,
changing the master key's mode, running a program copied into memory, a
grandchild escaping the group kill, fonts pdfium could no longer read.
"""

from __future__ import annotations

import glob
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pikepdf
import pytest

from registry.documents import viewing_copy

ROOT = Path(__file__).resolve().parents[2]

PRELUDE = textwrap.dedent("""
    import ctypes, json, os, socket, sys
    from registry.documents import sandbox
    args = json.loads(sys.argv[1])
    if args.get("confine", True):
        sandbox.enter(args["source"], args["work"])

    def attempt(action):
        try:
            result = action()
            return "done" if result is None else result
        except OSError as error:
            return type(error).__name__
""")


@pytest.fixture
def instance(tmp_path: Path) -> dict[str, str]:
    inst = tmp_path / "instance"
    (inst / "uploads" / "work").mkdir(parents=True)
    key = inst / "master.key"
    key.write_text("MARKER-master-key")
    key.chmod(0o600)
    source = inst / "uploads" / "mine.original"
    source.write_bytes(b"%PDF- the file being converted")
    return {
        "instance": str(inst),
        "master_key": str(key),
        "source": str(source),
        "work": str(inst / "uploads" / "work"),
    }


def run_confined(body: str, args: dict, cwd: str, **popen) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(body), json.dumps(args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.defpath, "PYTHONPATH": str(ROOT)},
        **popen,
    )


def outcome_of(result: subprocess.CompletedProcess[str]) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- network


def test_tcp_over_mptcp_is_blocked(landlock, instance):
    """IPPROTO_MPTCP sockets fall back to plain TCP and are not covered by LANDLOCK_ACCESS_NET_CONNECT_TCP."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        result = run_confined(
            """
            def connect():
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262) as s:
                    s.settimeout(5)
                    s.connect(("127.0.0.1", args["port"]))
                    s.sendall(b"MARKER-over-mptcp")
            print(json.dumps({"mptcp": attempt(connect)}))
        """,
            {**instance, "port": listener.getsockname()[1]},
            instance["instance"],
        )
    assert outcome_of(result)["mptcp"] == "PermissionError"


def test_udp_is_blocked(landlock, instance):
    """Landlock only knows TCP: UDP (DNS exfiltration, syslog, statsd...) reaches anything."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        receiver.settimeout(1)
        result = run_confined(
            """
            def send():
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.sendto(b"MARKER-udp", ("127.0.0.1", args["port"]))
            print(json.dumps({"udp": attempt(send)}))
        """,
            {**instance, "port": receiver.getsockname()[1]},
            instance["instance"],
        )
        outcome = outcome_of(result)
        try:
            received = receiver.recv(100)
        except TimeoutError:
            received = b""
    assert received == b"" and outcome["udp"] != "done"


def test_pathname_unix_sockets_are_blocked(landlock, instance, tmp_path):
    """Connecting to a named Unix socket needs no Landlock right: PostgreSQL's /var/run/postgresql/.s.PGSQL.5432
    (peer authentication as the server's user), docker.sock, a gunicorn unix bind, /dev/log."""
    stream_path, dgram_path = str(tmp_path / ".s.PGSQL.5432"), str(tmp_path / "log")
    with socket.socket(socket.AF_UNIX) as server, socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as log:
        server.bind(stream_path)
        server.listen()
        log.bind(dgram_path)
        result = run_confined(
            """
            def stream():
                with socket.socket(socket.AF_UNIX) as s:
                    s.connect(args["stream"])
            def dgram():
                with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
                    s.sendto(b"MARKER", args["dgram"])
            print(json.dumps({"stream": attempt(stream), "dgram": attempt(dgram)}))
        """,
            {**instance, "stream": stream_path, "dgram": dgram_path},
            instance["instance"],
        )
    outcome = outcome_of(result)
    assert outcome["stream"] != "done", "connected to a Unix socket outside the sandbox (e.g. PostgreSQL)"
    assert outcome["dgram"] != "done"


def test_a_root_converter_keeps_no_capability_and_no_raw_socket(landlock, instance):
    """Run as root (as on this machine), the child kept every capability: raw IP sockets bypass the TCP rule,
    and CAP_SETUID would let it become any user (whose files Landlock still hides, but not their processes)."""
    result = run_confined(
        """
        def raw():
            socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP).close()
        print(json.dumps({"raw": attempt(raw), "setuid": attempt(lambda: os.setuid(4321))}))
    """,
        instance,
        instance["instance"],
    )
    outcome = outcome_of(result)
    assert outcome["raw"] != "done" and outcome["setuid"] == "PermissionError"


# ---------------------------------------------------------------- files


def test_cannot_change_the_master_keys_metadata(landlock, instance):
    """Landlock does not handle chmod/chown/utime/setxattr: the child can make the key world-readable (or 000)."""
    result = run_confined(
        """
        key = args["master_key"]
        print(json.dumps({
            "chmod": attempt(lambda: os.chmod(key, 0o644)),
            "chown": attempt(lambda: os.chown(key, os.getuid(), os.getgid())),
            "utime": attempt(lambda: os.utime(key, (0, 0))),
            "setxattr": attempt(lambda: os.setxattr(key, "user.planted", b"1")),
        }))
    """,
        instance,
        instance["instance"],
    )
    outcome = outcome_of(result)
    mode = os.stat(instance["master_key"]).st_mode & 0o777
    assert mode == 0o600, f"the confined child changed the master key to {oct(mode)}"
    assert "done" not in outcome.values(), outcome


def test_nothing_executes_not_even_from_a_memfd(landlock, instance):
    """EXECUTE is not granted anywhere, but a memfd is on an internal mount Landlock skips: the loader copied
    into one runs (and could run any static binary the exploit carries)."""
    result = run_confined(
        """
        def run_from_memfd():
            loader = next(p for p in ("/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1") if os.path.exists(p))
            with open(loader, "rb") as fh:
                data = fh.read()
            fd = os.memfd_create("x", 0)
            os.write(fd, data)
            pid = os.fork()
            if pid == 0:
                devnull = os.open("/dev/null", os.O_RDONLY)
                os.dup2(devnull, 1)
                try:
                    os.execve(fd, ["ld.so", "--version"], {})
                except OSError as error:
                    os._exit(100 + error.errno)
            code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
            if code >= 100:
                raise PermissionError(code - 100, "exec refused")
        print(json.dumps({"memfd exec": attempt(run_from_memfd)}))
    """,
        instance,
        instance["instance"],
    )
    assert outcome_of(result)["memfd exec"] != "done"


# ---------------------------------------------------------------- process


def test_nothing_the_child_starts_outlives_the_group_kill(landlock, instance):
    """viewing_copy kills the child's process group; a grandchild that calls setsid() is not in it and lives on
    (confined, but free to keep using UDP / Unix sockets / chmod after the work folder is gone)."""
    body = """
        import time
        pid = os.fork()
        if pid == 0:
            os.setsid()
            for fd in (0, 1, 2):
                os.close(fd)
            time.sleep(60)
            os._exit(0)
        print(json.dumps({"grandchild": pid}))
    """
    process = subprocess.Popen(
        [sys.executable, "-c", PRELUDE + textwrap.dedent(body), json.dumps(instance)],
        cwd=instance["instance"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={"PATH": os.defpath, "PYTHONPATH": str(ROOT)},
        start_new_session=True,
    )  # as viewing_copy._start_converter
    stdout, _ = process.communicate(timeout=60)
    viewing_copy._kill_group(process)  # as viewing_copy._run_converter
    grandchild = json.loads(stdout)["grandchild"]
    time.sleep(0.3)
    alive = _alive(grandchild)
    if alive:
        os.kill(grandchild, signal.SIGKILL)  # our own test process, by its id
    assert not alive, "a process started by the converter survived the group kill"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


# ---------------------------------------------------------------- legitimate files

FONT = next(
    iter(
        glob.glob("/usr/share/fonts/truetype/liberation/LiberationMono-Bold.ttf")
        + glob.glob("/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf")
    ),
    None,
)


@pytest.mark.skipif(FONT is None, reason="no Liberation/DejaVu system font installed")
def test_a_pdf_with_a_non_embedded_cyrillic_font_renders_as_unconfined(landlock, tmp_path):
    """pdfium looks for non-embedded fonts in /usr/share/fonts (the Dockerfile installs fonts-dejavu-core for it);
    confined, it cannot, and the Cyrillic words of a lab report vanish from the viewing copy."""
    name = Path(FONT).stem  # e.g. LiberationMono-Bold
    source = tmp_path / "cyrillic.pdf"
    pdf = pikepdf.new()
    glyphs = [pikepdf.Name(f"/afii100{n}") for n in range(17, 49)]  # А..Я
    descriptor = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.FontDescriptor,
            FontName=pikepdf.Name("/" + name),
            Flags=32,
            FontBBox=[0, -200, 1000, 900],
            ItalicAngle=0,
            Ascent=900,
            Descent=-200,
            CapHeight=700,
            StemV=80,
        )
    )
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font,
            Subtype=pikepdf.Name.TrueType,
            BaseFont=pikepdf.Name("/" + name),
            FirstChar=192,
            LastChar=223,
            Widths=[600] * 32,
            FontDescriptor=descriptor,
            Encoding=pikepdf.Dictionary(
                Type=pikepdf.Name.Encoding,
                BaseEncoding=pikepdf.Name.WinAnsiEncoding,
                Differences=pikepdf.Array([192, *glyphs]),
            ),
        )
    )
    page = pdf.add_blank_page(page_size=(300, 100))
    page.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    page.Contents = pdf.make_stream(b"BT /F1 36 Tf 10 40 Td <C0C1C2C3C4C5C6> Tj ET")
    pdf.save(source)
    render = """
        import pypdfium2 as pdfium
        image = pdfium.PdfDocument(args["source"])[0].render(scale=1).to_pil().convert("L")
        print(json.dumps({"ink": sum(image.histogram()[:128])}))
    """
    args = {"source": str(source), "work": str(tmp_path)}
    unconfined = outcome_of(run_confined(render, {**args, "confine": False}, str(tmp_path)))["ink"]
    confined = outcome_of(run_confined(render, args, str(tmp_path)))["ink"]
    assert unconfined > 0, "pdfium drew nothing even unconfined: this PDF no longer makes it look for a system font"
    assert confined == unconfined, f"confined rendering lost text: {confined} dark pixels instead of {unconfined}"
