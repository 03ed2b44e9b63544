"""Builds the students' starter from this repository: ``release/`` and ``release.zip``.

    python -m course.make_release [--out ../release]   (``make release`` runs this)

The starter is this repository without its answers:

- ``src/submission/``: every START/END block holds a placeholder that raises
  NotImplementedError naming its function; every other byte is as here.
- ``submission.tex``: the same sections, each answer left empty.
- ``src/grader.py``: the students' grader (``starter/grader.py``). Its basic tests judge against
  values that this repository's grader computes here at a fixed seed (``basic_tests.pt``); its
  hidden tests are listed (``hidden_tests.json``) and graded on Gradescope. It names every
  change a hand-in made outside the blocks against the starter's given code
  (``given_code.json``).
- ``README.md`` (``starter/README.md``), the Makefile without its part for course staff, and
  the trainers, networks, data loading, plots, evaluation (with the runs it compares with:
  ``results/one_epoch.json``, its bands' runs, and ``results/flow_default.json``),
  ``make_submission.py`` and the set-up (``requirements.txt``, ``environment.yml``,
  ``check_env.py``) as here.

Not in it: the tests, the benchmark and its other results, the checks of written answers, the
Gradescope bundle's sources and this script. Before the folder is written, its grader must give
``src/submission/`` every basic point.
"""

import argparse
import ast
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import graderUtil
from common import blocks
from common.exit_status import SETUP_PROBLEM
from common.files import write_zip
from course.manifest import (
    BASIC_TESTS_FILE,
    BLANKED,
    GIVEN_CODE_FILE,
    HIDDEN_TESTS_FILE,
    POINTS,
    STARTER,
    release_copied,
)
from judge import given_code

SRC = Path(__file__).resolve().parents[1]
ROOT = SRC.parent
# The Makefile's line from which on it serves course staff alone
STAFF_ONLY = "# ====="
SECTION_BREAK = re.compile(r"^% -{20,}\n", re.M)
SEED = 0


# ----------------------------------------------------------------------------------------
# The code and the written answers without their answers


def function_names(source: str) -> list[tuple[int, int, str]]:
    """(first line, last line, qualified name) of every function in ``source``."""
    found = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if isinstance(child, ast.FunctionDef):
                    found.append((child.lineno, child.end_lineno, name))
                visit(child, f"{name}.")

    visit(ast.parse(source), "")
    return found


def with_placeholders(source: str) -> str:
    """``source`` with the code of every START/END block replaced by
    ``raise NotImplementedError("<function>: not implemented yet")``."""
    functions = function_names(source)

    def placeholder(match: re.Match) -> str:
        line = source.count("\n", 0, match.start()) + 1
        name = max((first, name) for first, last, name in functions if first <= line <= last)[1]
        return f'raise NotImplementedError("{name}: not implemented yet")'

    return blocks.with_bodies(source, placeholder)


def without_answers(tex: str) -> str:
    """The written answers with every section's answer left empty: the preamble up to
    ``\\maketitle``, then each ``\\section*`` heading and a line to write under."""
    head, *sections = SECTION_BREAK.split(tex)
    preamble = head[: head.index("\\maketitle\n") + len("\\maketitle\n")]
    parts = [preamble]
    for section in sections:
        heading = section.splitlines()[0]
        if not heading.startswith("\\section*{"):
            raise ValueError(f"submission.tex: a section should start with \\section*, not "
                             f"{heading!r}")
        part = heading[len("\\section*{"):-1]
        parts.append(f"\n% {'-' * 87}\n{heading}\n\n% Your answer to {part}.\n")
    return "".join(parts) + "\n\\end{document}\n"


def students_makefile(makefile: str) -> str:
    """The Makefile up to its part for course staff."""
    if STAFF_ONLY not in makefile:
        raise ValueError(f"Makefile: no line {STAFF_ONLY!r} marks the part for course staff")
    return makefile[: makefile.index(STAFF_ONLY)].rstrip() + "\n"


# ----------------------------------------------------------------------------------------
# The values the basic tests expect


