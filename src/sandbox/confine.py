"""How a question's child of the sandbox confines itself before it imports the submission
(standard library only).

``enter`` takes the question's uid (as root; no child runs as root), sets ``no_new_privs``
and the resource limits, then the Landlock layer where the kernel has it (``restrict_files``:
the Python installation and the system's libraries to read and run, the sandbox's own modules
to read, the child's folder to write) and the seccomp filter (``install_seccomp_filter``:
no sockets, no reaching another process). What each allows and refuses, and what holds
without them, is ``sandbox/CONTRACT.md``. Linux only: ``enter`` is not called elsewhere.
"""

import ctypes
import os
import platform
import resource
import signal
import stat
import struct
import sys
from pathlib import Path

from common.processes import LIBC, SandboxUser, SetupError, prctl, take_user

# The limits of one test's child. Address space is counted on top of what the sandbox itself
# already maps (torch and numpy), as it is inherited through fork.
MEMORY_LIMIT = 4 * 2**30  # bytes of address space beyond the sandbox's own
FILE_SIZE_LIMIT = 64 * 2**20  # bytes, for any file the child writes
OPEN_FILES_LIMIT = 256
PROCESS_LIMIT = 64  # tasks (processes and threads) of the child's uid, which the child alone runs


# ----------------------------------------------------------------------------------------
# Confining the child


PR_SET_PDEATHSIG = 1
PR_SET_SECCOMP = 22
PR_SET_NO_NEW_PRIVS = 38


def die_with_parent() -> None:
    """SIGKILL this process when the process that started it ends."""
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def enter(user: SandboxUser | None, cpu_seconds: float, folder: Path | None) -> None:
    """Confines this process, a fresh child of the sandbox, for good (see the module's
    docstring); ``folder`` is the one folder it may write (None: none). Raises SetupError
    where the kernel refuses what it should allow."""
    try:
        if user is not None:
            take_user(user)
        elif os.geteuid() == 0:  # choose_users never allows it: a child never runs as root
            raise SetupError("a child of the sandbox must not run as root")
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        used = int(Path("/proc/self/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        limits = {
            resource.RLIMIT_AS: used + MEMORY_LIMIT,
            resource.RLIMIT_CPU: int(cpu_seconds) + 2,
            resource.RLIMIT_FSIZE: FILE_SIZE_LIMIT,
            resource.RLIMIT_NOFILE: OPEN_FILES_LIMIT,
            resource.RLIMIT_CORE: 0,
        }
        if user is not None:  # counted per user: only where the user is the sandbox's alone
            limits[resource.RLIMIT_NPROC] = PROCESS_LIMIT
        for limit, value in limits.items():
            hard = resource.getrlimit(limit)[1]  # only lowered: raising needs a capability
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(limit, (value, value))
        restrict_files(folder)
        install_seccomp_filter(os.getpid())
    except OSError as error:
        raise SetupError(f"the sandbox could not confine its child: {error}") from error


# ----------------------------------------------------------------------------------------
# Landlock (see landlock(7)): which files the child may open, which processes it may signal.
# It needs no privilege, only no_new_privs, so it holds for a laptop's user as for root's
# sandbox user; kernels from 5.13 on have it, each ABI version adding rights.

_LANDLOCK_CREATE_RULESET, _LANDLOCK_ADD_RULE, _LANDLOCK_RESTRICT_SELF = 444, 445, 446
_LANDLOCK_CREATE_RULESET_VERSION = 1
_LANDLOCK_RULE_PATH_BENEATH = 1
# The file system rights, in the order of their bits; ``_FS_RIGHTS_KNOWN``: how many of them
# each ABI version handles (1: up to make_sym, 2: refer, 3 and 4: truncate, 5: ioctl_dev).
_FS_RIGHTS = ("execute", "write_file", "read_file", "read_dir", "remove_dir", "remove_file",
              "make_char", "make_dir", "make_reg", "make_sock", "make_fifo", "make_block",
              "make_sym", "refer", "truncate", "ioctl_dev")
_FS_RIGHTS_KNOWN = {1: 13, 2: 14, 3: 15, 4: 15}  # 5 and later: all 16
_FILE_RIGHTS = ("execute", "write_file", "read_file", "truncate", "ioctl_dev")  # on a file
_NET_CONNECT_AND_BIND_TCP = 0b11  # ABI 4 on; sockets are refused by seccomp too
_SCOPE_ABSTRACT_UNIX_SOCKET_AND_SIGNAL = 0b11  # ABI 6 on: only processes of its own domain
# What the child may do where: run the Python installation and the system's libraries, read
# the few files of the system that Python and torch open, write its own test's folder.
_READ = ("execute", "read_file", "read_dir")
_WRITE = ("read_file", "read_dir", "write_file", "truncate", "make_reg", "make_dir",
          "remove_file", "remove_dir", "refer")
SYSTEM_FOLDERS = ("/usr/lib", "/usr/lib64", "/usr/local/lib", "/lib", "/lib64")
SYSTEM_FILES = {"/dev/null": ("read_file", "write_file", "truncate"),
                "/dev/urandom": ("read_file",), "/dev/random": ("read_file",),
                "/etc/ld.so.cache": ("read_file",)}


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _landlock(number: int, *arguments: object) -> int:
    result = LIBC.syscall(ctypes.c_long(number), *arguments)
    if result < 0:
        error = ctypes.get_errno()
        raise OSError(error, f"landlock ({number}): {os.strerror(error)}")
    return result


def landlock_abi() -> int:
    """The Landlock ABI version this kernel offers; 0 where it has none, or has it switched
    off, or a container's filter refuses it."""
    if LIBC is None:
        return 0
    try:
        return _landlock(_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0),
                         ctypes.c_uint32(_LANDLOCK_CREATE_RULESET_VERSION))
    except OSError:
        return 0


