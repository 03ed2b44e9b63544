"""The sandbox: the only process where the submission's code runs.

The judge starts it fresh (``judge/launch.py``) and talks to it through its stdin and stdout;
``serve`` answers the hello, then each question: on Linux a child per question confines
itself (``confine.enter``), imports the student's package from a folder of its own
(``Package``), makes the calls (``run_calls``, with the recipes of ``sandbox/calls.py``) and
writes back plain data; once it has answered, ended or run out of time, the sandbox ends what
it started and removes its files (``common/processes.py``) before it sends the header and the
answer. The messages, the outcomes, the limits and what this guarantees are
``sandbox/CONTRACT.md``.
"""

import contextlib
import importlib
import importlib.util
import io
import json
import linecache
import os
import select
import shutil
import signal
import sys
import sysconfig
import tempfile
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import NoReturn

import torch

from common import processes
from sandbox import confine
from sandbox.calls import RECIPES, frames_inside, warm_up
from sandbox.protocol import (
    LENGTH,
    MAX_ANSWER,
    MAX_HELLO,
    MAX_QUESTION,
    PRINTED_SHOWN,
    Failure,
    Foreign,
    GivenCodeCannot,
    Outcome,
    read_message,
    saved,
    write_message,
)

FORKS = sys.platform.startswith("linux")  # one child per test; elsewhere the calls run here
TRACEBACK_FRAMES = 3  # frames shown for an error in the submission (two lines each)


# ----------------------------------------------------------------------------------------
# What the calls send back: plain data


def plain(value: object) -> object:
    """``value`` as plain data: tensors detached and copied, containers converted item by
    item, anything else replaced by Foreign(its type's name)."""
    if isinstance(value, torch.Tensor):
        return value.as_subclass(torch.Tensor).detach().clone()
    if isinstance(value, (bool, int, float, str, type(None))):
        return value
    if isinstance(value, (list, tuple)):
        return type(value)(plain(item) for item in value)
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    return Foreign(type(value).__name__)


# ----------------------------------------------------------------------------------------
# The student's package