def basic_cases() -> dict[str, list[dict]]:
    """The cases of every basic test (the format of ``starter/grader.py``), each with weights
    and inputs chosen as grader.py chooses them, the value that its reference computations
    give, and the values of its known mistakes (so that a failure can name one)."""
    import grader  # the tests' batch and logits
    from common.stand_ins import IMAGE_SHAPE, LinearGenerator
    from judge import flow_references, gan_references, mistakes  # run here: only their values ship
    from judge.common import CONDITIONAL, HIDDEN_SIZE, NONSATURATING, WGAN_GP, trained_layer

    torch.manual_seed(SEED)
    cases: dict[str, list[dict]] = {}
    for test_id, method, reference in (
            ("1a-0-basic", "forward", flow_references.reference_forward),
            ("1b-0-basic", "inverse", flow_references.reference_inverse)):
        cases[test_id] = []
        for D in (2, 4):
            (state, net), x = flow_references.made_weights(D, 1), torch.randn(grader.BATCH, D)
            cases[test_id].append({
                "what": f"MADE.{method} (D = {D})", "model": "MADE", "args": (D, HIDDEN_SIZE, 1),
                "state": state, "method": method, "input": x,
                "expected": detached(reference(net, x)),
                "mistakes": detached(mistakes.made_mistakes(method, net, x)),
            })

    (state, flow_blocks), x = flow_references.maf_weights(2, 3), torch.randn(grader.BATCH, 2)
    cases["1c-0-basic"] = [{
        "what": "MAF.log_probs", "model": "MAF", "args": (2, HIDDEN_SIZE, 1, 3),
        "state": state, "method": "log_probs", "input": x,
        "expected": flow_references.reference_log_prob(flow_blocks, x).mean().detach(),
        "mistakes": detached(mistakes.batch_means(mistakes.maf_mistakes(flow_blocks, x))),
    }]

    for test_id, names in (("2b-0-basic", NONSATURATING), ("4b-0-basic", CONDITIONAL),
                           ("5e-0-basic", WGAN_GP)):
        conditional = names == CONDITIONAL
        cases[test_id] = [
            loss_case(name, gan_references.stand_ins(conditional), train=trained_layer(name))
            for name in names]
        if test_id != "5e-0-basic":  # where log(sigmoid(h)) written out is infinite
            cases[test_id] += [
                loss_case(name, gan_references.stand_ins(conditional, logits), logits)
                for logits in grader.BASIC_LOGITS for name in names]
    critic = (LinearGenerator(), gan_references.linear_critic(3.0),
              torch.randn(gan_references.GAN_BATCH, *IMAGE_SHAPE))
    cases["5e-0-basic"].append({
        **loss_case("loss_wasserstein_gp_d", (*critic, None), train={"critic": "d"}),
        "what": "loss_wasserstein_gp_d(...) with a linear critic",
        "critic_gradient": detached(gan_references.linear_critic_expectations(*critic)),
    })
    return cases


def loss_case(name: str, setup: tuple, logits: float | None = None,
              train: dict[str, str] | None = None) -> dict:
    """A basic case of the loss ``name`` on ``setup`` (gan_references.Setup): with D's logits
    shifted by ``logits`` (where it is given) and the gradients sent to ``train`` checked. Its
    draws, value and known mistakes are the judge's (loss_cases.LossCase)."""
    from judge import loss_cases

    g, d, x_real, y_real = setup
    case = loss_cases.loss_case(name, setup)
    where = "" if logits is None else f" at logits near {logits:+g}"
    return {
        "what": f"{name}(...){where}", "loss": name,
        "networks": (type(g).__name__, type(d).__name__),
        "states": (g.state_dict(), d.state_dict()), "x_real": x_real, "y_real": y_real,
        "z": case.z, "fakes": case.fakes, "logits": logits, "train": train,
        "expected": case.expected.float(),  # the loss's own dtype, from float64
        "mistakes": detached(case.mistakes),
    }


