# galsim_deep developer entry points.  Quick start: `make demo`, `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
# Install (or update) the package whenever its packaging files or pins change.  Every
# environment is pinned to exact versions (constraints/: why, and how to regenerate them).
STAMP := $(VENV)/.installed
PIN := -c constraints/main.txt
BTK_PIN := -c constraints/btk.txt
# BlendingToolKit pins astropy < 7 and numpy < 2.3, which the main environment cannot
# have: galsim_deep.api.btk is tested in an environment of its own (the [btk] extra).
BTK_VENV ?= .venv-btk
BTK_BIN := $(BTK_VENV)/bin
BTK_STAMP := $(BTK_VENV)/.installed

# Every environment is made the same way: pip installs the installers (pinned, uv among
# them), then uv installs the package and its extras at the pins.  uv fetches and unpacks
# the wheels in parallel, several times faster than pip, which CI and a new user's first
# `make demo` wait for (docs/performance.rst, "The test suite's time").
#
# uv compiles every installed module to bytecode (--compile-bytecode): where
# PYTHONDONTWRITEBYTECODE is set, as on this project's machines and CI, Python would
# otherwise compile TensorFlow's, GalSim's and astropy's sources again in every process,
# 9 CPU-seconds per TensorFlow import, and the suite starts hundreds of processes
# (docs/performance.rst, "The test suite's time").  The package's own modules are compiled
# too (compile_package); Python checks each against its source, so an edit is never stale.
bootstrap = $(1)/python -m pip install --quiet $(2) --upgrade pip wheel setuptools uv
uv_install = $(1)/uv pip install --python $(1)/python --compile-bytecode $(2)
compile_package = $(1)/python -m compileall -q galsim_deep

.PHONY: env btk-env demo-env test test-all test-main test-fast test-btk docs demo benchmark \
	benchmark-btk btk-figure example-figures fine-tune-figure clean

env: $(STAMP)

# Everything (all extras, tests, docs): what `make test` and `make docs` need.
$(STAMP): setup.cfg pyproject.toml constraints/main.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing galsim_deep with every extra (TensorFlow, GalSim, statmorph, dask, sphinx...) into $(VENV): about a minute the first time"
	$(call bootstrap,$(BIN),$(PIN))
	$(call uv_install,$(BIN),$(PIN)) --quiet -e ".[all,test,docs]"
	$(call uv_install,$(BIN),$(PIN)) --quiet --no-deps skycatalogs  # setup.cfg, [all]: why
	$(call compile_package,$(BIN))
	touch $(STAMP)

# The BTK tests' environment: galsim_deep[btk,tensorflow,test] with BTK's pins, and tf2onnx
# (the tests export small modules, with their portable copies).
btk-env: $(BTK_STAMP)

$(BTK_STAMP): setup.cfg pyproject.toml constraints/btk.txt
	test -x $(BTK_BIN)/python || $(PYTHON) -m venv $(BTK_VENV)
	@echo "installing galsim_deep[btk,tensorflow,test] (BlendingToolKit 1.0.9, astropy 6, numpy < 2.3) into $(BTK_VENV) for the BTK tests: about a minute the first time"
	$(call bootstrap,$(BTK_BIN),$(BTK_PIN))
	$(call uv_install,$(BTK_BIN),$(BTK_PIN)) --quiet -e ".[btk,tensorflow,test]" tf2onnx onnx
	$(call compile_package,$(BTK_BIN))
	touch $(BTK_STAMP)

# The demo needs sampling and the field previews only: the [simulate] extra, no TensorFlow
# (the shipped default modules sample through their portable copies, in OpenVINO).
DEMO_STAMP := $(VENV)/.installed-demo
demo-env: $(DEMO_STAMP)

$(DEMO_STAMP): setup.cfg pyproject.toml constraints/main.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing galsim_deep[simulate] into $(VENV): GalSim, ONNX Runtime, OpenVINO, astropy, h5py, dask and matplotlib (no TensorFlow)."
	@echo "This takes well under a minute the first time; uv lists the packages it installs."
	$(call bootstrap,$(BIN),$(PIN))
	$(call uv_install,$(BIN),$(PIN)) -e ".[simulate]"
	$(call compile_package,$(BIN))
	touch $(DEMO_STAMP)

# The BTK environment installs while the main suite runs (10 s less than one after the
# other on 2 cores: docs/performance.rst).  `make test-all` adds the tests marked extended
# (setup.cfg), which CI leaves out to stay under 15 minutes.
test:
	$(MAKE) --no-print-directory -j2 test-main btk-env
	$(MAKE) --no-print-directory test-btk

test-all: env btk-env
	$(MAKE) --no-print-directory test-main PYTEST_MARKS=
	$(MAKE) --no-print-directory test-btk

PYTEST_MARKS ?= -m "not extended"

