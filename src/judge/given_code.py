"""The starter's given code (all but the START/END blocks) and the lines of a hand-in that
differ from it, so that a student hears of every change made outside the blocks.

The starter's text is ``given_code.json`` beside the grader (``make release`` and
``make autograder`` write it: each file of ``submission/`` with its blocks emptied), or, in
this repository, ``submission/`` itself. Blank lines, comments and the spelling of the
markers (common/blocks.py reads them) do not count as changes.
"""

import difflib
import json
from dataclasses import dataclass
from pathlib import Path

from common.blocks import BLOCK, line_spans, with_bodies
from course.manifest import GIVEN_CODE_FILE, HAND_IN

# Where more than this share of the given lines differ, the hand-in was written on another
# starter: it is reported once as such, not line by line.
ANOTHER_STARTER = 0.3
# A file this long (the starter's are under 10,000 characters) is not compared line by line
# (difflib's time grows with both files' lengths): it is reported once, as too long.
MAX_CHARS = 200_000


def emptied(source: str) -> str:
    """``source`` with every block's body taken out (our two markers at its indentation)."""
    return with_bodies(source, lambda match: "")


def starter_texts(folder: Path) -> dict[str, str]:
    """The starter's files (name: text, blocks emptied) for the grader in ``folder``: its
    ``given_code.json``, else its ``submission/``; {} where neither is there."""
    written = folder / GIVEN_CODE_FILE
    if written.is_file():
        return json.loads(written.read_text())
    return {name: emptied((folder / "submission" / name).read_text()) for name in HAND_IN
            if (folder / "submission" / name).is_file()}


def write_starter_texts(source: Path, out: Path) -> None:
    """Writes the starter's texts (GIVEN_CODE_FILE) at ``out`` from the grader folder ``source``."""
    out.write_text(json.dumps(starter_texts(source), indent=1) + "\n")


def given_lines(source: str) -> list[tuple[int, str]]:
    """The lines of ``source`` outside its blocks that count (line number, text without the
    indentation's trailing spaces); each block is one line ``<block>``."""
    lines = source.split("\n")
    inside = {index: start for start, end in line_spans(source) for index in range(start, end + 1)}
    found = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        if inside.get(index) == index:
            found.append((index + 1, "<block>"))
        elif index not in inside and stripped and not stripped.startswith("#"):
            found.append((index + 1, line.rstrip()))
    return found


@dataclass
class Changes:
    """How a file's given code differs from the starter's."""

    name: str
    lines: list[str]  # "line N: `text`" (changed, added), "removed: `text`"
    share: float  # the share of the starter's given lines that differ
    too_long: bool = False  # over MAX_CHARS: not compared

    @property
    def another_starter(self) -> bool:
        return self.share > ANOTHER_STARTER


def changes(name: str, source: str, starter: str) -> Changes | None:
    """What differs between the given code of ``source`` (the hand-in's file ``name``) and
    the starter's, or None if nothing does."""
    if len(source) > MAX_CHARS:
        return Changes(name, [f"{len(source):,} characters"], 1.0, too_long=True)
    theirs, ours = given_lines(source), [text for _, text in given_lines(starter)]
    matcher = difflib.SequenceMatcher(None, ours, [text for _, text in theirs],
                                      autojunk=False)
    found = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "replace" and i2 - i1 == j2 - j1:  # line for line: each with what it was
            found += [f"line {number}: `{text.strip()}` (was `{was.strip()}`)"
                      for (number, text), was in zip(theirs[j1:j2], ours[i1:i2])]
            continue
        if tag in ("replace", "insert"):
            found += [f"line {number}: `{text.strip()}`" for number, text in theirs[j1:j2]]
        if tag in ("replace", "delete"):
            found += [f"removed: `{text.strip()}`" for text in ours[i1:i2]]
    if not found:
        return None
    same = sum(block.size for block in matcher.get_matching_blocks())
    return Changes(name, found, 1 - same / max(len(ours), 1))


def all_changes(files: dict[str, bytes], starter: dict[str, str]) -> list[Changes]:
    """The Changes of every file of the hand-in (``files``: name in the package, bytes) that
    the starter has."""
    found = []
    for name, text in starter.items():
        if name in files:
            source = files[name].decode("utf-8", errors="replace")
            if (change := changes(name, source, text)) is not None:
                found.append(change)
    return found


def transplanted(files: dict[str, bytes], starter: dict[str, str]) -> dict[str, bytes] | None:
    """The hand-in's blocks in the starter's given code (each block in the place of the
    starter's block of the same rank), or None where a file's blocks cannot be matched."""
    result = dict(files)
    for name, text in starter.items():
        if name not in files:
            continue
        theirs = [match[0] for match in BLOCK.finditer(files[name].decode("utf-8", "replace"))]
        if len(theirs) != len(BLOCK.findall(text)):
            return None
        blocks = iter(theirs)
        result[name] = BLOCK.sub(lambda match, blocks=blocks: next(blocks), text).encode()
    return result


def summary(found: list[Changes]) -> list[str]:
    """The report's lines: each file written on another starter once, else each change."""
    lines = []
    for change in found:
        where = f"submission/{change.name}"
        if change.too_long:
            lines.append(f"{where} is too long to compare with the starter ({change.lines[0]}); "
                         "your functions are judged with your own given code")
        elif change.another_starter:
            lines.append(f"{where} was written on another starter: {change.share:.0%} of the "
                         "given code (outside the START/END blocks) differs from this one's; "
                         "your functions are judged with your own given code")
        else:
            shown = "; ".join(change.lines[:10])
            more = f"; and {len(change.lines) - 10} more" if len(change.lines) > 10 else ""
            lines.append(f"{where}: given code changed outside the START/END blocks: "
                         f"{shown}{more}")
    return lines