def detached(values: object) -> object:
    """``values`` (tensors in tuples and dicts, or None) as plain tensors in float32 where
    float64, the results' dtype, for basic_tests.pt."""
    if values is None:
        return None
    if isinstance(values, torch.Tensor):
        values = values.detach()
        return values.float() if values.dtype == torch.float64 else values
    if isinstance(values, dict):
        return {key: detached(value) for key, value in values.items()}
    return tuple(detached(value) for value in values)


def points_and_hidden_tests() -> tuple[dict[str, float], dict[str, str]]:
    """The points of the graded tests, and the description of each hidden one."""
    import grader
    from judge.declare import collect_tests, is_written_check

    points = {test_id: value for test_id, value in
              json.loads((SRC / POINTS).read_text()).items() if not is_written_check(value)}
    tests = collect_tests([grader], points)
    return points, {test.test_id: test.description for test in tests if test.hidden}


# ----------------------------------------------------------------------------------------
# Writing the release


def build(folder: Path) -> None:
    """Writes the release into the empty or new ``folder``."""
    for path in release_copied():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / path, folder / path)  # with its time: make's rules compare them
    for path, source in STARTER.items():
        shutil.copy2(ROOT / source, folder / path)
    for path in BLANKED:
        (folder / path).write_text(with_placeholders((ROOT / path).read_text()))
    (folder / "submission.tex").write_text(without_answers((ROOT / "submission.tex").read_text()))
    (folder / "Makefile").write_text(students_makefile((ROOT / "Makefile").read_text()))
    torch.save(basic_cases(), folder / "src" / BASIC_TESTS_FILE)
    given_code.write_starter_texts(SRC, folder / "src" / GIVEN_CODE_FILE)
    points, hidden = points_and_hidden_tests()
    (folder / "src" / POINTS).write_text(json.dumps(points, indent=2) + "\n")
    (folder / "src" / HIDDEN_TESTS_FILE).write_text(json.dumps(hidden, indent=2) + "\n")


def reference_problem(folder: Path, sandbox_user: str) -> str:
    """Why the release's grader in ``folder``, the submission run as ``sandbox_user`` (its
    ``--sandbox-user``), does not give src/submission every basic point, in one line (its
    report printed above it), or its set-up problem alone; "" where it does."""
    done = subprocess.run([sys.executable, "grader.py", "--submission", str(SRC / "submission"),
                           "--sandbox-user", sandbox_user],
                          cwd=folder / "src", capture_output=True, text=True)
    if done.returncode == SETUP_PROBLEM:  # the grader could not run: not a score
        return graderUtil.setup_problem_line(done.stderr)
    if done.returncode != 0:
        print(done.stdout, done.stderr, sep="\n", file=sys.stderr)
        return "its grader does not give src/submission every basic point (above)"
    return ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "release",
                        help="the folder to write; the zip goes beside it (default: release/ "
                        "and release.zip at the top level)")
    parser.add_argument("--sandbox-user", default="auto", metavar="USER",
                        help="whom the grader runs the submission as (grader.py's option)")
    args = parser.parse_args()
    out = args.out.resolve()
    if out.exists() and not (out / "src" / BASIC_TESTS_FILE).is_file():
        print(f"{out} exists and is not a release: remove it or choose another --out",
              file=sys.stderr)
        return 1
    started = time.perf_counter()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as tmp:
        folder = Path(tmp) / out.name
        build(folder)
        problem = reference_problem(folder, args.sandbox_user)
        if problem:
            print(f"{out} not written: {problem}", file=sys.stderr)
            return 1
        write_zip(out.with_suffix(".zip"), {  # its files under the folder's name
            f"{folder.name}/{path.relative_to(folder)}": path
            for path in sorted(folder.rglob("*")) if path.is_file()})
        if out.exists():
            shutil.rmtree(out)  # the previous release
        folder.rename(out)
    size = out.with_suffix(".zip").stat().st_size
    print(f"wrote {out}/ and {out.with_suffix('.zip')} ({size / 2**20:.1f} MiB) in "
          f"{time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
