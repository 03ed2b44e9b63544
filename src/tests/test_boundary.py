"""The judge and the sandbox share one module, ``sandbox/protocol.py`` (see
``sandbox/CONTRACT.md``): the judge imports nothing else of ``sandbox/``, the sandbox nothing
of the judge's, ``common/`` neither side's, and no module of ``src/`` imports itself through
others. Read from the source's import statements (any of them, in a function too), not by
running it; and the recipes the judge may name are those the sandbox makes."""

import ast
import io
import unittest
from pathlib import Path

from sandbox import calls, protocol

SRC = Path(__file__).resolve().parent.parent
# Every module of src/ but the tests and the student's package, and Gradescope's entry point
SCRIPTS = {"course.gradescope.run_autograder": SRC / "course" / "gradescope" / "run_autograder"}
JUDGE = ("grader", "graderUtil", "judge", "course.starter")


def modules() -> dict[str, Path]:
    """Each module of src/ by its dotted name (a package by its own)."""
    found = dict(SCRIPTS)
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        if parts[0] in ("tests", "submission"):
            continue
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(path: Path, known: set[str]) -> set[str]:
    """The modules of ``known`` that the file at ``path`` imports: ``from a import b`` imports
    ``a.b`` where that is a module, else ``a``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names} & known
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            named = {f"{node.module}.{alias.name}" for alias in node.names} & known
            found |= named or ({node.module} & known)
    return found


def graph() -> dict[str, set[str]]:
    """Each module of src/ and the modules of src/ it imports."""
    found = modules()
    return {name: imports(path, set(found)) - {name} for name, path in found.items()}


def on_side(name: str, side: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(f"{prefix}.") for prefix in side)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(name: str) -> None:
        index[name] = low[name] = len(index)
        stack.append(name)
        for other in edges.get(name, ()):
            if other not in index:
                visit(other)
                low[name] = min(low[name], low[other])
            elif other in stack:
                low[name] = min(low[name], index[other])
        if low[name] == index[name]:
            component = []
            while not component or component[-1] != name:
                component.append(stack.pop())
            if len(component) > 1:
                found.append(sorted(component))

    for name in sorted(edges):
        if name not in index:
            visit(name)
    return found


class BoundaryTest(unittest.TestCase):
    def setUp(self):
        self.graph = graph()

    def test_the_graph_is_read(self):
        # The reader finds what is known to be there, so that an empty answer below means
        # something.
        self.assertIn("sandbox.protocol", self.graph["judge.run"])
        self.assertIn("sandbox.protocol", self.graph["sandbox.server"])
        self.assertIn("common.processes", self.graph["course.gradescope.run_autograder"])

    def test_the_judge_imports_only_the_protocol_of_the_sandbox(self):
        reached = {(name, other) for name, others in self.graph.items() if on_side(name, JUDGE)
                   for other in others if on_side(other, ("sandbox",))}
        self.assertEqual({other for _, other in reached}, {"sandbox.protocol"}, reached)

    def test_the_judges_modules_import_only_the_judge_common_and_the_protocol(self):
        # judge/ is the machinery under grader.py and graderUtil.py, never above them; the
        # manifest is data (which files ship where).
        allowed = ("judge", "common", "sandbox.protocol", "course.manifest")
        reached = {(name, other) for name, others in self.graph.items()
                   if on_side(name, ("judge",)) for other in others
                   if not on_side(other, allowed)}
        self.assertEqual(reached, set())
        self.assertIn("judge.declare", self.graph["judge.run"])  # the graph holds judge/

    def test_the_sandbox_imports_nothing_of_the_judge(self):
        reached = {(name, other) for name, others in self.graph.items()
                   if on_side(name, ("sandbox",)) for other in others if on_side(other, JUDGE)}
        self.assertEqual(reached, set())

    def test_common_imports_neither_side(self):
        reached = {(name, other) for name, others in self.graph.items()
                   if on_side(name, ("common",)) for other in others
                   if on_side(other, (*JUDGE, "sandbox"))}
        self.assertEqual(reached, set())

    def test_no_import_cycle(self):
        self.assertEqual(cycles(self.graph), [])
        self.assertEqual(cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}),
                         [["a", "b", "c"]])  # and the search finds one where there is one


class ProtocolTest(unittest.TestCase):
    def test_the_judge_may_name_every_recipe_the_sandbox_makes_and_no_other(self):
        self.assertEqual(sorted(calls.RECIPES), sorted(recipe.value for recipe in protocol.Recipe))

    def test_a_message_is_read_back_whole_and_within_its_limit(self):
        stream = io.BytesIO()
        protocol.write_message(stream, b"hello")
        protocol.write_message(stream, b"x" * 10)
        stream.seek(0)
        self.assertEqual(protocol.read_message(stream, 5), b"hello")
        with self.assertRaisesRegex(ValueError, "longer than 9"):
            protocol.read_message(stream, 9)
        self.assertIsNone(protocol.read_message(io.BytesIO(), 5))  # the stream ended
        cut = io.BytesIO(protocol.LENGTH.pack(5) + b"hel")
        with self.assertRaisesRegex(ValueError, "cut short"):
            protocol.read_message(cut, 5)


if __name__ == "__main__":
    unittest.main()
