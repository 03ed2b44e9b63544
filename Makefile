# Quick start:  make train   (trains the MAF on Moons into src/maf/)
#               make test    (the grader, then the tests in src/tests/ where there are any)
#               make pdf     (the written answers: submission.tex -> submission.pdf)
#               make submission  (the code to hand in: submission.zip, after the basic tests;
#                                 PARTIAL=1: as it is, where basic tests fail)
# train, test and submission create the virtual environment .venv on first use, or run in an
# environment of your own: USE_PYTHON=/path/to/python (below).

# The Python the virtual environment is made from (PYTHON=...), and where it lives (VENV=DIR:
# elsewhere). Run as root, the grader runs the submission as another user, who must be able to
# run that Python too: by default python3, and as root the system's /usr/bin/python3 where it
# is 3.10 or newer (a python3 of one's own, pyenv's say, often lies in root's private home).
# make venv checks that first, in a fraction of a second, and says what to do where it fails.
PYTHON ?=
PYTHON_GIVEN := $(PYTHON)
ifeq ($(PYTHON),)
PYTHON := $(shell [ "$$(id -u)" = 0 ] && /usr/bin/python3 -c 'import sys; \
  sys.exit(sys.version_info < (3, 10))' 2>/dev/null && echo /usr/bin/python3 || echo python3)
endif
VENV ?= .venv
VENV_PY := $(abspath $(VENV))/bin/python
# USE_PYTHON=/path/to/python: that Python and its packages instead of .venv (a conda
# environment's, say); src/course/check_env.py checks first that it has those of
# src/requirements.txt.
USE_PYTHON ?=
# TORCH_INDEX=URL: the package index that torch and torchvision come from, such as PyTorch's
# CPU-only build, https://download.pytorch.org/whl/cpu. Unset: PyPI, whose Linux wheel of torch
# is the CUDA build, several GB.
TORCH_INDEX ?=
# SANDBOX_USER=auto|none|FIRST-LAST: whom the grader runs the submission as (grader.py's
# --sandbox-user; unset: auto, as root an unused uid of its own for each test). SANDBOX is the
# option with its leading space, written right after the word before it.
SANDBOX_USER ?=
SANDBOX := $(if $(SANDBOX_USER), --sandbox-user $(SANDBOX_USER))
ARGS ?=

.PHONY: train test venv clean-venv clean-train pdf submission

# venv: the environment that train, test and submission run in: .venv, made on first use, or
# with USE_PYTHON the check of that Python.
ifeq ($(USE_PYTHON),)
PY := $(VENV_PY)
venv: $(VENV)/installed
else
# A path made absolute, since the commands run in src/; a bare name is looked up in PATH.
PY := $(if $(findstring /,$(USE_PYTHON)),$(abspath $(USE_PYTHON)),$(USE_PYTHON))
venv:
	@cd src && $(PY) -m course.check_env$(SANDBOX)
endif

# What make venv says before it installs. The sizes were measured in fresh venvs on Linux
# x86_64 with Python 3.11: PyPI's torch 2.14.1 (5.8 GB in site-packages) and the CPU-only
# wheel of torch 2.13.0 (1.3 GB), each with the other packages.
ifeq ($(TORCH_INDEX),)
INSTALLING := installing src/requirements.txt into $(VENV), made from $(PYTHON); PyPI's torch \
  for Linux is the CUDA build: about 3 GB to download, 6 GB on disk (CPU-only, 0.3 GB and \
  1.3 GB: TORCH_INDEX=https://download.pytorch.org/whl/cpu, see README)
else
INSTALLING := installing src/requirements.txt into $(VENV), made from $(PYTHON); torch and \
  torchvision from $(TORCH_INDEX)
endif
# The stamp $(VENV)/installed names the interpreter the venv was made from (WHICH_PYTHON
# prints it): a PYTHON given that names another makes the venv again (without PYTHON, the
# venv there is kept).
WHICH_PYTHON := -c 'import os, sys; print(os.path.realpath(sys.executable))'
ifneq ($(PYTHON_GIVEN),)
ifneq ($(shell cat $(VENV)/installed 2>/dev/null),$(shell $(PYTHON) $(WHICH_PYTHON) 2>/dev/null))
$(VENV)/installed: FORCE
endif
endif
FORCE:
$(VENV)/installed: src/requirements.txt
	@cd src && $(PYTHON) -m course.check_env --venv $(abspath $(VENV))$(SANDBOX)
	@echo "make venv: $(INSTALLING)"
	$(PYTHON) -m venv --clear $(VENV)
