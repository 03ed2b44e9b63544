#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu, online).
# It installs what the grader imports (torch, numpy) into a virtual environment at
# /autograder/venv, which run_autograder uses, readable by every user: the submission runs as
# uids of its own, fresh for each test, that no account names (none is created here).
set -euo pipefail

apt-get update -qq
apt-get install -y -qq --no-install-recommends python3 python3-venv python3-pip
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "the grader needs Python 3.10 or newer; choose a newer Ubuntu base image")'
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --quiet --upgrade pip
# PyTorch's CPU wheels: a few hundred MB, where the default wheel carries CUDA (several GB).
/autograder/venv/bin/pip install --quiet torch --index-url https://download.pytorch.org/whl/cpu
/autograder/venv/bin/pip install --quiet numpy
/autograder/venv/bin/python -c 'import numpy, torch; print("torch", torch.__version__)'
chmod -R a+rX /autograder/venv