# Two worker processes (pytest-xdist), each taking whole test files (--dist loadfile, so a
# file's module fixtures, the families' tiny trainings and exports, are built once; the tiny
# Flow-VAE that files on both workers use is built once per run, tests/conftest.py's
# built_once), the
# costliest first (tests/conftest.py orders them by tests/cpu_seconds.json; xdist's own
# reorder, by test count, would leave the long training files to the end).  The suite's time
# is written in one place, docs/performance.rst, "The test suite's time".
test-main: env
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder $(PYTEST_MARKS) \
		--durations=25 tests

# The quick loop while editing: the main suite without the tests marked slow (the families'
# trainings end to end, the validation report: `pytest --collect-only -q -m slow tests` lists
# them) in two processes, and its slowest tests, the next to mark slow if the loop outgrows its
# aim (its time: docs/performance.rst).  `make test` runs the slow tests too, `make test-all`
# the extended ones as well.  One folder of tests/, mirroring the package's:
# .venv/bin/python -m pytest tests/engine
#
# It runs in an environment of its own, .venv-fast: galsim_deep[simulate,test] (GalSim, ONNX
# Runtime, OpenVINO, no TensorFlow: about a third of .venv's size), so a first loop needs no
# 3.7 GB install.  The tests that need what it lacks (TensorFlow, the validation extras) are
# reported as skipped with the package named (tests/conftest.py, GALSIM_DEEP_LEAN_TESTS);
# `make test` runs them.
FAST_VENV ?= .venv-fast
FAST_BIN := $(FAST_VENV)/bin
FAST_STAMP := $(FAST_VENV)/.installed

$(FAST_STAMP): setup.cfg pyproject.toml constraints/main.txt
	test -x $(FAST_BIN)/python || $(PYTHON) -m venv $(FAST_VENV)
	@echo "installing galsim_deep[simulate,test] (no TensorFlow) into $(FAST_VENV) for the quick loop"
	$(call bootstrap,$(FAST_BIN),$(PIN))
	$(call uv_install,$(FAST_BIN),$(PIN)) --quiet -e ".[simulate,test]"
	$(call compile_package,$(FAST_BIN))
	touch $(FAST_STAMP)

test-fast: $(FAST_STAMP)
	GALSIM_DEEP_LEAN_TESTS=1 $(FAST_BIN)/python -m pytest -n 2 --dist loadfile \
		--no-loadscope-reorder -m "not slow and not extended" --durations=10 tests

test-btk: btk-env
	$(BTK_BIN)/python -m pytest -n 2 tests/api/test_btk.py -p no:cacheprovider

docs: env
	$(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

demo: demo-env
	$(BIN)/galsim-deep demo --out demo_output

# The cost issue's targets first (each generated row beside its parametric reference, the
# network in ONNX Runtime and in TensorFlow), then every section of the full benchmark, then
# the rotation's ringing beside GalSim's own rotate, then block drawing beside parametric
# galaxies drawn on the same stamps, then the network in each runtime beside TensorFlow.
benchmark: env
	$(BIN)/python benchmarks/bench_cost.py --out benchmarks/cost.json
	$(BIN)/python benchmarks/run_benchmarks.py --out benchmarks/results.json
	$(BIN)/python benchmarks/bench_rotation.py --out benchmarks/rotation.json
	$(BIN)/python benchmarks/bench_block.py --out benchmarks/block.json
	$(BIN)/python benchmarks/bench_runtimes.py --out benchmarks/runtimes.json
	$(BIN)/python benchmarks/bench_colour_fft.py --out benchmarks/colour_fft.json

# Cost per galaxy of BTK blends: galsim_deep's generator beside BTK's own (in .venv-btk).
benchmark-btk: btk-env
	$(BTK_BIN)/python benchmarks/bench_btk.py --out benchmarks/btk.json

# The figure of docs/btk.rst: a BTK blend batch of generated and of parametric galaxies.
btk-figure: btk-env
	GALSIM_DEEP_EXAMPLES_OUT=docs/_static $(BTK_BIN)/python examples/plot_04_btk_blends.py

# The figures of the examples the docs show without running them (docs/conf.py NOT_RUN: the
# tiny training's chain and the fine-tuning): each example's datasets, runs and module go to
# a temporary folder, its figure to docs/_static.
example-figures: env
	for pair in plot_06_train_tiny:tiny_samples.png plot_07_fine_tune:fine_tune.png; do \
		out=$$(mktemp -d) && GALSIM_DEEP_EXAMPLES_OUT=$$out \
			$(BIN)/python examples/$${pair%%:*}.py && cp $$out/$${pair#*:} docs/_static/; \
		status=$$?; rm -rf $$out; [ $$status -eq 0 ] || exit $$status; done

# The earlier name of example-figures (it drew the fine-tuning's figure only).
fine-tune-figure: example-figures

clean:
	rm -rf $(VENV) $(BTK_VENV) $(FAST_VENV) docs/_build docs/auto_examples docs/sg_execution_times.rst \
		.pytest_cache build *.egg-info
