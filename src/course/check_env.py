"""Checks that a Python can run this code: Python 3.10 or newer, every package of
``requirements.txt`` (in src/) at its lowest version there, and, as root, that the
user the grader runs the submission as can run it too.

    cd src && /path/to/python -m course.check_env [--sandbox-user USER]
        (``make ... USE_PYTHON=/path/to/python`` runs it)
    cd src && /path/to/python -m course.check_env --venv DIR [--sandbox-user USER]
        (``make venv`` runs it first: may a venv made from this Python in DIR run the grader?)

Prints one line naming the versions found and exits 0, or names each package that is missing
or too old, and how to install them, and exits 1. It reads the installed packages' metadata
and imports none of them, so that it takes no time. With ``--venv`` it checks the Python alone,
not its packages, which the venv is about to get.

Run as root on Linux, the grader runs the submission as another user (grader.py's
``--sandbox-user``, ``auto`` by default: an unused uid), who must be able to run the Python
and read its packages, or the grader stops with a set-up problem. This check runs the Python
as such a user (a fraction of a second) and, where it cannot, says so in one line with the
fix before anything is installed.
"""

# Lets a Python older than 3.10 read the annotations below, so that it is told it is too old.
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

REQUIREMENTS = Path(__file__).resolve().parents[1] / "requirements.txt"
PYTHON_MIN = (3, 10)
# The only forms requirements.txt uses: a name, or a name with a lowest version
LINE = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:>=\s*(\d+(?:\.\d+)*))?")


def requirements(text: str) -> list[tuple[str, str | None]]:
    """Each package of a requirements file, with its lowest version or None. A line in any
    other form is an error rather than left unchecked."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = LINE.fullmatch(line)
        if match is None:
            raise ValueError(f"requirements.txt, line {number}: {line!r} is not 'name' or "
                             "'name>=version'")
        found.append((match[1], match[2]))
    return found


def release(version: str) -> tuple[int, ...]:
    """The numbers a version starts with: '2.14.1+cu128' -> (2, 14, 1), '2.5.0rc1' -> (2, 5, 0)."""
    match = re.match(r"\d+(?:\.\d+)*", version)
    return tuple(int(part) for part in match[0].split(".")) if match else ()


def problems(needed: list[tuple[str, str | None]]) -> tuple[list[str], list[str]]:
    """What this Python lacks, one line each, and the versions it has of the rest."""
    lacking, have = [], []
    if sys.version_info < PYTHON_MIN:
        lacking.append(f"Python {sys.version.split()[0]}: too old, needs "
                       f"{'.'.join(map(str, PYTHON_MIN))} or newer")
    for name, lowest in needed:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            lacking.append(f"{name}: not installed" + (f" (needs >={lowest})" if lowest else ""))
            continue
        if lowest and release(version) < release(lowest):
            lacking.append(f"{name} {version}: too old, needs >={lowest}")
        else:
            have.append(f"{name} {version}")
    return lacking, have


def fix(python_too_old: bool) -> str:
    """How to give this Python what it lacks, or to do without it."""
    if python_too_old:
        how = "Use a newer Python"
    elif (Path(sys.prefix) / "conda-meta").is_dir():  # a conda environment
        how = (f"Install them into it: conda env update --prefix {sys.prefix} "
               f"--file {REQUIREMENTS.with_name('environment.yml')}")
    else:
        how = f"Install them into it: {sys.executable} -m pip install -r {REQUIREMENTS}"
    return f"{how}; or leave out USE_PYTHON, and make builds its own environment, .venv."


# Run by the sandbox's user: exits UNREACHABLE where it cannot reach one of the folders it is
# given ("enter": the folder a venv is made in, which it needs only to pass through; "read": a
# folder of packages, which it must list too), after printing that folder.
UNREACHABLE = 3
PROBE = f"""import os, sys
mode = os.X_OK if sys.argv[1] == "enter" else os.R_OK | os.X_OK
for path in sys.argv[2:]:
    if not os.access(path, mode):
        print(path)
        sys.exit({UNREACHABLE})