ifneq ($(TORCH_INDEX),)
	$(VENV_PY) -m pip install --index-url $(TORCH_INDEX) $$(grep '^torch' src/requirements.txt)
endif
	$(VENV_PY) -m pip install -r src/requirements.txt
	$(PYTHON) $(WHICH_PYTHON) >$@

train: venv
	cd src && $(PY) main.py --model flow --out_dir maf $(ARGS)

# src/tests/ holds the repository's own tests; a students' copy has none.
test: venv
	cd src && status=0; \
	  $(PY) grader.py$(SANDBOX) || status=1; \
	  if [ -d tests ]; then $(PY) -m tests || status=1; fi; \
	  exit $$status

# Each removes one thing: the virtual environment, or make train's run (src/maf/).
clean-venv:
	rm -rf $(VENV)

clean-train:
	rm -rf src/maf

# ----------------------------------------------------------------------------------------
# What a student hands in

LATEX := pdflatex -halt-on-error -interaction=nonstopmode -file-line-error
# pdflatex twice, so that the second pass resolves the references. A LaTeX error, or an
# undefined reference or citation left after the second pass, fails and leaves no PDF.
# Overfull lines (text running into the margin) are only reported.
pdf:
	@command -v pdflatex >/dev/null || \
	  { echo "pdflatex not found: apt-get install texlive-latex-base" >&2; exit 1; }
	@rm -f submission.pdf
	@for pass in 1 2; do \
	  $(LATEX) submission.tex >/dev/null || { \
	    grep -E -A 2 '^(!|.*:[0-9]+: )' submission.log >&2; \
	    echo "make pdf: LaTeX error (above; full log in submission.log)" >&2; \
	    rm -f submission.pdf; exit 1; }; \
	done
	@if grep -E 'undefined|Warning: (Reference|Citation)' submission.log >&2; then \
	  echo "make pdf: undefined references or citations (above)" >&2; \
	  rm -f submission.pdf; exit 1; fi
	@grep -E '^Overfull' submission.log >&2 || true
	@echo "wrote submission.pdf"

# submission.zip is written only once an unzipped copy of it imports as the course's
# autograder needs and passes the basic tests alone (and with the starter's given code around
# its blocks, where it changed that code); with PARTIAL=1, work that fails basic tests, as it
# is (it must still import). A zip there that earned more is kept.
submission: venv
	cd src && $(PY) -m course.make_submission$(if $(PARTIAL), --partial)$(SANDBOX)

# ========================================================================================
# Course staff only: `make release` leaves this part out of the students' copy.
#   make autograder  (the Gradescope bundle autograder.zip)
#   make release     (the students' starter: release/ and release.zip)
#   make bench       (GAN epoch times and sample quality against the course loop; ~1 hour)
#   make check       (a few minutes: the grader, then the fast tier of src/tests/, each
#                     module's quick tests; make test runs every test)
#   make lint        (ruff on src/, configured in src/ruff.toml; make dev-tools installs it)
.PHONY: autograder release bench check lint dev-tools

# autograder.zip, written once it has given src/submission full points as Gradescope would
# run it.
autograder: venv
	cd src && $(PY) -m course.make_autograder

# release/ and release.zip: the repository without its answers, with the students' grader.
release: venv
	cd src && $(PY) -m course.make_release$(SANDBOX)

bench: venv
	cd src && $(PY) -m training.bench gan $(ARGS)

# The grader on the reference (seconds; its only run of the checks of the written answers),
# then the fast tier of the tests
check: venv
	cd src && status=0; \
	  $(PY) grader.py$(SANDBOX) || status=1; \
	  $(PY) -m tests --fast || status=1; \
	  exit $$status

# Ruff: a tool for maintainers, not a package the code needs (so not in src/requirements.txt);
# CI installs this version.
RUFF := ruff==0.17.6
dev-tools: venv
	$(PY) -m pip install '$(RUFF)'

lint:
	@$(PY) -m ruff --version >/dev/null 2>&1 || { echo "make lint: $(PY) has no ruff;" \
	  "install it with make dev-tools ($(PY) -m pip install '$(RUFF)')" >&2; exit 1; }
	cd src && $(PY) -m ruff check .
