"""A throwaway Ceph cluster (one mon, one OSD, radosgw) on loopback, for storage tests.

moto answers S3 calls but does not enforce Object Lock the way a storage server does,
so the WORM guarantees are checked against Ceph's RADOS Gateway from Debian's packages.
Everything runs as plain child processes of the test session (no Docker, no systemd);
each PID is written under ``<workdir>/pids`` and ``stop()`` kills exactly those PIDs.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from pathlib import Path

REQUIRED_PROGRAMS = ("ceph", "ceph-mon", "ceph-osd", "monmaptool", "radosgw", "radosgw-admin")
DEBIAN_PACKAGES = "ceph-mon ceph-osd radosgw ceph-common"
ACCESS_KEY = "REGISTRYTESTACCESS01"
SECRET_KEY = "registry-test-secret-key-not-for-production-0001"
REGION = "us-east-1"
OSD_DEVICE_BYTES = 8 * 1024**3  # a sparse file: only written blocks use disk
START_TIMEOUT_S = 90.0
START_ATTEMPTS = 3  # a new pair of ports each time another program took one first
_TCP_LISTEN = "0A"
_PR_SET_PDEATHSIG = 1
# looked up before any fork: a child of a threaded parent must not go through the loader
_prctl = ctypes.CDLL(None, use_errno=True).prctl


class CephUnavailable(RuntimeError):
    """The Ceph programs are not installed, so no cluster can be started."""


class CephStartError(RuntimeError):
    """A Ceph daemon or command failed while bringing the cluster up."""


class PortTaken(CephStartError):
    """Another program (say, another test session's cluster) bound a port picked for ours."""


@dataclass
class CephRGW:
    """A running cluster: where to reach its S3 endpoint and how to stop it."""

    workdir: Path
    endpoint_url: str
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = REGION
    _stopped: bool = field(default=False, repr=False)

    def stop(self, remove_workdir: bool = True) -> None:
        """Kill the daemons by the PIDs this cluster wrote; safe to call twice."""
        if not self._stopped:
            _kill_recorded_pids(self.workdir)
            self._stopped = True
        if remove_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def missing_programs() -> list[str]:
    """Ceph programs not found on PATH (empty when the cluster can be started)."""
    return [name for name in REQUIRED_PROGRAMS if shutil.which(name) is None]


def start_ceph_rgw(workdir: Path, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY) -> CephRGW:
    """Bring up mon, OSD and radosgw in ``workdir`` and create an S3 user with these keys.

    On any failure the daemons already started are killed before the error propagates,
    so a failed start never leaves processes behind. Call it from a thread that lives as
    long as the cluster (the main thread): the daemons die with the thread that forked them.
    """
    missing = missing_programs()
    if missing:
        raise CephUnavailable(
            f"Ceph programs not found: {', '.join(missing)}; install Debian packages: {DEBIAN_PACKAGES}"
        )
    workdir = workdir.resolve()
    for _ in range(START_ATTEMPTS - 1):
        try:
            return _start_once(workdir, access_key, secret_key)
        except PortTaken:
            _empty(workdir)
    return _start_once(workdir, access_key, secret_key)


def _start_once(workdir: Path, access_key: str, secret_key: str) -> CephRGW:
    for sub in ("pids", "log", "run", "mon.a", "osd.0", "rgw"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    fsid, (mon_port, rgw_port) = str(uuid.uuid4()), _free_ports(2)
    conf = _write_config(workdir, fsid, mon_port, rgw_port)
    cluster = CephRGW(workdir, f"http://127.0.0.1:{rgw_port}", access_key, secret_key)
    try:
        _start_mon(workdir, conf, fsid, mon_port)
        _wait_until_listening(workdir, "mon.a", mon_port)
        _start_osd(workdir, conf)
        _spawn(workdir, "rgw", ["radosgw", "-f", "-c", str(conf), "-n", "client.rgw"])
        _wait_until_listening(workdir, "rgw", rgw_port)
        _wait_for_http(cluster.endpoint_url, workdir)
        _create_s3_user(conf, access_key, secret_key)
    except BaseException:
        cluster.stop(remove_workdir=False)
        raise
    return cluster


def _empty(workdir: Path) -> None:
    for entry in workdir.iterdir():
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _write_config(workdir: Path, fsid: str, mon_port: int, rgw_port: int) -> Path:
    """One ceph.conf for every daemon and CLI call; nothing is read from /etc/ceph."""
    conf = workdir / "ceph.conf"
    conf.write_text(
        f"""[global]
fsid = {fsid}
mon host = [v2:127.0.0.1:{mon_port}]
public addr = 127.0.0.1
ms bind msgr1 = false
auth cluster required = none
auth service required = none
auth client required = none
# without this radosgw (and the CLI) hang on the mon when auth is off
ms mon client mode = crc
keyring = {workdir}/keyring
run dir = {workdir}/run
admin socket = {workdir}/run/$name.asok
log file = {workdir}/log/$name.log
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
# each pool radosgw creates is one map change; the default 1 s batching made start-up ~10 s slower
paxos propose interval = 0.05
# new pools get their placement groups on a mon tick (default every 5 s)
mon tick interval = 1

[mon]
mon data = {workdir}/mon.$id

[osd]
osd data = {workdir}/osd.$id
osd objectstore = bluestore
bluestore block create = true
bluestore block size = {OSD_DEVICE_BYTES}
bluestore fsck on mkfs = false
osd memory target = 1073741824

[client]
# radosgw starts before the OSD is up and would otherwise wait 5 s for a fresh OSD map
objecter tick interval = 0.5

[client.rgw]
rgw data = {workdir}/rgw
rgw frontends = beast endpoint=127.0.0.1:{rgw_port}
# the tests speak plain HTTP on loopback; SSE-C would otherwise be refused outright
rgw crypt require ssl = false
"""
    )
    (workdir / "keyring").touch()
    return conf


def _start_mon(workdir: Path, conf: Path, fsid: str, port: int) -> None:
    monmap = workdir / "monmap"
    _run(["monmaptool", "--create", "--fsid", fsid, "--addv", "a", f"[v2:127.0.0.1:{port}]", str(monmap)])
    _run(["ceph-mon", "-c", str(conf), "--mkfs", "-i", "a", "--monmap", str(monmap)])
    _spawn(workdir, "mon.a", ["ceph-mon", "-f", "-c", str(conf), "-i", "a"])


def _start_osd(workdir: Path, conf: Path) -> None:
    osd_uuid = str(uuid.uuid4())
    osd_id = _ceph(conf, "osd", "new", osd_uuid).strip()
    _run(["ceph-osd", "-c", str(conf), "-i", osd_id, "--mkfs", "--osd-uuid", osd_uuid])
    _spawn(workdir, f"osd.{osd_id}", ["ceph-osd", "-f", "-c", str(conf), "-i", osd_id])


def _create_s3_user(conf: Path, access_key: str, secret_key: str) -> None:
    _run(
        [
            "radosgw-admin",
            "-c",
            str(conf),
            "user",
            "create",
            "--uid",
            "registry-test",
            "--display-name",
            "registry tests",
            "--access-key",
            access_key,
            "--secret",
            secret_key,
        ]
    )


def _ceph(conf: Path, *args: str) -> str:
    return _run(["ceph", "-c", str(conf), "--connect-timeout", "30", *args])


def _run(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=START_TIMEOUT_S)
    if done.returncode != 0:
        raise CephStartError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout


def _spawn(workdir: Path, name: str, argv: list[str]) -> None:
    """Start a daemon in the foreground and record its PID before anything else runs."""
    log = open(workdir / "log" / f"{name}.out", "wb")
    with log:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
        )
    (workdir / "pids" / f"{name}.pid").write_text(str(proc.pid))


def _die_with_parent() -> None:
    """If the test session is killed outright, the kernel stops the daemons too."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _wait_until_listening(workdir: Path, name: str, port: int) -> None:
    """Wait until the daemon itself listens on ``port``, so the tests never talk to a
    server that took the port between our picking it and the daemon binding it."""
    pid = int((workdir / "pids" / f"{name}.pid").read_text())
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        listeners = _listening_sockets(port)  # read before the fds: a socket seen is in them
        if listeners & _sockets_of(pid):
            return
        if listeners:
            raise PortTaken(f"port {port}, picked for {name}, is held by another program")
        _raise_if_a_daemon_died(workdir)
        time.sleep(0.1)
    raise CephStartError(f"{name} did not listen on port {port} within {START_TIMEOUT_S:.0f} s")


def _listening_sockets(port: int) -> set[str]:
    """Inodes of the TCP sockets listening on ``port`` (any address, IPv4 or IPv6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == _TCP_LISTEN:
                    found.add(fields[9])
    return found


def _sockets_of(pid: int) -> set[str]:
    """Inodes of the sockets process ``pid`` has open."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    inodes.add(target[len("socket:[") : -1])
    except OSError:
        pass  # the daemon exited: _raise_if_a_daemon_died says why
    return inodes


def _wait_for_http(url: str, workdir: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # any HTTP answer means the gateway is serving
        except OSError:
            _raise_if_a_daemon_died(workdir)
            time.sleep(0.2)
    raise CephStartError(f"radosgw did not answer on {url} within {START_TIMEOUT_S:.0f} s")


def _raise_if_a_daemon_died(workdir: Path) -> None:
    for pid_file in (workdir / "pids").glob("*.pid"):
        if not _is_our_process(int(pid_file.read_text()), workdir):
            name = pid_file.stem
            tail = _tail(workdir / "log" / f"{name}.out") or _tail(workdir / "log" / f"{name}.log")
            error = PortTaken if "Address already in use" in tail else CephStartError
            raise error(f"{name} exited during start-up:\n{tail}")


def _tail(path: Path, max_chars: int = 2000) -> str:
    return path.read_text(errors="replace")[-max_chars:] if path.exists() else ""


def _kill_recorded_pids(workdir: Path) -> None:
    """SIGKILL each recorded daemon: the cluster is throwaway; a graceful OSD stop takes >5 s."""
    for pid_file in (workdir / "pids").glob("*.pid"):
        pid = int(pid_file.read_text())
        if _is_our_process(pid, workdir):
            os.kill(pid, signal.SIGKILL)
        _reap(pid)


def _reap(pid: int) -> None:
    """Collect our dead child so no zombie is left; a PID that is not our child is skipped."""
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def _is_our_process(pid: int, workdir: Path) -> bool:
    """True only for a live process started with this workdir's config (guards PID reuse)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z" and str(workdir / "ceph.conf").encode() in cmdline


def _free_ports(count: int) -> list[int]:
    """Ports free right now, all different: each socket stays bound until all are picked."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