class Package:
    """The student's package in a folder, read the way the course's autograder reads it.

    It is imported under the name ``package`` (running its ``__init__.py``), and each graded
    module is taken as an attribute of it (``submission.flow_network``). A module that cannot
    be reached fails with a one-line reason; a module that imports cleanly is graded even when
    another one is broken or missing.

    Args:
        directory: the package folder (None: the judge found no folder to grade).
        modules: the names of the graded modules.
        package: the name the package is imported under.
        origin: where the judge found the files, for messages.
    """

    def __init__(self, directory: Path | None, modules: tuple[str, ...], package: str,
                 origin: str):
        self.directory, self.modules, self.package, self.origin = (
            directory, modules, package, origin)
        self._loaded: dict[str, ModuleType | Failure] | None = None

    def load(self, name: str) -> ModuleType:
        """The module ``<package>.<name>``; raises Failure if it cannot be reached."""
        if self._loaded is None:
            self._loaded = self._import()
        module = self._loaded[name]
        if isinstance(module, Failure):
            raise module
        return module

    def _import(self) -> dict[str, ModuleType | Failure]:
        """Every graded module, or the reason it cannot be reached."""
        if self.directory is None:
            return dict.fromkeys(self.modules, Failure(f"no folder {self.origin} to grade"))
        if not (self.directory / "__init__.py").is_file():
            return dict.fromkeys(self.modules, Failure(
                f"{self.package}/__init__.py is missing from the upload"))
        loaded: dict[str, ModuleType | Failure] = {
            name: Failure(f"{name}.py is missing from the upload")
            for name in self.modules
            if not (self.directory / f"{name}.py").is_file()
        }
        try:
            package, init_failed = self._import_package(run_init=True), False
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # graded code may raise anything, SystemExit included
            failure = Failure(f"import {self.package} fails: {self._describe(error)}")
            culprit = self._culprit(error)
            for name in self.modules:
                if culprit in (name, None):
                    loaded.setdefault(name, failure)
            # The modules not to blame are still graded, from a package whose __init__.py
            # has not run.
            package, init_failed = self._import_package(run_init=False), True
        for name in self.modules:
            if name not in loaded:
                loaded[name] = self._module(package, name, init_failed)
        return loaded

    def _module(self, package: ModuleType, name: str, init_failed: bool) -> ModuleType | Failure:
        """``package.<name>``, or why it cannot be had (``init_failed``: ``__init__.py``
        failed because of another module, so this one is imported on its own)."""
        qualified = f"{self.package}.{name}"
        if init_failed:
            try:
                importlib.import_module(qualified)
            except KeyboardInterrupt:
                raise
            except BaseException as error:
                return Failure(f"cannot import {qualified}: {self._describe(error)}")
        module = getattr(package, name, None)
        if not isinstance(module, ModuleType):
            return Failure(f"{self.package}/__init__.py does not import {name}: "
                           f"add the line `from .{name} import *` to it")
        return module

    def _import_package(self, run_init: bool) -> ModuleType:
        """Puts the package of ``self.directory`` in sys.modules under ``self.package``, by
        file location, so that no other package of that name can stand in for it. With
        ``run_init`` false the package is left empty: its modules can still be imported."""
        for key in [key for key in sys.modules if key.split(".")[0] == self.package]:
            del sys.modules[key]  # an earlier copy (the calls run in one process off Linux)
        spec = importlib.util.spec_from_file_location(
            self.package, self.directory / "__init__.py",
            submodule_search_locations=[str(self.directory)])
        package = importlib.util.module_from_spec(spec)
        sys.modules[self.package] = package
        if run_init:
            try:
                spec.loader.exec_module(package)
            except BaseException:
                del sys.modules[self.package]
                raise
        return package

    def _culprit(self, error: BaseException) -> str | None:
        """The graded module that ``error`` came from; None for __init__.py or unknown."""
        if isinstance(error, ModuleNotFoundError) and error.name:
            prefix, _, name = error.name.partition(".")
            if prefix == self.package and name in self.modules:
                return name
        if isinstance(error, SyntaxError) and error.filename:
            where = Path(error.filename)
        elif inside := frames_inside(error, self.directory):
            where = Path(inside[-1].filename)
        else:
            return None
        return where.stem if where.stem in self.modules else None

    def _describe(self, error: BaseException) -> str:
        """One line: the error and, where it is in the package, the file and line."""
        first_line = str(error).splitlines()[:1]
        message = f"{type(error).__name__}: {''.join(first_line)}"
        if isinstance(error, SyntaxError):  # its message already names the file and line
            return message
        if inside := frames_inside(error, self.directory):
            message += f" ({Path(inside[-1].filename).name}, line {inside[-1].lineno})"
        return message


# ----------------------------------------------------------------------------------------
# Reports of errors in the submission


# Tracebacks leave out the frames of the Python installation (torch, ...) and of this file:
# what is left points into the student's code and the recipe that called it.
_HIDDEN_FRAME_DIRS = {
    Path(sysconfig.get_paths()[key]).resolve() for key in ("stdlib", "purelib", "platlib")
}


def _shown(filename: str) -> bool:
    path = Path(filename).resolve()
    return path not in (Path(__file__).resolve(), Path(confine.__file__).resolve()) and not any(
        path.is_relative_to(directory) for directory in _HIDDEN_FRAME_DIRS)


