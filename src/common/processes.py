"""The users the submission's processes run as; finding and ending what is left of those
processes, and removing their files (standard library only).

Every side uses these: the sandbox after each question's child (nothing of a child outlives
its question), the judge when its sandbox dies, run_autograder after the grader, and the
tests. ``end_processes`` ends (and reaps) every process of a range of uids and every
descendant of this process; ``remove_files_of`` removes every file of those uids in the
folders every user can write (``writable_folders``, found once per process) with
``remove_tree``, which needs no recursion and follows no link. The uids come from a range that
names no user or group and runs no process (``unused_uids``), one uid per question
(``UserPool``). Linux only: nothing here is called elsewhere. How a child is confined meanwhile
is ``sandbox/confine.py``'s; the contract is ``sandbox/CONTRACT.md``.
"""

import ctypes
import grp
import os
import platform
import pwd
import random
import signal
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

UID_COUNT = 2**14  # uids in a grading run's range: one per question, taken in turn
# The C library (Linux): for prctl, and the system calls Python does not wrap
LIBC = ctypes.CDLL(None, use_errno=True) if platform.system() == "Linux" else None
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36


class SetupError(Exception):
    """The sandbox cannot run as configured: a problem of the grader's set-up, not of the
    submission."""


# ----------------------------------------------------------------------------------------
# The users of the submission's processes


@dataclass(frozen=True)
class SandboxUser:
    """An unprivileged user and group for the submission's processes."""

    uid: int
    gid: int

    @property
    def name(self) -> str:
        try:
            return f"{pwd.getpwuid(self.uid).pw_name} (uid {self.uid})"
        except KeyError:
            return f"uid {self.uid}"


def is_root() -> bool:
    """Whether this process is root on Linux: then each child runs as a uid of its own."""
    return platform.system() == "Linux" and os.geteuid() == 0


class UserPool:
    """The uids of one grading run (a range that ``unused_uids`` chose): each question's child
    takes the next, so that no two children share one. Past the end of the range it starts
    again, which is safe: every uid's processes and files are gone when its child's question
    is answered."""

    def __init__(self, uids: range) -> None:
        self.uids = uids
        self._taken = 0

    def take(self) -> SandboxUser:
        uid = self.uids[self._taken % len(self.uids)]
        self._taken += 1
        return SandboxUser(uid, uid)


def _mapped_ids(path: str) -> list[range]:
    """The ids this process's user namespace maps (``/proc/self/uid_map`` or ``gid_map``)."""
    try:
        lines = Path(path).read_text().split("\n")
    except OSError:
        return [range(0, 2**16)]
    ranges = []
    for line in lines:
        if line.split():
            inside, _, count = (int(field) for field in line.split())
            ranges.append(range(inside, inside + count))
    return ranges


def used_ids() -> set[int]:
    """The uids and gids of every user and group, and the uids of every process."""
    return ({entry.pw_uid for entry in pwd.getpwall()} | {entry.gr_gid for entry in grp.getgrall()}
            | {uid for _, _, uid, _ in processes()})


def unused_uids(count: int = UID_COUNT) -> range:
    """``count`` consecutive uids (each the gid of the same number too) that name no user or
    group and run no process, so that ending every process of them and removing every file
    they own hits nothing but the sandbox's children's, and two graders on one machine never
    share one."""
    uids, gids = _mapped_ids("/proc/self/uid_map"), _mapped_ids("/proc/self/gid_map")
    used = used_ids()
    chooser = random.SystemRandom()
    # Far above system and login users, within what the user namespace maps (a container's
    # map may stop at 65535).
    spans = [(max(span.start, 20_000), min(span.stop, 2**31 - 1) - count) for span in uids]
    spans = [(low, high) for low, high in spans if low < high]
    for _ in range(1000 if spans else 0):
        start = chooser.randrange(*chooser.choice(spans))
        chosen = range(start, start + count)
        if (any(span.start <= start and chosen.stop <= span.stop for span in gids)
                and not any(uid in chosen for uid in used)):
            return chosen
    raise SetupError(f"no {count} unused uids found for the submission's processes: run the "
                     "grader as an ordinary user instead of root")


def take_user(user: SandboxUser) -> None:
    """Becomes ``user`` for good: no supplementary groups, real, effective and saved ids."""
    os.setgroups([])
    os.setresgid(user.gid, user.gid, user.gid)
    os.setresuid(user.uid, user.uid, user.uid)