"""
# What to do where the sandbox's user cannot run this Python, or reach the venv's folder
FIX_PYTHON = ("give make a Python 3.10 or newer that every user can run, outside private "
              "folders such as root's home (PYTHON=/usr/bin/python3 on Debian and Ubuntu), or "
              "run make as an ordinary user")
FIX_FOLDER = ("make the venv where every user can reach it (VENV=/var/tmp/maf-gan-venv), or "
              "run make as an ordinary user")


def folder_of(venv: Path) -> Path:
    """The nearest folder that exists on the way to ``venv`` (made absolute): where the venv
    will be made."""
    folder = Path(os.path.abspath(venv))
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    return folder


def sandbox_problem(requested: str, venv: Path | None) -> str:
    """Why the user that grader.py runs the submission as (its ``--sandbox-user requested``)
    could not run this Python, or read its packages, or, given ``venv``, reach the folder a
    venv there is made in: one line, or "" where it can, or where that user is this one."""
    # the grader's own choice of user (standard library only)
    from common.processes import SetupError
    from judge.launch import choose_users

    try:
        users = choose_users(requested)
    except SetupError as error:
        return str(error)
    if users is None:  # not root: the submission runs as this very user
        return ""
    user = users.take()
    if venv is None:
        probe = ["read", sysconfig.get_paths()["purelib"]]
    else:
        probe = ["enter", str(folder_of(venv))]
    who = f"as root, the grader runs the submission as another user ({user.name}), who"
    try:
        done = subprocess.run([sys.executable, "-I", "-c", PROBE, *probe], cwd="/",
                              user=user.uid, group=user.gid, extra_groups=[],
                              capture_output=True, text=True, timeout=60)
    except OSError as error:  # the interpreter itself is out of its reach
        return f"{who} cannot run {sys.executable} ({error.strerror}): {FIX_PYTHON}"
    if done.returncode == UNREACHABLE and venv is not None:
        return f"{who} cannot reach {done.stdout.strip()}, where {venv} goes: {FIX_FOLDER}"
    if done.returncode == UNREACHABLE:
        return (f"{who} cannot read {done.stdout.strip()}, where this Python's packages are: "
                f"{FIX_PYTHON}")
    if done.returncode != 0:  # it started, without its standard library, say
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        return f"{who} cannot run {sys.executable} ({last}): {FIX_PYTHON}"
    return ""


def check_before_venv(venv: Path, requested: str) -> int:
    """``make venv``'s check of the Python it makes ``venv`` from, before anything is
    installed: one line and status 1 where a venv made from it would not run the grader."""
    if sys.version_info < PYTHON_MIN:
        print(f"make venv: {sys.executable} is Python {sys.version.split()[0]}; "
              f"{'.'.join(map(str, PYTHON_MIN))} or newer is needed: PYTHON=python3.x",
              file=sys.stderr)
        return 1
    if venv.is_dir() and any(venv.iterdir()) and not (venv / "pyvenv.cfg").is_file():
        print(f"make venv: {venv} holds files and no virtual environment, which making one "
              "there would remove: VENV=another folder", file=sys.stderr)
        return 1
    problem = sandbox_problem(requested, venv)
    if problem:
        print(f"make venv: {problem}", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--venv", type=Path, metavar="DIR",
                        help="check this Python alone, before a venv is made from it in DIR")
    parser.add_argument("--sandbox-user", default="auto", metavar="USER",
                        help="whom grader.py runs the submission as (its --sandbox-user)")
    args = parser.parse_args()
    if args.venv is not None:
        return check_before_venv(args.venv, args.sandbox_user)
    lacking, have = problems(requirements(REQUIREMENTS.read_text()))
    python = f"{sys.executable} (Python {sys.version.split()[0]})"
    problem = "" if lacking else sandbox_problem(args.sandbox_user, None)
    if problem:
        print(f"check_env: {problem}", file=sys.stderr)
        return 1
    if not lacking:
        print(f"check_env: {python} has {', '.join(have)}")
        return 0
    print(f"check_env: {python} lacks what this code needs:", file=sys.stderr)
    for line in lacking:
        print(f"  {line}", file=sys.stderr)
    print(fix(sys.version_info < PYTHON_MIN), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
