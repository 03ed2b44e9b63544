"""The START/END blocks of the students' files: where a student writes code.

A block is a START marker line, the student's lines of code, and an END marker line::

    ### START CODE HERE ###
    ...
    ### END CODE HERE ###

Blocks are read in any spelling a student, a course or the problem set may use (``### START
CODE HERE ###``, ``# START CODE HERE``, ``### START_CODE_HERE ###``: any number of ``#``,
spaces around the words), so that reformatting a marker changes nothing; they are written in
the first alone (``block``). A marker is a line of its own; a START with no END before the next
START opens no block, and the lines after it are given code. The judge's comparison of given
code, the release's placeholders and the tests' variants of the reference all read blocks here.
"""

import re
from collections.abc import Callable

START = "### START CODE HERE ###"
END = "### END CODE HERE ###"
# The text of a START or END marker line after its indentation, in any accepted spelling
_MARKER = r"#+ *{}[ _]CODE[ _]HERE *#*[ \t]*"
_START, _END = _MARKER.format("START"), _MARKER.format("END")
# One block: from its START line's first character to its END line's last (the line break
# after it left out); group 1 is the START line's indentation. No line inside is a START line.
BLOCK = re.compile(rf"^([ \t]*){_START}\n(?:(?![ \t]*{_START}$).*\n)*?[ \t]*{_END}$", re.M)


def block(indent: str, body: str) -> str:
    """A block in our spelling holding ``body`` (lines of code, not indented), each line but
    an empty one indented by ``indent``, as are the markers."""
    lines = [f"{indent}{line}" if line else "" for line in body.splitlines()]
    return "\n".join([f"{indent}{START}", *lines, f"{indent}{END}"])


def with_bodies(source: str, body: Callable[[re.Match], str]) -> str:
    """``source`` with each block written anew (``block``) at its START line's indentation,
    holding ``body(match)``: its lines of code, not indented (match: the block's BLOCK match).
    """
    return BLOCK.sub(lambda match: block(match[1], body(match)), source)


def line_spans(source: str) -> list[tuple[int, int]]:
    """(index of the START line, index of the END line) of each block of ``source``, lines
    counted from 0 and split at ``\\n``."""
    found, line, position = [], 0, 0
    for match in BLOCK.finditer(source):
        start = line + source.count("\n", position, match.start())
        line, position = start + match[0].count("\n"), match.end()
        found.append((start, line))
    return found