# ----------------------------------------------------------------------------------------
# This process


def prctl(option: int, value: int, pointer: object = None) -> None:
    """prctl(2) on this process; OSError where the kernel refuses."""
    if LIBC.prctl(option, value, pointer, 0, 0) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"prctl({option}): {os.strerror(error)}")


def protect_self() -> None:
    """For the judge and the sandbox: a child subreaper (what a test leaves behind is
    re-parented here and can be found and ended), and not dumpable (a process of the same user
    can then neither trace this one nor open its memory, environment or file descriptors under
    /proc)."""
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    prctl(PR_SET_DUMPABLE, 0)


# ----------------------------------------------------------------------------------------
# Ending processes


def processes() -> list[tuple[int, int, int, str]]:
    """(pid, parent pid, real uid, state) of every process, zombies (state ``Z``) included."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat_line = (entry / "stat").read_text()
            status = (entry / "status").read_text()
        except OSError:  # it ended meanwhile
            continue
        state, parent = stat_line[stat_line.rindex(")") + 2:].split()[:2]
        uid = int(status.split("\nUid:")[1].split()[0])
        found.append((int(entry.name), int(parent), uid, state))
    return found


def _descendants(ancestor: int, table: list[tuple[int, int, int, str]]) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, parent, _, _ in table:
        children.setdefault(parent, []).append(pid)
    found, todo = set(), [ancestor]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _kill_all_of(uid: int) -> None:
    """kill(-1, SIGKILL) as ``uid``: every process of the uid, in one call of the kernel."""
    pid = os.fork()
    if pid == 0:
        try:
            take_user(SandboxUser(uid, uid))
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def reap() -> None:
    """Collects the exit status of every ended child of this process (zombies re-parented to
    it included), so that none is left to count against a uid's process limit."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def end_processes(uids: range | None, ancestor: int, spare: set[int] = frozenset()) -> int:
    """Ends every process of the ``uids`` (None: none) and every descendant of ``ancestor``
    but those in ``spare``, and reaps them, until none is left, not even a zombie of this
    process; returns how many were found the first time.

    ``ancestor`` should be this process, a child subreaper (``protect_self``), so that what a
    process started stays below it when that process ends, and is reaped here.
    """
    first, me = None, os.getpid()
    for attempt in range(200):
        table = processes()
        below = _descendants(ancestor, table) - spare
        live = {pid for pid, _, uid, state in table if state not in "ZX" and (
            pid in below or (uids is not None and uid in uids))}
        if first is None:
            first = len(live)
        if not live and not any(state in "ZX" and parent == me for _, parent, _, state in table):
            break
        for uid in {uid for pid, _, uid, _ in table if pid in live
                    and uids is not None and uid in uids}:
            _kill_all_of(uid)
        for pid in live:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        reap()
        time.sleep(0.001 * attempt)
    reap()
    return first or 0


# ----------------------------------------------------------------------------------------
# Removing files

# The folders where every user may create files, whether or not the search finds them.
KNOWN_WRITABLE = ("/tmp", "/var/tmp", "/dev/shm", "/run/user", "/run/lock", "/dev/mqueue")
_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# Every folder an unprivileged user can reach and write (each folder above it searchable by
# others, itself writable by others); /proc and /sys left out.
_SEARCH = ["find", "/", "-path", "/proc", "-prune", "-o", "-path", "/sys", "-prune",
           "-o", "-type", "d", "!", "-perm", "-0001", "-prune",
           "-o", "-type", "d", "-perm", "-0002", "-print0"]
_search: subprocess.Popen | None = None
_writable: list[str] | None = None


def search_writable_folders() -> None:
    """Starts the search of ``writable_folders`` in the background (as root, on Linux: the
    folders matter only where each child has a uid of its own)."""
    global _search
    if _search is None and _writable is None and is_root():
        _search = subprocess.Popen(_SEARCH, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                   stdin=subprocess.DEVNULL)


def writable_folders() -> list[str]:
    """The folders anywhere on the machine where an unprivileged user can create files (its
    own files are found nowhere else but in folders it made), found once per process:
    KNOWN_WRITABLE and whatever the search finds (about a second on a Linux system)."""
    global _search, _writable
    if _writable is None:
        search_writable_folders()
        found = []
        if _search is not None:
            output, _ = _search.communicate()
            found = [os.fsdecode(path) for path in output.split(b"\0") if path]
            _search = None
        _writable = sorted({*found, *(path for path in KNOWN_WRITABLE if os.path.isdir(path))})
    return _writable


