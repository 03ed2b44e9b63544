"""Atomic writes: a file is either its old self or wholly new, never half-written.

Every writer of a file a user or a script reads next (checkpoints, metrics, results.json,
the course's archives) goes through ``replace_atomically``; the course's archives are written
by ``write_zip``.
"""

import json
import os
import zipfile
from collections.abc import Callable, Collection, Mapping
from pathlib import Path

# The date of a zip entry written from bytes, which have no time of their own
ZIP_DATE = (2026, 1, 1, 0, 0, 0)


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


def write_zip(archive: Path, entries: Mapping[str, Path | bytes],
              executable: Collection[str] = ()) -> None:
    """Writes the zip ``archive``, atomically: its entries (name in the zip: a file or bytes)
    in this order, deflated.

    A file keeps its own time and permissions, which unzipping gives back (make's rules in a
    release compare times). Bytes are dated ZIP_DATE, with the permissions 0o644, or 0o755
    where their name is in ``executable``: the same bytes make the same zip.
    """
    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
            for name, contents in entries.items():
                if isinstance(contents, Path):
                    out.write(contents, name)
                    continue
                info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
                info.external_attr = (0o100755 if name in executable else 0o100644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                out.writestr(info, contents)

    replace_atomically(archive, write)
