"""Text that came from a submission, made safe to print and to write (standard library only).

A message, a traceback, what a child printed, a file or folder name of an upload: the judge
never shows them as received. ``printable`` makes any of them valid, printable UTF-8 of a
bounded length: lone surrogates, control characters (escape sequences included), invisible
format characters and line separators other than ``\\n`` are shown as Python escapes
(``\\x1b``, ``\\ud800``, ``\\u202e``), so that no text can crash a print, move a terminal's
cursor, or draw a line of its own. ``one_line`` does the same and escapes ``\\n`` too, for
text that stands inside one line (a name).

run_autograder imports this file from the bundle, so it uses the standard library alone.
"""

import unicodedata

LIMIT = 3000  # characters kept of one text, by default
# Unicode categories shown escaped: controls, format characters (bidi overrides, zero-width
# joiners), surrogates, private use, unassigned code points, line and paragraph separators.
UNSAFE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(text: object, limit: int = LIMIT, keep: str = "\n") -> str:
    """``text`` (a str, or bytes read as UTF-8 with errors replaced; anything else by its
    ``str``) with every unsafe character but those of ``keep`` escaped, cut to at most
    ``limit`` characters as shown (escapes included; a note then says how many characters
    of ``text`` were left out)."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", errors="replace")
    elif not isinstance(text, str):
        text = str(text)
    pieces, size = [], 0
    for index, char in enumerate(text[:limit + 1]):
        piece = (char if char in keep or unicodedata.category(char) not in UNSAFE
                 else _escape(char))
        if size + len(piece) > limit:
            return "".join(pieces) + f" ... ({len(text) - index} more characters)"
        pieces.append(piece)
        size += len(piece)
    return "".join(pieces)


def one_line(text: object, limit: int = 200) -> str:
    """``printable(text)`` with newlines escaped too: for text that stands within one line."""
    return printable(text, limit, keep="")
