#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu, online).
# It installs the students' environment into a virtual environment at /autograder/venv (the
# root is $AUTOGRADER_ROOT where set, as for run_autograder), which run_autograder uses: the
# packages of src/requirements.txt at the versions requirements.lock pins (those of the
# environment that made the bundle), torch and torchvision as PyTorch's CPU builds, so that
# whatever a submission imports in the students' environment imports here too.
# The venv is readable by every user: the submission runs as uids of its own, fresh for each
# test, that no account names (none is created here).
set -euo pipefail

ROOT="${AUTOGRADER_ROOT:-/autograder}"
LOCK="$ROOT/source/requirements.lock"  # where Gradescope unpacks the zip
CPU_INDEX=https://download.pytorch.org/whl/cpu

apt-get update -qq
apt-get install -y -qq --no-install-recommends python3 python3-venv python3-pip
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "the grader needs Python 3.10 or newer; choose a newer Ubuntu base image")'
echo "setup.sh: $(python3 --version) here; $(grep -o 'Python [0-9.]*' "$LOCK") made the bundle"
python3 -m venv "$ROOT/venv"
"$ROOT/venv/bin/pip" install --quiet --upgrade pip
# The CPU wheels first (a few hundred MB, where PyPI's carry CUDA: several GB), then the rest
# from PyPI; torch and torchvision, already there at the pinned versions, are kept.
"$ROOT/venv/bin/pip" install --quiet --index-url "$CPU_INDEX" $(grep '^torch' "$LOCK")
"$ROOT/venv/bin/pip" install --quiet -r "$LOCK"
"$ROOT/venv/bin/python" -c 'import numpy, torch; print("torch", torch.__version__)'
chmod -R a+rX "$ROOT/venv"