def error_report(error: BaseException, folder: Path) -> list[str]:
    """A failure's message, then a short traceback of the student's code (paths relative to
    ``folder``, the test's own)."""
    if isinstance(error, Failure):
        return str(error).splitlines()
    if isinstance(error, MemoryError) or "can't allocate memory" in str(error):
        limit = f"{confine.MEMORY_LIMIT >> 30} GiB of address space beyond the sandbox's own"
        return [f"ran out of memory (the limit is {limit})"]
    if isinstance(error, NotImplementedError):  # a placeholder of the starter says it all
        return [f"NotImplementedError: {error}"]
    message = str(error) if isinstance(error, AssertionError) else (
        f"{type(error).__name__}: {error}")
    lines = [message]
    frames = [(f, n) for f, n in traceback.walk_tb(error.__traceback__)
              if _shown(f.f_code.co_filename)]
    for frame, lineno in frames[-TRACEBACK_FRAMES:]:
        code = frame.f_code
        path = Path(code.co_filename)
        shown = path.relative_to(folder) if path.is_relative_to(folder) else path.name
        lines.append(f'  File "{shown}", line {lineno}, in {code.co_name}')
        if source := linecache.getline(code.co_filename, lineno).strip():
            lines.append(f"    {source}")
    return lines


# ----------------------------------------------------------------------------------------
# Making the calls


def run_calls(calls: list, package: Package, folder: Path) -> tuple[list | None, list | None]:
    """The plain results of ``calls`` (recipe name, keyword arguments) in order, and the
    report of the error that stopped them; None for the results if the graded modules could
    not be loaded."""
    recipes = [RECIPES[name] for name, _ in calls]
    try:
        modules = {module: package.load(module) for module, _ in recipes}
    except KeyboardInterrupt:
        raise
    except BaseException as error:
        return None, error_report(error, folder)
    items: list = []
    for (module, recipe), (_, arguments) in zip(recipes, calls):
        try:
            items.append(plain(recipe(modules[module], **arguments)))
        except KeyboardInterrupt:
            raise
        except GivenCodeCannot as error:  # the judge decides; the calls go on
            items.append(error.item())
        except BaseException as error:
            return items, error_report(error, folder)
    return items, None


def _answer_of(items: list | None, report: list[str] | None) -> bytes:
    try:
        return saved({"items": items, "error": report})
    except BaseException:
        return saved({"items": None, "error": ["the results of the calls could not be saved"]})


def _test_folder(base: Path, hello: dict, user: processes.SandboxUser | None) -> Path:
    """A fresh folder for one test, holding a copy of the student's package, owned by the
    sandbox user and readable by it alone."""
    folder = Path(tempfile.mkdtemp(dir=base))
    if hello["files"] is not None:
        package = folder / hello["package"]
        package.mkdir()
        for relative, data in hello["files"].items():
            path = package / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    if user is not None:
        for path in [folder, *folder.rglob("*")]:
            os.chown(path, user.uid, user.gid)
    return folder


def _package(hello: dict, folder: Path) -> Package:
    directory = folder / hello["package"] if hello["files"] is not None else None
    return Package(directory, tuple(hello["modules"]), hello["package"], hello["origin"])


def _child(request: dict, hello: dict, user: processes.SandboxUser | None, folder: Path,
           answer: int, printed: int) -> NoReturn:
    """A test's child: confines itself, makes the calls, writes the answer to ``answer`` and
    ends. What it prints goes to ``printed``."""
    os.setsid()  # a session of its own: no terminal, no signals meant for the grader's group
    os.dup2(printed, 1)  # first: ``printed`` may be fd 3
    os.dup2(answer, 3)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 2)
    os.closerange(4, os.sysconf("SC_OPEN_MAX") if os.sysconf("SC_OPEN_MAX") > 0 else 4096)
    sys.stdout = open(1, "w", closefd=False)
    sys.stderr = open(2, "w", closefd=False)
    try:
        confine.enter(user, request["seconds"], folder)
    except processes.SetupError as error:
        items, report = None, [str(error)]
    else:
        os.chdir(folder)
        os.environ.clear()
        os.environ.update(HOME=str(folder), TMPDIR=str(folder), PATH="/usr/bin:/bin",
                          LANG="C.UTF-8")
        tempfile.tempdir = str(folder)
        sys.path.insert(0, str(folder))
        sys.dont_write_bytecode = True
        torch.set_num_threads(1)  # the sandbox's thread pool does not survive the fork
        items, report = run_calls(request["calls"], _package(hello, folder), folder)
    sys.stdout.flush()
    write_message(open(3, "wb", buffering=0, closefd=False), _answer_of(items, report))
    os._exit(0)


