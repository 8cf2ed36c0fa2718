# galsim_deep developer entry points.  Quick start: `make demo`, `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
# Install (or update) the package whenever its packaging files change.
STAMP := $(VENV)/.installed

.PHONY: env test test-fast docs demo benchmark clean

env: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip wheel
	$(BIN)/python -m pip install --quiet -e ".[test,docs]"
	touch $(STAMP)

test: env
	$(BIN)/python -m pytest tests

docs: env
	$(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

demo: env
	$(BIN)/galsim-deep demo --out demo_output

benchmark: env
	$(BIN)/python benchmarks/run_benchmarks.py --out benchmarks/results.json

clean:
	rm -rf $(VENV) docs/_build .pytest_cache build *.egg-info
