"""Checks that a Python has what this code needs: Python 3.10 or newer and every package of
``requirements.txt`` (beside this file) at its lowest version there.

    cd src && /path/to/python -m course.check_env   (``make ... USE_PYTHON=/path/to/python`` runs it)

Prints one line naming the versions found and exits 0, or names each package that is missing
or too old, and how to install them, and exits 1. It reads the installed packages' metadata
and imports none of them, so that it takes no time.
"""

# Lets a Python older than 3.10 read the annotations below, so that it is told it is too old.
from __future__ import annotations

import re
import sys
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


def main() -> int:
    lacking, have = problems(requirements(REQUIREMENTS.read_text()))
    python = f"{sys.executable} (Python {sys.version.split()[0]})"
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
