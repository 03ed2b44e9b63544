# Quick start:  make train   (trains the MAF on Moons into src/maf/)
#               make test    (the autograder and the engineering tests)
# Both create the virtual environment .venv on first use.

PYTHON ?= python3
VENV := .venv
PY := $(abspath $(VENV))/bin/python
ARGS ?=

.PHONY: train test venv clean

venv: $(VENV)/installed

$(VENV)/installed: src/requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10 or newer is needed; set PYTHON=python3.x")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r src/requirements.txt
	touch $@

train: venv
	cd src && $(PY) main.py --model flow --out_dir maf $(ARGS)

test: venv
	cd src && status=0; \
	  $(PY) grader.py || status=1; \
	  $(PY) -m tests || status=1; \
	  exit $$status

clean:
	rm -rf $(VENV) src/maf
