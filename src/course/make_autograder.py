"""Builds ``autograder.zip``, the bundle a course uploads to Gradescope, once it has given
full points to this repository's own submission.

    python -m course.make_autograder [--out ../autograder.zip]     (``make autograder`` runs this)

At the zip's root: ``setup.sh`` and ``run_autograder`` (from ``course/gradescope/``), the
grader's files at their paths under ``src/`` (``course/manifest.py``'s GRADER: the judge, the
sandbox, what they import), the starter's given code (``given_code.json``, blocks emptied),
against which a hand-in's changes outside the blocks are named, and ``requirements.lock``: the
packages of ``requirements.txt`` at the versions of the environment that runs this script,
which setup.sh installs on Gradescope, so that it grades in the students' environment. Not the
checks of written answers, which carry no points. It holds no ``submission/`` package: a file
missing from an upload must fail its tests, never be filled in by the reference. Before the
zip is written, it is run as Gradescope runs it, in a temporary root, on ``submission.zip``
made from ``src/submission/``; anything short of full points leaves no zip, and so does a
grader that cannot start its sandbox here (one line says why).
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from importlib import metadata
from pathlib import Path

import graderUtil
from common.exit_status import SETUP_PROBLEM
from common.files import replace_atomically, write_zip
from course import check_env, make_submission
from course.manifest import GIVEN_CODE_FILE, GRADER, GRADESCOPE, LOCK_FILE
from judge import given_code

SRC = Path(__file__).resolve().parents[1]
# The bundle: name in the zip -> path under src/. Gradescope's scripts at the top, the grader's
# files at their own paths (course/manifest.py)
BUNDLE = {**GRADESCOPE, **{path: path for path in GRADER}}
EXECUTABLE = set(GRADESCOPE)  # Gradescope runs both scripts
# Written by write_bundle, beside the BUNDLE's files
WRITTEN = (GIVEN_CODE_FILE, LOCK_FILE)


class SetupProblem(RuntimeError):
    """The bundle's grader could not start its sandbox on this machine: a problem of the
    set-up (the grader's one line says which), not of the bundle or the submission."""


def pinned_requirements() -> str:
    """requirements.lock: each package of requirements.txt at the version this Python has,
    without a local label such as +cu128 (so that the CPU build of that version matches)."""
    names = [name for name, _ in check_env.requirements(check_env.REQUIREMENTS.read_text())]
    return "".join([
        "# The packages of requirements.txt at the versions of the environment that made this\n",
        f"# bundle (Python {platform.python_version()}); setup.sh installs them, torch and "
        "torchvision as CPU builds.\n",
        *(f"{name}=={metadata.version(name).split('+')[0]}\n" for name in names)])


def write_bundle(archive: Path) -> None:
    """Zips the BUNDLE into ``archive``, the two scripts executable, with the starter's given
    code (``given_code.json``), against which a hand-in's changes are named, and the versions
    to install (``requirements.lock``)."""
    with tempfile.TemporaryDirectory() as tmp:
        starter = Path(tmp) / GIVEN_CODE_FILE
        given_code.write_starter_texts(SRC, starter)
        contents = {name: (SRC / source).read_bytes() for name, source in BUNDLE.items()}
        contents[GIVEN_CODE_FILE] = starter.read_bytes()
        contents[LOCK_FILE] = pinned_requirements().encode()
    write_zip(archive, contents, EXECUTABLE)


def run_bundle(archive: Path, upload: Path, root: Path) -> dict:
    """Runs the bundle ``archive`` as Gradescope does, in the empty folder ``root``, on the
    files and folders in ``upload``; returns its results.json. SetupProblem where its grader
    could not start its sandbox."""
    run = run_autograder(archive, upload, root, sys.executable)
    if run.returncode == SETUP_PROBLEM:
        raise SetupProblem(graderUtil.setup_problem_line(run.stderr))
    if run.returncode != 0:
        raise RuntimeError(f"run_autograder failed (status {run.returncode}):\n"
                           f"{run.stderr[-3000:]}")
    return json.loads((root / "results" / "results.json").read_text())


def run_autograder(archive: Path, upload: Path, root: Path,
                   python: str) -> subprocess.CompletedProcess:
    """Lays out the bundle as Gradescope does in the empty folder ``root`` (``archive``
    unpacked into ``root/source``, ``run_autograder`` at the root, ``upload`` copied into
    ``root/submission``) and runs it, the grader with the interpreter ``python``; returns
    the run, with its standard error."""
    with zipfile.ZipFile(archive) as bundle:
        bundle.extractall(root / "source")
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "run_autograder").chmod(0o755)
    shutil.copytree(upload, root / "submission")
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": python}
    env.pop("PYTHONPATH", None)
    return subprocess.run([str(root / "run_autograder")], cwd=root, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=SRC.parent / "autograder.zip",
                        help="where to write the bundle (default: autograder.zip at the top level)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        archive, upload = Path(tmp) / "autograder.zip", Path(tmp) / "upload"
        try:
            write_bundle(archive)
        except metadata.PackageNotFoundError as error:
            print(f"{args.out} not written: this environment has no {error}, whose version "
                  "the bundle pins: python -m course.check_env, run in src/, names what is "
                  "missing", file=sys.stderr)
            return 1
        upload.mkdir()
        make_submission.write_zip(upload / "submission.zip")
        start = time.perf_counter()
        try:
            results = run_bundle(archive, upload, Path(tmp) / "root")
        except SetupProblem as problem:
            print(f"{args.out} not written: {problem}", file=sys.stderr)
            return 1
        seconds = time.perf_counter() - start
        graded = [test for test in results["tests"] if test["max_score"] > 0]
        short = [test["number"] for test in graded if test["score"] < test["max_score"]]
        if short or not graded:
            print(results["output"], file=sys.stderr)
            print(f"{args.out} not written: the bundle does not give this repository's "
                  f"submission full points (short on: {', '.join(short) or 'every test'})",
                  file=sys.stderr)
            return 1
        replace_atomically(args.out, lambda tmp: shutil.copyfile(archive, tmp))
    earned = sum(test["score"] for test in graded)
    names = ", ".join([*BUNDLE, *WRITTEN])
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB): {names}\n"
          f"it gave src/submission {earned:g}/{earned:g} points in {seconds:.1f} s "
          f"({len(graded)} tests)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
