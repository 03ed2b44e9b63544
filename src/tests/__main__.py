"""Runs every engineering test in this folder: ``python -m tests`` from ``src/``.

unittest's own report, then a last line ``N passed, N failed`` for CI.
"""

import sys
import unittest
from pathlib import Path

suite = unittest.defaultTestLoader.discover(str(Path(__file__).parent),
                                            top_level_dir=str(Path(__file__).parent.parent))
result = unittest.TextTestRunner(verbosity=2).run(suite)
failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
passed = result.testsRun - failed - len(result.skipped)
skipped = f", {len(result.skipped)} skipped" if result.skipped else ""
print(f"{passed} passed, {failed} failed{skipped}")
sys.exit(0 if failed == 0 else 1)