def _open_folder(parent: int, name: str) -> int:
    """The folder ``name`` of the folder open at ``parent``, opened without following a link,
    and made searchable and writable to its owner where it was not (a grader that is not root
    removes a tree of its own user that the child closed with chmod 000)."""
    try:
        folder = os.open(name, _FOLDER, dir_fd=parent)
    except PermissionError:
        path = os.open(name, os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                       dir_fd=parent)
        try:
            os.chmod(f"/proc/self/fd/{path}", 0o700)
        finally:
            os.close(path)
        folder = os.open(name, _FOLDER, dir_fd=parent)
    if os.fstat(folder).st_mode & 0o700 != 0o700:
        os.fchmod(folder, 0o700)
    return folder


def _remove_files_in(folder: int) -> tuple[list[str], bool]:
    """Removes every entry of the folder open at ``folder`` that is not a folder; returns the
    names of its folders, and whether every other entry is gone."""
    folders, whole = [], True
    with os.scandir(folder) as entries:
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    folders.append(entry.name)
                else:
                    os.unlink(entry.name, dir_fd=folder)
            except FileNotFoundError:
                pass
            except OSError:
                whole = False
    return folders, whole


def remove_tree(parent: int, name: str) -> bool:
    """Removes the entry ``name`` of the folder open at ``parent``, and, where it is a folder,
    everything under it; True when all of it is gone.

    No recursion and two file descriptors at most, whatever the depth; no link followed (a
    link is removed, never what it names); folders closed with chmod 000 opened again; any
    name. It goes back up through ``..``, checked to be the folder it came from: a tree that
    moves meanwhile is left as it is. What a process still running writes meanwhile may be
    left: end them first.
    """
    try:
        if not stat.S_ISDIR(os.lstat(name, dir_fd=parent).st_mode):
            os.unlink(name, dir_fd=parent)
            return True
        current = _open_folder(parent, name)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    whole = True
    try:
        subfolders, whole = _remove_files_in(current)
        # From the top down: each open folder's name in its parent, its identity and the
        # folders in it still to remove.
        levels = [(name, _identity(current), subfolders)]
        while True:
            here, _, subfolders = levels[-1]
            if subfolders:
                below = subfolders.pop()
                try:
                    folder = _open_folder(current, below)
                except OSError:
                    whole = False
                    continue
                os.close(current)
                current = folder
                inside, removed = _remove_files_in(current)
                whole = whole and removed
                levels.append((below, _identity(current), inside))
                continue
            levels.pop()
            if not levels:
                break
            up = os.open("..", _FOLDER, dir_fd=current)
            os.close(current)
            current = up
            if _identity(current) != levels[-1][1]:
                return False
            try:
                os.rmdir(here, dir_fd=current)
            except OSError:
                whole = False
    except OSError:
        return False
    finally:
        os.close(current)
    try:
        os.rmdir(name, dir_fd=parent)
    except FileNotFoundError:
        pass
    except OSError:
        return False
    return whole


def _identity(folder: int) -> tuple[int, int]:
    info = os.fstat(folder)
    return info.st_dev, info.st_ino


def remove_path(path: Path) -> bool:
    """Removes ``path`` (``remove_tree``) where it is, its parent folder reached by path."""
    try:
        parent = os.open(path.parent, _FOLDER)
    except FileNotFoundError:
        return True
    try:
        return remove_tree(parent, path.name)
    finally:
        os.close(parent)


def _owner(entry: os.DirEntry) -> int:
    try:
        return entry.stat(follow_symlinks=False).st_uid
    except OSError:  # gone meanwhile
        return -1


def remove_files_of(uids: range, folders: list[str]) -> list[str]:
    """Removes every entry of ``folders`` that one of the ``uids`` owns, with all that is
    under it; returns the paths that could not be removed. Only the top of each folder is
    read: whatever the uids made lies there, or below a folder of theirs that lies there (or
    in a folder of ``folders`` below it)."""
    left = []
    for path in folders:
        try:
            folder = os.open(path, _FOLDER)
        except OSError:
            continue
        try:
            with os.scandir(folder) as entries:
                owned = [entry.name for entry in entries if _owner(entry) in uids]
            left += [os.path.join(path, name) for name in owned
                     if not remove_tree(folder, name)]
        except OSError:
            left.append(path)
        finally:
            os.close(folder)
    return left
