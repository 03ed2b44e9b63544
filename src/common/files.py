"""Atomic writes: a file is either its old self or wholly new, never half-written.

Every writer of a file a user or a script reads next (checkpoints, metrics, results.json,
the course's archives) goes through ``replace_atomically``.
"""

import json
import os
from collections.abc import Callable
from pathlib import Path


def replace_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Writes ``path`` through ``write(tmp_path)``, then renames ``tmp_path`` onto it.

    A write that fails leaves ``path`` as it was and no temporary file behind.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(text: str, path: Path) -> None:
    """Writes ``text`` to ``path``, atomically."""
    replace_atomically(path, lambda tmp: tmp.write_text(text))


def write_json(data: dict, path: Path) -> None:
    """Writes ``data`` as indented JSON, atomically."""
    write_text(json.dumps(data, indent=2) + "\n", path)