def landlock_note() -> str:
    """One line on what this kernel's Landlock leaves open to the child ("" where it has all
    that the sandbox uses), for the grader's standard error and the README."""
    abi = landlock_abi()
    if abi == 0:
        return ("sandbox: this kernel has no Landlock: the submission's files are confined by "
                "their owners and modes alone (as another user: what every user may read; as "
                "the grader's user: what it may read and write)")
    if abi < 6:
        return (f"sandbox: this kernel's Landlock is ABI {abi}: files are confined, but "
                "signals are refused by seccomp alone")
    return ""


def _bits(abi: int, rights: tuple[str, ...]) -> int:
    known = _FS_RIGHTS[:_FS_RIGHTS_KNOWN.get(abi, len(_FS_RIGHTS))]
    return sum(1 << _FS_RIGHTS.index(right) for right in rights if right in known)


def hidden_folder() -> Path:
    """The grader's folder (src/, above this file's): the judge's code and data, none of it
    the child's."""
    return Path(__file__).resolve().parents[1]


def readable_paths() -> list[Path]:
    """The folders the child may read and execute from: the Python installation (prefixes,
    every folder of the import path, the folders of torch and numpy), the system's libraries.
    ``restrict_files`` leaves the grader's folder out of them (``folders_without``)."""
    found = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             *(entry for entry in sys.path if entry), *SYSTEM_FOLDERS]
    for name in ("torch", "numpy"):
        module = sys.modules.get(name)
        if module is not None and getattr(module, "__file__", None):
            found.append(str(Path(module.__file__).parent))
    return [Path(path).resolve() for path in found]


def folders_without(root: Path, hidden: Path, seen: set[Path] | None = None) -> list[Path]:
    """The folders to allow for ``root`` (resolved) without ``hidden``: ``root`` itself where
    ``hidden`` is not inside it (a Python installation inside the grader's folder is allowed,
    the folder itself never); else the entries of the folders from ``root`` down to ``hidden``
    that lead elsewhere (resolved; those that lead into ``hidden`` left out)."""
    seen = set() if seen is None else seen
    if root == hidden or root in seen:
        return []
    if not hidden.is_relative_to(root):
        return [root]
    seen.add(root)
    try:
        entries = [entry.resolve() for entry in root.iterdir()]
    except OSError:
        return []
    found = []
    for entry in entries:
        if not entry.is_relative_to(hidden):
            found += folders_without(entry, hidden, seen)
    return found


# The modules of the grader's folder that the sandbox itself runs: a child may read their source
# for its tracebacks (they ship in the students' release too); nothing else of that folder.
SANDBOX_MODULES = ("sandbox/__init__.py", "sandbox/server.py", "sandbox/calls.py",
                   "sandbox/confine.py", "sandbox/protocol.py", "common/__init__.py",
                   "common/stand_ins.py", "common/jacobians.py", "common/processes.py",
                   "network.py")


def sandbox_modules(hidden: Path) -> list[Path]:
    """The files of SANDBOX_MODULES in ``hidden`` (the grader's folder) that are plain files
    there, not links, and that this user can reach (none where the folder is closed to it):
    named, never inferred from what this process has imported, so that no module of the
    judge's that a process happens to hold becomes readable."""
    files = []
    for name in SANDBOX_MODULES:
        try:
            plain = stat.S_ISREG(os.lstat(hidden / name).st_mode)
        except OSError:
            continue
        if plain:
            files.append(hidden / name)
    return files


