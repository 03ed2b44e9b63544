"""Writes ``submission.zip`` for upload, once the zipped copy is known to grade.

    python -m course.make_submission [--out ../submission.zip]   (``make submission`` runs this)

The zip holds exactly ``submission/__init__.py``, ``submission/flow_network.py`` and
``submission/gan.py``, the paths the problem set asks for. It is unzipped into an empty
folder and checked there, so that what is uploaded is what was checked:

1. as the course's autograder reads it: with only ``network.py`` beside it, a fresh Python
   process does ``import submission`` and reaches every graded name through the package
   (``submission.flow_network.MADE``, ``submission.gan.loss_nonsaturating_d``, ...);
2. with the basic tests that carry points (``grader.py --submission``), which also name every
   line changed outside the START/END blocks (judge/given_code.py).

If the first fails, no zip is written. Given code changed outside the blocks is named, and
counts only where a basic test passes with the change but fails with the starter's given
code around the blocks, or where that cannot be told (the blocks do not match the
starter's). A basic test that fails, here or so, stops the zip unless ``--partial``
(``make submission PARTIAL=1``) asks for the work as it is. The zip's comment records its
basic points, and an earlier zip at ``--out`` that earned more is never replaced: the new one
is then not written, and the message says why.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from common import files
from course.manifest import HAND_IN, POINTS
from judge import given_code
from judge.declare import is_written_check

SRC = Path(__file__).resolve().parents[1]
FILES = [f"submission/{name}" for name in HAND_IN]

# Run in the unzipped copy's folder: what the course's autograder needs of the package.
# Prints one line per missing name, with the fix; exits non-zero if any is missing.
IMPORT_CHECK = """
import json, sys
graded = json.loads(sys.argv[1])
try:
    import submission
except BaseException as error:
    sys.exit(f"`import submission` fails: {type(error).__name__}: {error}")
missing = []
for module, names in graded.items():
    found = getattr(submission, module, None)
    if found is None:
        missing.append(f"submission.{module} is missing: "
                       f"add the line `from .{module} import *` to submission/__init__.py")
        continue
    missing += [f"submission.{module}.{name} is missing: define it in submission/{module}.py"
                for name in names if not hasattr(found, name)]
