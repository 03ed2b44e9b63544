"""Gradescope's results JSON of a grading run: each test's score and report, a summary."""

from judge.declare import GradedTest
from judge.report import Verdict, points_text

NOT_RUN = "not run: grading stopped before this test finished (it ran out of time)"


def gradescope_results(
    tests: list[GradedTest], verdicts: list[Verdict], seconds: float, preface: list[str] = (),
    starters: dict[str, Verdict] | None = None,
) -> dict[str, object]:
    """Gradescope's results of ``tests`` (a test without a verdict scores 0 as not run), with
    the lines of ``preface`` on top. Where ``starters`` (grade's) holds a test, its entry's
    ``extra_data`` gives ``score_with_given_code``, the score with the starter's given code
    around the hand-in's blocks (make_submission.py reads it; Gradescope shows none of it).

    Basic tests are ``visible``, hidden ones ``after_published``. The summary on top speaks
    of the basic tests alone and stdout stays hidden, so that nothing tells a student about
    the hidden tests before the course publishes the grades.
    """
    by_id = {verdict.test.test_id: verdict for verdict in verdicts}
    entries = []
    for test in tests:
        verdict = by_id.get(test.test_id)
        entries.append({
            "number": test.test_id,
            "name": test.description,
            "score": verdict.score if verdict else 0.0,
            "max_score": test.points,
            "output": "\n".join(verdict.output) if verdict else NOT_RUN,
            "visibility": "after_published" if test.hidden else "visible",
        })
        if starters and test.test_id in starters:
            entries[-1]["extra_data"] = {"score_with_given_code": starters[test.test_id].score}
    basic = [test for test in tests if not test.hidden]
    earned = sum(by_id[test.test_id].score for test in basic if test.test_id in by_id)
    passed = sum(by_id[test.test_id].passed for test in basic if test.test_id in by_id)
    summary = (
        f"Basic tests: {points_text(earned)}/"
        f"{points_text(sum(test.points for test in basic))} points, "
        f"{passed} of {len(basic)} passed."
    )
    if hidden := [test for test in tests if test.hidden]:
        summary += (
            f" The hidden tests ({points_text(sum(test.points for test in hidden))} points) are "
            "shown once the course publishes the grades."
        )
    if len(verdicts) < len(tests):
        summary = (
            f"Grading stopped during test {tests[len(verdicts)].test_id} (it ran out of time); "
            "that test and those after it score 0.\n"
            + summary
        )
    return {
        "execution_time": round(seconds, 2),
        "output": "\n".join([*preface, summary]),
        "stdout_visibility": "hidden",
        "tests": entries,
    }
