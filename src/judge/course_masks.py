"""Whether the uploaded ``MADE.create_masks`` is the course starter's own, which cannot build a
MADE with D = 1: read from the upload's text as data, never run, and never taken from the
sandbox's report.

Only the full grader imports this module: it is in the Gradescope bundle, never in the
students' copy (course/manifest.py's JUDGE_ONLY).
"""

import ast
import copy
import functools

from judge import given_code

# The course's own starter gives MADE.create_masks as below (tests/course_starter.py builds its
# whole file around this text): its hidden degrees k % (D - 1) leave no MADE with D = 1 to build.
COURSE_CREATE_MASKS = """\
def create_masks(self):
    D = self.input_size
    masks = []
    input_degrees = torch.arange(D)
    degrees = [input_degrees]
    for _ in range(self.n_hidden + 1):
        degrees += [torch.tensor([k % (D - 1) for k in range(self.hidden_size)])]
    degrees += [input_degrees % D - 1]
    for d0, d1 in zip(degrees[:-1], degrees[1:]):
        masks += [(d1.unsqueeze(-1) >= d0.unsqueeze(0)).float()]
    return masks
"""


def code_of(function: ast.FunctionDef) -> str:
    """The code of ``function`` without its layout, comments, blank lines and docstring: its
    syntax tree, as text."""
    function = copy.copy(function)
    first = function.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
            and isinstance(first.value.value, str):
        function.body = function.body[1:]
    return ast.dump(function)


COURSE_CODE = code_of(ast.parse(COURSE_CREATE_MASKS).body[0])


@functools.lru_cache(maxsize=4)
def course_masks_line(source: bytes | None) -> int | None:
    """Where ``MADE.create_masks`` of this flow_network.py is the course starter's own
    (COURSE_CREATE_MASKS, comments, blank lines and layout aside): the line of its remainder by
    D - 1; else None. Read here as data, nothing run; parsed once per grading run (cached), and
    not at all over given_code.MAX_CHARS (the starter's file is far shorter)."""
    if not source or len(source) > given_code.MAX_CHARS:
        return None
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "MADE"]
    methods = [node for node in (classes[-1].body if classes else [])
               if isinstance(node, ast.FunctionDef) and node.name == "create_masks"]
    if len(classes) != 1 or len(methods) != 1 or methods[0].decorator_list \
            or code_of(methods[0]) != COURSE_CODE or _rebinds_masks(tree, methods[0]):
        return None
    return min(node.lineno for node in ast.walk(methods[0]) if _is_remainder_by_minus_one(node))


def _rebinds_masks(tree: ast.Module, method: ast.FunctionDef) -> bool:
    """Whether anything in ``tree`` but ``method`` could stand in for MADE.create_masks: another
    binding of the name MADE or create_masks (an assignment, an import, a def), or the name
    create_masks anywhere but in a call ``self.create_masks()`` (an attribute set from outside,
    a string given to setattr). Such a file may build D = 1 after all, so its D = 1 cases are
    graded, not left out."""
    for node in ast.walk(tree):
        if node is method:
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                and node.name == "create_masks":
            return True
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) \
                and node.id in ("MADE", "create_masks"):
            return True
        if isinstance(node, ast.alias) and (node.asname or node.name) in ("MADE", "create_masks"):
            return True
        if isinstance(node, ast.Attribute) and node.attr == "create_masks" and not (
                isinstance(node.ctx, ast.Load) and isinstance(node.value, ast.Name)
                and node.value.id == "self"):
            return True
        if isinstance(node, ast.Constant) and node.value == "create_masks":
            return True
    return False


def _is_remainder_by_minus_one(node: ast.AST) -> bool:
    """Whether ``node`` is ``a % (b - 1)``."""
    if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod)):
        return False
    divisor = node.right
    return (isinstance(divisor, ast.BinOp) and isinstance(divisor.op, ast.Sub)
            and isinstance(divisor.right, ast.Constant) and divisor.right.value == 1)
