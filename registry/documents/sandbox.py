"""The converter child's sandbox: what a hostile file that took over a parser can still reach.

The child runs as the server's user, so without this it could read what the
server reads (the master key file, the SQLite database, other clerks' uploads
waiting in the upload folder), loosen their permissions, reach PostgreSQL or
the network, or signal the server. Once it has its request, and before it opens
the file, the child enters the sandbox for good (``enter``):

1. it gives up every capability (should it run as root);
2. Landlock (Linux 5.13+, unprivileged): it may read the Python installation,
   system libraries and fonts, and the one file it converts; write only in its
   own work folder; execute nothing; no TCP (ABI 4+); no signal to, or abstract
   socket of, a process outside (ABI 6+);
3. seccomp: the system calls Landlock does not govern fail with EPERM: sockets
   of any kind (Unix socket files, UDP, MPTCP, raw), changing modes, owners,
   times or attributes of files, starting programs (also from memory), leaving
   the process group the server kills, tracing or signalling other processes,
   and the interfaces that would get around a filter (io_uring, namespaces).

Landlock is written over ctypes because the Landlock package on PyPI is an
alpha that handles file-system rules only; the kernel interface is three system
calls with the same numbers on every architecture. The seccomp filter is built
with libseccomp (pyseccomp), which knows each architecture's numbers.
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys
import sysconfig
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1 << 0
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

# File-system rights (linux/landlock.h); bits 0-12 are those of ABI 1, of which MAKE_CHAR (6), MAKE_SOCK (9),
# MAKE_FIFO (10), MAKE_BLOCK (11) and MAKE_SYM (12) are granted nowhere.
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_DIR, MAKE_REG = 1 << 4, 1 << 5, 1 << 7, 1 << 8
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15  # ABI 2, 3, 5
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1  # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1  # ABI 6

ABI1_FS = (1 << 13) - 1  # every file-system right of the first version
READ = READ_FILE | READ_DIR
WORK = READ | WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_DIR | MAKE_REG | TRUNCATE
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # the only rights a rule on a file may grant
# System files the C libraries may open after start: the loader's cache, locale and time-zone data, and the
# fonts pdfium draws a PDF's non-embedded fonts with (without them, text would vanish from the copy).
SYSTEM_READ = (
    "/usr/lib",
    "/usr/lib64",
    "/lib",
    "/lib64",
    "/usr/share/zoneinfo",
    "/usr/share/locale",
    "/usr/share/fonts",
    "/usr/share/X11/fonts",
    "/usr/local/share/fonts",
    "/etc/ld.so.cache",
    "/etc/localtime",
    "/dev/null",
    "/dev/urandom",
)

DENIED_SYSCALLS = (
    # no socket at all: Landlock leaves Unix socket files (PostgreSQL, docker.sock), UDP, MPTCP and raw IP open
    "socket",
    "socketpair",
    # files it can reach keep their mode, owner, times and attributes (the master key made world-readable ...)
    "chmod",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "chown",
    "fchown",
    "fchownat",
    "lchown",
    "utime",
    "utimes",
    "futimesat",
    "utimensat",
    "setxattr",
    "lsetxattr",
    "fsetxattr",
    "setxattrat",
    "removexattr",
    "lremovexattr",
    "fremovexattr",
    "removexattrat",
    # nothing runs but this program, not even one copied into memory
    "execve",
    "execveat",
    "memfd_create",
    "memfd_secret",
    # nothing it starts leaves the process group that the server kills after each file
    "setsid",
    "setpgid",
    # no other process: tracing, reading its memory, signalling it (tgkill is allowed for its own threads)
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kill",
    "tkill",
    "pidfd_open",
    "pidfd_getfd",
    "pidfd_send_signal",
    "process_madvise",
    # ways around this filter or deeper into the kernel
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "unshare",
    "setns",
    "mount",
    "open_tree",
    "move_mount",
    "fsopen",
    "bpf",
    "userfaultfd",
    "perf_event_open",
    "keyctl",
    "add_key",
    "request_key",
)
# System calls newer than some libseccomp releases know by name; their numbers are the same on every architecture.
_NUMBERS_OF_NEW_SYSCALLS = {"fchmodat2": 452, "setxattrat": 463, "removexattrat": 466, "memfd_secret": 447}
_CAPABILITY_VERSION_3 = 0x20080522
_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL = 47, 4


@dataclass(frozen=True)
class Confinement:
    """What the child could apply (it reports this to the server, which warns the operator of a gap)."""

    landlock: int  # the Landlock ABI applied; 0: none
    seccomp: bool


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_libc = ctypes.CDLL(None, use_errno=True)


def _checked(result: int) -> int:
    """A libc call's result; its errno as an OSError when it failed."""
    if result < 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))
    return int(result)


