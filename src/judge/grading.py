"""A grading run: every test in turn with one sandbox, its verdict printed as it comes and
written to Gradescope's results, then the summary; and the comparison of a hand-in that changed
the starter's given code with the same hand-in in the starter's given code.
"""

import contextlib
import dataclasses
import io
import time
from collections.abc import Iterable
from pathlib import Path

from common import processes, safe_text
from common.files import write_json
from judge import given_code, launch
from judge.client import Sandbox
from judge.declare import ELSEWHERE, GradedTest
from judge.gradescope import gradescope_results
from judge.report import INDENT, OUTPUT_LIMIT, SEPARATOR, Verdict, points_text, print_summary
from judge.run import Grading, judged


def fingerprint(folder: Path, results: Path | None) -> dict[str, tuple[int, int, int]]:
    """Size, modification time and inode of every file directly in ``folder`` (the grader's)
    and of ``results``: a write shows, without reading the files (a user's 30 MB of samples
    may sit beside the grader)."""
    files = [path for path in folder.iterdir() if path.is_file()]
    if results is not None and results.is_file():
        files.append(results)
    return {str(path): (stat.st_size, stat.st_mtime_ns, stat.st_ino)
            for path in files for stat in [path.stat()]}


def grade(tests: list[GradedTest], folder: Path, sandbox: Sandbox,
          gradescope: Path | None = None, preface: list[str] = (),
          starters: dict[str, Verdict] | None = None) -> list[Verdict]:
    """Runs ``tests`` with ``sandbox`` making the submission's calls, prints ``preface``
    (lines about the whole hand-in), each result and the summary; returns the verdicts.
    ``starters``: the verdicts with the starter's given code in place of the hand-in's
    changed one (given_code_report): a test that scores otherwise says so, and a line before
    the summary says whether any does.

    A test during which a file in ``folder`` (the grader's) or the results file changed
    fails. With ``gradescope``, Gradescope's results JSON is written there before the first
    test and again after each one, so that it is complete even if this process dies midway.
    A test that does not run here is listed, with its points, as graded elsewhere. Raises
    processes.SetupError where the sandbox cannot run.
    """
    start = time.perf_counter()
    preface = [safe_text.one_line(line, OUTPUT_LIMIT) for line in preface]  # quotes the upload
    verdicts: list[Verdict] = []
    here = [test for test in tests if test.runs_here]
    elsewhere = [test for test in tests if not test.runs_here]

    def report() -> None:
        if gradescope is not None:
            results = gradescope_results(here, verdicts, time.perf_counter() - start, preface,
                                         starters)
            write_json(results, gradescope)

    if gradescope is not None:
        gradescope.parent.mkdir(parents=True, exist_ok=True)
    report()
    if preface:
        print("\n".join(preface), flush=True)
    grading = Grading(sandbox)
    try:
        for test in tests:
            if not test.runs_here:
                print(f"{SEPARATOR} {test.test_id} ({points_text(test.points)} points): "
                      f"{test.description}\n{ELSEWHERE}", flush=True)
                continue
            sandbox.wait_until_ready()  # not on any test's time
            print(f"{SEPARATOR} START {test.test_id}: {test.description}", flush=True)
            before = fingerprint(folder, gradescope)
            verdict = judged(grading, test)
            if starters and test.test_id in starters and (
                    starters[test.test_id].score != verdict.score):
                score = points_text(starters[test.test_id].score)
                verdict = dataclasses.replace(verdict, notes=(
                    *verdict.notes, f"with the starter's given code around your blocks this "
                    f"test scores {score} points"))
            after = fingerprint(folder, gradescope)
            if changed := sorted(path for path in before.keys() | after.keys()
                                 if before.get(path) != after.get(path)):
                names = ", ".join(Path(path).name for path in changed)
                verdict = Verdict(test, [f"the submission changed the grader's files ({names})"],
                                  verdict.took, verdict.judge)
            for line in verdict.output:
                print(f"{INDENT}{line}")
            limit = f"{test.timeout:g} s{' per function' if test.functions else ''}"
            print(
                f"{SEPARATOR} END {test.test_id} [took {verdict.took:.2f} s of {limit}; judge "
                f"{verdict.judge:.2f} s, "
                f"{points_text(verdict.score)}/{points_text(test.points)} points]",
                flush=True,
            )
            verdicts.append(verdict)
            report()
    finally:
        sandbox.close()  # before the summary: nothing the submission started outlives grading
    if starters is not None:
        print(depends_on_given_code(verdicts, starters))
        # On Gradescope the summary is shown before the grades are published: of the basic
        # tests only, as the hidden tests' reports are not shown before then.
        basic = [verdict for verdict in verdicts if not verdict.test.hidden]
        preface = [*preface, depends_on_given_code(basic, starters, "basic")]
        report()
    print_summary(verdicts, elsewhere)
    return verdicts


def given_code_report(package: Path, files: dict[str, bytes] | None, tests: list[GradedTest],
                      folder: Path, modules: Iterable[str], users: processes.UserPool | None,
                      early: launch.EarlySandbox | None = None
                      ) -> tuple[list[str], dict[str, Verdict] | None]:
    """The lines that name what the hand-in in ``package`` (its ``files``) changed in the
    starter's given code (given_code.py; the grader's folder ``folder`` holds its text), and,
    where that can be told, the verdicts of ``tests`` with the starter's given code around the
    hand-in's blocks (run here, quietly), by test id: grade compares the hand-in's own with
    them."""
    files = files or {}
    starter = given_code.starter_texts(folder)
    found = given_code.all_changes(files, starter)
    if not found or any(change.another_starter for change in found):
        return given_code.summary(found), None
    moved = given_code.transplanted(files, starter)
    if moved is None:
        return [*given_code.summary(found), "whether the score depends on these changes is "
                "not known: the START/END blocks do not match the starter's"], None
    with contextlib.redirect_stdout(io.StringIO()):
        ours = grade(tests, folder, Sandbox(package, moved, modules, users, early))
    return given_code.summary(found), {verdict.test.test_id: verdict for verdict in ours}


def depends_on_given_code(verdicts: list[Verdict], starters: dict[str, Verdict],
                          kind: str = "") -> str:
    """Whether the score of ``verdicts`` (of the ``kind`` of tests named, such as "basic")
    depends on the changed given code: the same tests with the starter's given code gave
    ``starters``."""
    tests = f"{kind} tests" if kind else "tests"
    if any(verdict.score != starters[verdict.test.test_id].score for verdict in verdicts
           if verdict.test.test_id in starters):
        return (f"the score depends on these changes: the {tests} that say so score otherwise "
                "with the starter's given code around your blocks")
    return (f"the score does not depend on these changes: every one of the {tests} scores the "
            "same with the starter's given code around your blocks")