def _read_answer(read_end: int, pid: int, deadline: float
                 ) -> tuple[Outcome, bytes, int | None]:
    """What the child at ``pid`` writes to ``read_end``: (why reading stopped; the answer;
    the child's wait status if it ended).

    The answer is read by its length, not to the end of the pipe, which a process the child
    started may hold open.
    """
    os.set_blocking(read_end, False)
    buffer, status = bytearray(), None
    while True:
        if len(buffer) >= LENGTH.size:
            (length,) = LENGTH.unpack(buffer[:LENGTH.size])
            if length > MAX_ANSWER:
                return Outcome.TOO_MUCH, b"", status
            if len(buffer) >= LENGTH.size + length:
                return Outcome.ANSWERED, bytes(buffer[LENGTH.size:LENGTH.size + length]), status
        left = deadline - time.monotonic()
        if left <= 0:
            return Outcome.TIMEOUT, b"", status
        if select.select([read_end], [], [], min(left, 0.01))[0]:
            try:
                chunk = os.read(read_end, 1 << 20)
            except BlockingIOError:
                continue
            if chunk:
                buffer += chunk
                continue
            if status is None:  # the pipe ended: so did the child, or it closed the pipe
                status = os.waitpid(pid, 0)[1]
            return Outcome.ENDED, b"", status
        if status is not None:  # ended before, and nothing more to read
            return Outcome.ENDED, b"", status
        done, wait_status = os.waitpid(pid, os.WNOHANG)
        if done:
            status = wait_status  # read once more: what it wrote before it ended


def _user(description: dict | None) -> processes.SandboxUser | None:
    """The user a hello or question names (``{"uid": ..., "gid": ...}``; None: this
    process's own)."""
    return processes.SandboxUser(**description) if description else None


def _clean_up(user: processes.SandboxUser | None, folders: list[str]) -> None:
    """Ends and reaps every process of ``user`` and every descendant of this process, then
    removes every file of ``user`` in ``folders``: nothing of a child outlives its question."""
    uids = None if user is None else range(user.uid, user.uid + 1)
    processes.end_processes(uids, os.getpid())
    if uids is not None:
        processes.remove_files_of(uids, folders)


def _answer_in_child(request: dict, hello: dict, base: Path) -> tuple[dict, bytes]:
    """The header and answer of one question, from a child (Linux) that runs as the uid the
    question names (None: this process's own)."""
    user = _user(request["user"])
    processes.reap()  # what ended since the last question: no zombie counts against a limit
    folder = _test_folder(base, hello, user)
    read_end, write_end = os.pipe()
    with tempfile.TemporaryFile(dir=base) as printed:
        started = time.monotonic()
        deadline = started + request["seconds"]
        pid = os.fork()
        if pid == 0:
            try:
                os.close(read_end)
                _child(request, hello, user, folder, write_end, printed.fileno())
            finally:
                os._exit(0)
        os.close(write_end)
        try:
            why, answer, status = _read_answer(read_end, pid, deadline)
            ran = time.monotonic() - started
        finally:
            os.close(read_end)
            if status is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                status = os.waitpid(pid, 0)[1]
            _clean_up(user, hello["folders"])
            processes.remove_path(folder)
        printed.seek(0)
        shown = printed.read(PRINTED_SHOWN).decode(errors="replace")
    return {"why": why.value, "status": status, "ran": ran, "printed": shown}, answer


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raises Failure in the main thread once ``seconds`` have passed (where there is
    SIGALRM)."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum: int, frame) -> NoReturn:
        raise Failure("timed out")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _answer_here(request: dict, hello: dict, base: Path) -> tuple[dict, bytes]:
    """The header and answer of one question, with the calls made in this process (where
    fork is not safe)."""
    folder = _test_folder(base, hello, None)
    printed = io.StringIO()
    why, started = Outcome.ANSWERED, time.monotonic()
    try:
        with contextlib.redirect_stdout(printed), _time_limit(request["seconds"]):
            items, report = run_calls(request["calls"], _package(hello, folder), folder)
    except Failure:
        why, items, report = Outcome.TIMEOUT, None, None
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # off Linux: a tree of the grader's own user
    header = {"why": why.value, "status": None, "ran": time.monotonic() - started,
              "printed": printed.getvalue()[:PRINTED_SHOWN]}
    return header, (_answer_of(items, report) if why is Outcome.ANSWERED else b"")