def _syscall(number: int, *args: object) -> int:
    return _checked(_libc.syscall(ctypes.c_long(number), *args))


def abi_version() -> int:
    """The kernel's Landlock version; 0 when it has none or it is switched off (or a container forbids it)."""
    if not sys.platform.startswith("linux"):
        return 0  # system call 444 is something else there
    try:
        return _syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    except OSError:
        return 0


def python_paths() -> list[str]:
    """Where this interpreter loads code from: the standard library and installed packages, and the
    ``registry`` package itself, but never the directory it was started in (it may hold the instance)."""
    names = ("stdlib", "platstdlib", "purelib", "platlib")
    paths = {sysconfig.get_path(name) for name in names}
    paths |= {os.path.join(prefix, "lib") for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix}}
    paths.add(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # registry/
    return sorted(p for p in paths if p and os.path.exists(p))


def enter(source: str, work: str) -> Confinement:
    """Confine this process for good to converting ``source`` into ``work`` (see the module's docstring).

    Call it in a process with no other threads: Landlock and seccomp bind the calling thread and what it
    starts afterwards. Whatever the kernel lacks is reported, not fatal: a viewing copy is still made.
    """
    if not sys.platform.startswith("linux"):
        return Confinement(landlock=0, seccomp=False)  # a developer's machine: reported like a kernel without either
    syscall_filter = _syscall_filter()  # built before Landlock: finding libseccomp runs ldconfig
    _drop_capabilities()
    landlock = confine(read=[*python_paths(), *SYSTEM_READ, source], work=work)
    if syscall_filter is not None:
        syscall_filter.load()
    return Confinement(landlock=landlock, seccomp=syscall_filter is not None)


def _drop_capabilities() -> None:
    """A child started as root would keep every capability (raw sockets, modules, DAC override)."""

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    _libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    _checked(_libc.capset(ctypes.byref(Header(_CAPABILITY_VERSION_3, 0)), ctypes.byref((Data * 2)())))


def _syscall_filter() -> Any:
    """A seccomp filter that makes DENIED_SYSCALLS fail with EPERM (not loaded yet); None without libseccomp."""
    try:
        import pyseccomp
    except (ImportError, OSError, RuntimeError):  # the Python package, or libseccomp.so.2 under it, is missing
        return None
    refuse = pyseccomp.ERRNO(errno.EPERM)
    rules = pyseccomp.SyscallFilter(defaction=pyseccomp.ALLOW)
    for name in DENIED_SYSCALLS:
        number = pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, name)
        number = number if number >= 0 else _NUMBERS_OF_NEW_SYSCALLS.get(name, -1)
        if number >= 0:
            rules.add_rule(refuse, number)
    rules.add_rule(refuse, "tgkill", pyseccomp.Arg(0, pyseccomp.NE, os.getpid()))
    return rules


def confine(*, read: Iterable[str], work: str) -> int:
    """Landlock: read only ``read`` (files or folders), work only in ``work``; the ABI applied, 0 if none."""
    abi = abi_version()
    if abi < 1:
        return 0
    handled_fs = ABI1_FS | (REFER if abi >= 2 else 0) | (TRUNCATE if abi >= 3 else 0) | (IOCTL_DEV if abi >= 5 else 0)
    attr = _RulesetAttr(
        handled_access_fs=handled_fs,
        handled_access_net=NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0,
        scoped=SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0,
    )
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    ruleset = _syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    try:
        for path in read:
            _allow(ruleset, path, READ & handled_fs)
        _allow(ruleset, work, WORK & handled_fs)
        _checked(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
        _syscall(_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0))
    finally:
        os.close(ruleset)
    return abi


def _allow(ruleset: int, path: str, access: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # not on this system (/lib64 on arm64, say) or not ours to open: then it stays out of reach
    try:
        if not os.path.isdir(path):
            access &= FILE_RIGHTS
        rule = _PathBeneathAttr(allowed_access=access, parent_fd=fd)
        _syscall(
            _ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH), ctypes.byref(rule), ctypes.c_uint32(0)
        )
    finally:
        os.close(fd)
