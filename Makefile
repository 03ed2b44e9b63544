# Quick start:  make train   (trains the MAF on Moons into src/maf/)
#               make test    (the grader, then the tests in src/tests/ where there are any)
#               make pdf     (the written answers: submission.tex -> submission.pdf)
#               make submission  (the code to hand in: submission.zip, after the basic tests)
# train, test and submission create the virtual environment .venv on first use.

# The Python the virtual environment is made from, and where it lives (VENV=DIR: elsewhere).
# Run as root, the grader runs the submission as another user, who must be able to run that
# Python: make it one every user can read (PYTHON=/usr/bin/python3), in a folder they reach.
PYTHON ?= python3
VENV ?= .venv
PY := $(abspath $(VENV))/bin/python
ARGS ?=

.PHONY: train test venv clean pdf submission

venv: $(VENV)/installed

$(VENV)/installed: src/requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10 or newer is needed; set PYTHON=python3.x")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r src/requirements.txt
	touch $@

train: venv
	cd src && $(PY) main.py --model flow --out_dir maf $(ARGS)

# src/tests/ holds the repository's own tests; a students' copy has none.
test: venv
	cd src && status=0; \
	  $(PY) grader.py || status=1; \
	  if [ -d tests ]; then $(PY) -m tests || status=1; fi; \
	  exit $$status

clean:
	rm -rf $(VENV) src/maf

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
# autograder needs and passes the basic tests alone.
submission: venv
	cd src && $(PY) make_submission.py

# ========================================================================================
# Course staff only: `make release` leaves this part out of the students' copy.
#   make autograder  (the Gradescope bundle autograder.zip)
#   make release     (the students' starter: release/ and release.zip)
#   make bench       (GAN epoch times and sample quality against the course loop; ~1 hour)
.PHONY: autograder release bench

# autograder.zip, written once it has given src/submission full points as Gradescope would
# run it.
autograder: venv
	cd src && $(PY) make_autograder.py

# release/ and release.zip: the repository without its answers, with the students' grader.
release: venv
	cd src && $(PY) make_release.py

bench: venv
	cd src && $(PY) bench.py gan $(ARGS)