sys.exit("\\n".join(missing) or None)
"""


def basic_test_ids() -> list[str]:
    """The basic tests of the code, not the checks of written answers (is_written_check)."""
    points = json.loads((SRC / POINTS).read_text())
    return [test for test, value in points.items()
            if test.endswith("-basic") and not is_written_check(value)]


def write_zip(archive: Path, source: Path = SRC) -> None:
    """Zips the FILES of ``source`` (a folder holding ``submission/``) into ``archive``."""
    files.write_zip(archive, {name: source / name for name in FILES})


def import_problems(folder: Path) -> str:
    """What stops the course's autograder from reading the package in ``folder``, or "".

    ``folder`` holds ``submission/`` and ``network.py`` only; the check runs there in a
    fresh process, with no PYTHONPATH, so that nothing else can be imported in its place.
    """
    from judge.common import GRADED_NAMES  # what the graders' tests read

    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", IMPORT_CHECK, json.dumps(GRADED_NAMES)],
                          cwd=folder, env=env, capture_output=True, text=True)
    return "" if done.returncode == 0 else done.stderr.strip()


def basic_points(folder: Path, results: Path,
                 sandbox_user: str = "auto") -> tuple[list[dict], int]:
    """Runs the basic tests on the package in ``folder`` (their output is shown), the
    submission as ``sandbox_user`` (grader.py's ``--sandbox-user``); returns their entries in
    the grader's results (Gradescope's format) and its exit status."""
    done = subprocess.run([sys.executable, "grader.py", "--submission", str(folder),
                           "--gradescope", str(results), "--sandbox-user", sandbox_user,
                           *basic_test_ids()], cwd=SRC)
    return json.loads(results.read_text())["tests"] if results.is_file() else [], done.returncode


def given_code_problem(tests: list[dict]) -> str:
    """Why the given code that the hand-in changed stops the zip: a basic test passes only
    with the change, or whether one does cannot be told; "" where none does. ``tests``:
    basic_points' entries of a hand-in that changed it (the grader gives each its score with
    the starter's given code around the hand-in's blocks, where that can be told)."""
    with_given = [test.get("extra_data", {}).get("score_with_given_code") for test in tests]
    if None in with_given:
        return ("whether the basic tests pass with the starter's given code around your blocks "
                "is not known (above)")
    if only := [test["number"] for test, score in zip(tests, with_given)
                if score < test["max_score"] <= test["score"]]:
        return (f"the basic tests {', '.join(only)} pass only with your changes to the given "
                "code: with the starter's around your blocks they fail (above)")
    return ""


def earlier_points(archive: Path) -> float | None:
    """The basic points recorded in the comment of an earlier zip at ``archive``, or None."""
    try:
        with zipfile.ZipFile(archive) as earlier:
            return float(json.loads(earlier.comment.decode())["basic_points"])
    except (OSError, zipfile.BadZipFile, ValueError, KeyError, TypeError):
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=SRC.parent / "submission.zip",
                        help="where to write the zip (default: submission.zip at the top level)")
    parser.add_argument("--partial", action="store_true",
                        help="write the zip of work that fails basic tests, here or with "
                             "the starter's given code (the package must still import)")
    parser.add_argument("--sandbox-user", default="auto", metavar="USER",
                        help="whom the grader runs the submission as (grader.py's option)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        archive, unzipped = Path(tmp) / "submission.zip", Path(tmp) / "unzipped"
        write_zip(archive)
        with zipfile.ZipFile(archive) as written:
            written.extractall(unzipped)
        shutil.copy(SRC / "network.py", unzipped)
        if problems := import_problems(unzipped):
            print(f"{problems}\n{args.out} not written: the course's autograder could not read "
                  "the package (above)", file=sys.stderr)
            return 1
        tests, status = basic_points(unzipped, Path(tmp) / "results.json", args.sandbox_user)
        if status not in (0, 1):  # no verdicts: the grader could not run
            print(f"{args.out} not written: the basic tests could not run (above)",
                  file=sys.stderr)
            return 1
        earned = sum(test["score"] for test in tests)
        possible = sum(test["max_score"] for test in tests)
        failed = [test["number"] for test in tests if test["score"] < test["max_score"]]
        package_files = {path.name: path.read_bytes()
                         for path in (unzipped / "submission").glob("*.py")}
        changed = given_code.all_changes(package_files, given_code.starter_texts(SRC))
        why = []
        if failed:
            why.append(f"the zipped copy fails the basic tests {', '.join(failed)} (above)")
        if changed and (problem := given_code_problem(tests)):
            why.append(problem)
        if why and not args.partial:
            print(f"{args.out} not written: {'; '.join(why)}. To hand in work that fails "
                  "basic tests as it is: make submission PARTIAL=1 "
                  "(python -m course.make_submission --partial)", file=sys.stderr)
            return 1
        before = earlier_points(args.out) if args.out.exists() else None
        if before is not None and before > earned:
            print(f"{args.out} kept: it earned {before:g}/{possible:g} basic points, this copy "
                  f"{earned:g}/{possible:g}. To replace it, remove it first, or write this one "
                  "elsewhere with --out FILE", file=sys.stderr)
            return 1
        with zipfile.ZipFile(archive, "a") as written:
            written.comment = json.dumps({"basic_points": earned, "of": possible,
                                          "failed": failed}).encode()
        files.replace_atomically(args.out, lambda tmp: shutil.copyfile(archive, tmp))
    partial = f" (as it is: {earned:g}/{possible:g} basic points)" if why else ""
    print(f"wrote {args.out}{partial}: {', '.join(FILES)}")
    if changed:
        named = ", ".join(f"submission/{change.name}" for change in changed)
        print(f"note: it changes the given code outside the START/END blocks of {named} "
              "(the lines above); the problem set asks for changes inside the blocks only")
    return 0


if __name__ == "__main__":
    sys.exit(main())
