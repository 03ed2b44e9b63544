"""Variants of src/submission/ for the tests of the grader: the reference with the code of
chosen START/END blocks replaced, or lines added at the end of a module."""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path

from common import processes
from common.blocks import BLOCK, block, with_bodies
from course.manifest import GRADER, WRITTEN_CHECKS
from judge import given_code

SRC = Path(__file__).resolve().parent.parent
MODULES = ("__init__", "flow_network", "gan")


def reference(name: str) -> str:
    """src/submission/<name>, the code that earns every point."""
    return (SRC / "submission" / name).read_text()


def blanked(source: str) -> str:
    """``source`` with the body of every START/END block replaced by ``pass``."""
    return with_bodies(source, lambda match: "pass")


def body_of(source: str, function: str) -> str:
    """The code in the START/END block of ``function`` in ``source``, unindented."""
    match = BLOCK.search(source, source.index(f"def {function}("))
    lines = match[0].splitlines()[1:-1]
    return "\n".join(line[len(match[1]):] for line in lines)


def replace_block(source: str, function: str, body: str) -> str:
    """``source`` with the START/END block of ``function`` holding ``body``."""
    match = BLOCK.search(source, source.index(f"def {function}("))
    return source[:match.start()] + block(match[1], body) + source[match.end():]


def with_blocks(module: str, bodies: dict[str, str]) -> str:
    """The reference ``module`` (``"gan"``, ...) with the START/END blocks of these functions
    holding these bodies."""
    source = reference(f"{module}.py")
    for function, body in bodies.items():
        source = replace_block(source, function, body.strip())
    return source


def files(**changed: str | None) -> dict[str, str]:
    """The three files of src/submission/ under submission/, with ``changed`` ones replaced
    (``flow_network=...``) or, where None, left out."""
    upload = {name: reference(f"{name}.py") for name in MODULES}
    upload.update(changed)
    return {f"submission/{name}.py": text for name, text in upload.items() if text is not None}


def write(folder: Path, upload: dict[str, str | bytes]) -> None:
    """Writes the files of ``upload`` (path: contents) under ``folder``."""
    for path, contents in upload.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(contents, bytes):
            (folder / path).write_bytes(contents)
        else:
            (folder / path).write_text(contents)


# The grader and what it imports, copied beside each submission that ``grade`` runs, so that
# a submission that writes into the grader's folder damages a copy.
GRADER_FILES = (*GRADER, WRITTEN_CHECKS)  # a copy of the grader, as tests run it


def copy_grader(folder: Path, names: tuple[str, ...] = GRADER_FILES) -> None:
    """Copies the grader's files ``names`` (paths under src/) into ``folder``, at their paths."""
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SRC / name, folder / name)


def grade(upload: dict[str, str], *test_ids: str, sandbox_user: str = "auto",
          errors: list[str] | None = None) -> tuple[int, str, dict]:
    """Runs a copy of the grader on the submission ``upload`` (from ``files``): its exit
    status, what it printed, and its Gradescope results; what it printed to stderr is
    appended to ``errors``.

    ``sandbox_user``: "auto" (as root: each test's submission code runs as a uid of its own)
    or "none", as on a laptop: the grader runs as an ordinary user, the submission as that
    user too. As root that user is a fresh uid that owns the grader's copy (``as_laptop``).
    """
    top = Path(tempfile.mkdtemp())
    top.chmod(0o711)  # the laptop user reaches the folder below, its own
    folder = top / "grader"
    folder.mkdir(mode=0o700)  # root's alone where the grader runs as root, else the laptop user's
    laptop = sandbox_user == "none" and os.geteuid() == 0
    try:
        copy_grader(folder)
        given_code.write_starter_texts(SRC, folder / "given_code.json")  # as the bundle has it
        write(folder, upload)
        results = folder / "results.json"
        command = [sys.executable, "grader.py", "--gradescope", str(results), *test_ids]
        if laptop:
            with as_laptop(folder) as prefix:
                done = subprocess.run([*prefix, *command], cwd=folder, capture_output=True,
                                      text=True, timeout=300,
                                      env={**os.environ, "HOME": str(folder)})
        else:
            done = subprocess.run([*command, "--sandbox-user", sandbox_user], cwd=folder,
                                  capture_output=True, text=True, timeout=300)
        if errors is not None:
            errors.append(done.stderr)
        if not results.is_file():
            raise AssertionError(f"the grader wrote no results (status {done.returncode}):\n"
                                 f"{done.stderr[-2000:]}")
        return done.returncode, done.stdout, json.loads(results.read_text())
    finally:
        processes.remove_path(top)


class LeftBehind(AssertionError):
    """A process of the laptop user outlived the grader that ran as that user."""


@contextlib.contextmanager
def as_laptop(folder: Path) -> Iterator[list[str]]:
    """For root: a command prefix that runs a program as an ordinary user, a fresh uid with
    no groups, which then owns ``folder`` and all in it (as a laptop's user owns its
    checkout). Afterwards no process of that uid may be left (LeftBehind: they are ended
    first), and every file it owns wherever every user can write is removed: a grader that
    runs as the user cannot tell the user's files from the submission's, and removes only the
    submission's folders."""
    uids = processes.unused_uids(1)
    for path in [folder, *folder.rglob("*")]:
        os.chown(path, uids.start, uids.start, follow_symlinks=False)
    try:
        yield ["setpriv", f"--reuid={uids.start}", f"--regid={uids.start}", "--clear-groups"]
        left = {pid for pid, _, uid, state in processes.processes()
                if uid == uids.start and state not in "ZX"}
        if left:
            raise LeftBehind(f"processes of the laptop user outlived the grader: {sorted(left)}")
    finally:
        processes.end_processes(uids, os.getpid())
        processes.remove_files_of(uids, processes.writable_folders())


def unreachable_python(folder: Path) -> Path:
    """A Python with this one's packages, in a virtual environment inside ``folder``, which
    must be root's alone (a private temporary folder): the grader's own interpreter, out of
    the sandbox user's reach, as a venv made from pyenv's Python in root's home is."""
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    (site / "site-packages" / "outer.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv / "bin" / "python"
