# galsim_deep developer entry points.  Quick start: `make demo`, `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
# Install (or update) the package whenever its packaging files change.
STAMP := $(VENV)/.installed

.PHONY: env demo-env test docs demo benchmark clean

env: $(STAMP)

# Everything (all extras, tests, docs): what `make test` and `make docs` need.
$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing galsim_deep with every extra into $(VENV) (a few minutes the first time)"
	$(BIN)/python -m pip install --quiet --upgrade pip wheel
	$(BIN)/python -m pip install --quiet -e ".[all,test,docs]"
	touch $(STAMP)

# The demo needs sampling and the field previews only: the [simulate] extra.
DEMO_STAMP := $(VENV)/.installed-demo
demo-env: $(DEMO_STAMP)

$(DEMO_STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing galsim_deep[simulate] into $(VENV) (a few minutes the first time)"
	$(BIN)/python -m pip install --quiet --upgrade pip wheel
	$(BIN)/python -m pip install --quiet -e ".[simulate]"
	touch $(DEMO_STAMP)

test: env
	$(BIN)/python -m pytest tests

docs: env
	$(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

demo: demo-env
	$(BIN)/galsim-deep demo --out demo_output

benchmark: env
	$(BIN)/python benchmarks/run_benchmarks.py --out benchmarks/results.json

clean:
	rm -rf $(VENV) docs/_build .pytest_cache build *.egg-info