# ----------------------------------------------------------------------------------------
# Set-up


def _setup_problem(user: processes.SandboxUser) -> str:
    """Why a child confined as each test's will be cannot run the submission, in one line,
    or "": it must be confinable and able to read the Python installation (the interpreter,
    the standard library, the packages, torch), which it imports from after the change of
    user."""
    paths = [Path(sys.executable).resolve(),
             *(Path(sysconfig.get_paths()[key]) for key in ("stdlib", "platstdlib", "purelib")),
             Path(torch.__file__).parent]
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            problem = ""
            try:
                confine.enter(user, 10, None)
                for path in paths:
                    try:
                        if path.is_dir():
                            os.listdir(path)
                        else:
                            path.open("rb").close()
                    except OSError:
                        problem = (
                            f"the sandbox user, {user.name}, cannot read {path}, part of the "
                            f"Python installation in {sys.prefix}: build the environment from "
                            "a Python every user can read, in a folder every user can reach "
                            "(for example `make venv PYTHON=/usr/bin/python3`), or run the "
                            "grader as an ordinary user, not root (the submission then runs "
                            "as that user)")
                        break
            except processes.SetupError as error:
                problem = str(error)
            os.write(write_end, problem.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as answer:
        problem = answer.read().decode()
    os.waitpid(pid, 0)
    return problem


def serve() -> None:
    """The sandbox's main loop (see the module's docstring); ends when the judge closes its
    stdin."""
    # The channel to the judge on fds of their own; stray output of this process goes to
    # stderr, never into a message.
    inbox = os.fdopen(os.dup(0), "rb")
    outbox = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    if FORKS:
        processes.protect_self()
        confine.die_with_parent()
    # Its own modules are loaded (network.py too, which the submission may import): the
    # grader's folder, where the judge's files are, leaves the import path, this process's and
    # its children's.
    grader_folder = confine.hidden_folder()
    sys.path[:] = [entry for entry in sys.path
                   if entry and Path(entry).resolve() != grader_folder]
    warm_up()

    message = read_message(inbox, MAX_HELLO)
    if message is None:  # the judge ended before it needed a sandbox (a usage error, --help)
        os._exit(0)
    with torch.serialization.safe_globals([bytes]):  # an empty file is pickled as bytes()
        hello = torch.load(io.BytesIO(message), weights_only=True)
    user = _user(hello["user"])
    problem = ""
    if user is not None and FORKS:
        problem = _setup_problem(user)
        _clean_up(user, hello["folders"])
    if FORKS:  # once a run, on the grader's stderr
        notes = [confine.landlock_note()]
        if user is not None and not confine.landlock_abi():
            notes.append(confine.exposed_note(grader_folder))
        for note in filter(None, notes):
            print(note, file=sys.stderr, flush=True)
    write_message(outbox, json.dumps({"ready": not problem, "problem": problem}).encode())
    if problem:
        return
    base = Path(hello["base"])  # the judge's, which removes it too if this process dies
    try:
        while (message := read_message(inbox, MAX_QUESTION)) is not None:
            request = torch.load(io.BytesIO(message), weights_only=True)
            if FORKS:
                header, answer = _answer_in_child(request, hello, base)
            else:
                header, answer = _answer_here(request, hello, base)
            write_message(outbox, json.dumps(header).encode())
            write_message(outbox, answer)
    finally:
        if FORKS:
            processes.end_processes(None, os.getpid())
            processes.remove_path(base)
        else:
            shutil.rmtree(base, ignore_errors=True)
        outbox.flush()
        os._exit(0)  # nothing is left to tear down that the judge waits for