def readable_by_others(hidden: Path) -> list[Path]:
    """The files directly in ``hidden`` (the grader's folder) or in its folders, but those of
    SANDBOX_MODULES, that a user who is neither their owner nor in their group may read, as a
    child under a uid of its own is: the judge's files that only Landlock keeps from it (none
    where a folder on the way is closed to other users)."""
    def open_to_others(path: Path, bit: int) -> bool:
        try:
            return bool(os.lstat(path).st_mode & bit)
        except OSError:
            return False

    if not all(open_to_others(folder, stat.S_IXOTH) for folder in [hidden, *hidden.parents]):
        return []
    own = {hidden / name for name in SANDBOX_MODULES}
    found = []
    folders = [hidden]
    while folders:
        folder = folders.pop()
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            try:
                mode = os.lstat(entry).st_mode
            except OSError:
                continue
            if (stat.S_ISDIR(mode) and folder == hidden and mode & stat.S_IXOTH):
                folders.append(entry)
            elif stat.S_ISREG(mode) and mode & stat.S_IROTH and entry not in own:
                found.append(entry)
    return found


def exposed_note(hidden: Path) -> str:
    """One line for the grader's standard error where a child could read the judge's files
    in ``hidden`` (the grader's folder) for want of Landlock, and how to avoid it ("" where
    no file of it is open to other users)."""
    found = readable_by_others(hidden)
    if not found:
        return ""
    shown = ", ".join(str(path.relative_to(hidden)) for path in found[:3])
    more = f" and {len(found) - 3} more" if len(found) > 3 else ""
    return (f"sandbox: other users may read the grader's files in {hidden} ({shown}{more}), "
            "and without Landlock so may the submission: grade from a folder that other users "
            "cannot enter (one inside a folder of mode 700, as Gradescope's /autograder is)")


def restrict_files(folder: Path | None) -> bool:
    """Applies the Landlock layer to this process for good, where the kernel has Landlock
    (False where not): read and execute ``readable_paths`` and the system's few files, the
    sandbox's own modules read-only, ``folder`` read and written; nothing else of the file
    system, not the grader's folder, nor /tmp, nor other processes' /proc; with ABI 6 on,
    no signal or abstract unix socket reaches a process outside this one and its children."""
    abi = landlock_abi()
    if abi == 0:
        return False
    hidden = hidden_folder()
    attributes = _RulesetAttr(_bits(abi, _FS_RIGHTS),
                              _NET_CONNECT_AND_BIND_TCP if abi >= 4 else 0,
                              _SCOPE_ABSTRACT_UNIX_SOCKET_AND_SIGNAL if abi >= 6 else 0)
    ruleset = _landlock(_LANDLOCK_CREATE_RULESET, ctypes.byref(attributes),
                        ctypes.c_size_t(ctypes.sizeof(attributes)), ctypes.c_uint32(0))
    try:
        seen: set[Path] = set()
        rules = [(path, _READ) for root in readable_paths()
                 for path in folders_without(root, hidden, seen)]
        rules += [(path, ("read_file",)) for path in sandbox_modules(hidden)]
        rules += [(Path(path), rights) for path, rights in SYSTEM_FILES.items()]
        if folder is not None:
            rules.append((folder, _WRITE))
        for path, rights in rules:
            try:
                descriptor = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:  # missing, or out of this user's reach anyway
                continue
            try:
                if not stat.S_ISDIR(os.fstat(descriptor).st_mode):
                    rights = tuple(right for right in rights if right in _FILE_RIGHTS)
                rule = _PathBeneathAttr(_bits(abi, rights), descriptor)
                _landlock(_LANDLOCK_ADD_RULE, ruleset, ctypes.c_int(_LANDLOCK_RULE_PATH_BENEATH),
                          ctypes.byref(rule), ctypes.c_uint32(0))
            finally:
                os.close(descriptor)
        _landlock(_LANDLOCK_RESTRICT_SELF, ruleset, ctypes.c_uint32(0))
    finally:
        os.close(ruleset)
    return True


