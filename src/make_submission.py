"""Writes ``submission.zip`` for upload, once the zipped copy passes the basic tests alone.

    python make_submission.py [--out ../submission.zip]     (``make submission`` runs this)

The zip holds exactly ``submission/__init__.py``, ``submission/flow_network.py`` and
``submission/gan.py``, the paths the problem set asks for. It is unzipped into a temporary
folder and graded there (``grader.py --submission``) with the basic tests that carry points,
so what is uploaded is what was tested; if any fails, no zip is written.
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

SRC = Path(__file__).resolve().parent
FILES = ["submission/__init__.py", "submission/flow_network.py", "submission/gan.py"]


def basic_test_ids() -> list[str]:
    """The basic tests of the code (the 0-point ones check written answers, not the zip)."""
    points = json.loads((SRC / "points.json").read_text())
    return [test for test, value in points.items() if test.endswith("-basic") and value > 0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=SRC.parent / "submission.zip",
                        help="where to write the zip (default: submission.zip at the top level)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        archive, unzipped = Path(tmp) / "submission.zip", Path(tmp) / "unzipped"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
            for name in FILES:
                out.write(SRC / name, name)
        with zipfile.ZipFile(archive) as written:
            written.extractall(unzipped)
        graded = subprocess.run([sys.executable, "grader.py", "--submission", str(unzipped),
                                 *basic_test_ids()], cwd=SRC)
        if graded.returncode != 0:
            print(f"{args.out} not written: the zipped copy fails the basic tests above",
                  file=sys.stderr)
            return 1
        shutil.move(archive, args.out)
    print(f"wrote {args.out}: {', '.join(FILES)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