# seccomp: classic BPF run on every system call (see seccomp(2)). The filter reads the
# architecture and the call number; for the calls that act on another process, the process
# named in their first argument; for fcntl and ioctl, the command in their second.
_LD_ABS, _JEQ, _JGE, _RET = 0x20, 0x15, 0x35, 0x06
_ALLOW, _KILL, _EPERM = 0x7FFF0000, 0x80000000, 0x00050000 | 1
# In struct seccomp_data: the low words of the arguments (both are 32-bit values to the kernel)
_OFFSET_NR, _OFFSET_ARCH, _OFFSET_ARG0, _OFFSET_ARG1 = 0, 4, 16, 24
# The commands that make the kernel signal a file's owner, the process the caller names, when
# the file is ready (O_ASYNC), with any signal: F_SETOWN, F_SETSIG, F_SETOWN_EX; and for
# sockets, FIOSETOWN and SIOCSPGRP.
_FCNTL_SIGNALLING = (8, 10, 15)
_IOCTL_SIGNALLING = (0x8901, 0x8902)
# Per architecture: its audit id, the calls refused outright, those allowed only on this
# process (or its group, or "0": itself): call number -> allowed first arguments, and those
# refused with some commands: call number -> refused second arguments.
_SYSCALLS = {
    "x86_64": {
        "arch": 0xC000003E,
        # socket, ptrace, process_vm_readv/writev, pidfd_send_signal, io_uring_setup,
        # pidfd_getfd, perf_event_open, bpf; then System V IPC (shmget, shmat, shmctl, semget,
        # semop, semctl, msgget, msgsnd, msgrcv, msgctl, semtimedop) and POSIX message queues
        # (mq_open to mq_getsetattr): objects that outlive a process and no file removal finds
        "refused": (41, 101, 310, 311, 424, 425, 438, 298, 321,
                    29, 30, 31, 64, 65, 66, 68, 69, 70, 71, 220, *range(240, 246)),
        # kill, tkill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo, prlimit64, pidfd_open
        "own": {62: "kill", 200: "self", 234: "self", 129: "self", 297: "self", 302: "limit",
                434: "self"},
        # fcntl, ioctl
        "commands": {72: _FCNTL_SIGNALLING, 16: _IOCTL_SIGNALLING},
    },
    "aarch64": {
        "arch": 0xC00000B7,
        "refused": (198, 117, 270, 271, 424, 425, 438, 241, 280, *range(180, 197)),
        "own": {129: "kill", 130: "self", 131: "self", 138: "self", 240: "self", 261: "limit",
                434: "self"},
        "commands": {25: _FCNTL_SIGNALLING, 29: _IOCTL_SIGNALLING},
    },
}


def _instruction(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("HBBI", code, jt, jf, k)


def _argument_check(offset: int, values: list[int] | tuple[int, ...], match: int,
                    otherwise: int) -> list[bytes]:
    """Instructions that return ``match`` where the argument at ``offset`` is one of
    ``values``, else ``otherwise``."""
    body = [_instruction(_LD_ABS, offset)]
    for value in values:
        body += [_instruction(_JEQ, value, jf=1), _instruction(_RET, match)]
    body.append(_instruction(_RET, otherwise))
    return body


def seccomp_program(pid: int, machine: str) -> list[bytes]:
    """The filter's instructions for process ``pid`` on ``machine`` (``platform.machine()``)."""
    calls = _SYSCALLS[machine]
    own = {"self": [pid], "kill": [0, pid, -pid & 0xFFFFFFFF], "limit": [0, pid]}
    program = [
        _instruction(_LD_ABS, _OFFSET_ARCH),
        _instruction(_JEQ, calls["arch"], jt=1),
        _instruction(_RET, _KILL),  # another ABI's calls would bypass the numbers below
        _instruction(_LD_ABS, _OFFSET_NR),
    ]
    if machine == "x86_64":  # the x32 ABI's calls: numbers from 0x40000000 on
        program += [_instruction(_JGE, 0x40000000, jf=1), _instruction(_RET, _EPERM)]
    for number in calls["refused"]:
        program += [_instruction(_JEQ, number, jf=1), _instruction(_RET, _EPERM)]
    checks = [(number, _argument_check(_OFFSET_ARG0, own[kind], _ALLOW, _EPERM))
              for number, kind in calls["own"].items()]
    checks += [(number, _argument_check(_OFFSET_ARG1, commands, _EPERM, _ALLOW))
               for number, commands in calls["commands"].items()]
    for number, body in checks:
        program += [_instruction(_JEQ, number, jf=len(body)), *body]
    program.append(_instruction(_RET, _ALLOW))
    return program


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install_seccomp_filter(pid: int) -> bool:
    """Installs the filter for this process ``pid`` (after no_new_privs); False where this
    machine's architecture has no filter here."""
    machine = platform.machine()
    if machine not in _SYSCALLS:
        return False
    program = seccomp_program(pid, machine)
    code = ctypes.create_string_buffer(b"".join(program))
    fprog = _SockFprog(len(program), ctypes.cast(code, ctypes.c_void_p))
    prctl(PR_SET_SECCOMP, 2, ctypes.byref(fprog))  # SECCOMP_MODE_FILTER
    return True


