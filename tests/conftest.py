"""Shared pytest fixtures: small modules exported by the project's own code, datasets."""
import fcntl
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from tests.checks import op_determinism_restored

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# No usage telemetry from ONNX Runtime in any test process (tests/engine/test_runtimes.py
# checks that the package opts out by itself, in processes without this setting).
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

# GALSIM_DEEP_TEST_CPU=DIR writes each test's CPU seconds (setup, call and teardown, this
# process's and its finished subprocesses') to DIR/<worker>.json: a ranking of the tests
# that a busy machine does not distort as it does wall times (which tests to mark slow).
_CPU_DIR = os.environ.get("GALSIM_DEEP_TEST_CPU")
_CPU_SECONDS = {}


def _cpu_seconds():
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    if not _CPU_DIR:
        yield
        return
    start = _cpu_seconds()
    yield
    _CPU_SECONDS[item.nodeid] = _cpu_seconds() - start


def pytest_sessionfinish(session):
    if _CPU_SECONDS:
        out = Path(_CPU_DIR) / f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(_CPU_SECONDS, indent=1))
    elif _CPU_DIR and "PYTEST_XDIST_WORKER" not in os.environ:
        # the controller of an xdist run: the workers' records summed per file
        by_file = {}
        for path in sorted(Path(_CPU_DIR).glob("gw*.json")):
            for nodeid, seconds in json.loads(path.read_text()).items():
                name = nodeid.split("::")[0]
                by_file[name] = round(by_file.get(name, 0.0) + seconds, 1)
        if by_file:
            (Path(_CPU_DIR) / "cpu_seconds.json").write_text(json.dumps(
                dict(sorted(by_file.items(), key=lambda kv: -kv[1])), indent=1))


# The lean loop (`make test-fast`, GALSIM_DEEP_LEAN_TESTS=1): the environment holds only the
# [simulate,test] extras, no TensorFlow, so a test file or a test that needs a package it
# lacks is reported as skipped, naming the package, instead of failing.  Only there: in the
# full environment a missing package fails, and a missing galsim_deep module always does.
LEAN = os.environ.get("GALSIM_DEEP_LEAN_TESTS") == "1"
_NO_MODULE = re.compile(r"No module named '([\w.]+)'")


def _optional_missing(text):
    """What a failure's message says is missing, where it is an optional package; else
    None."""
    found = _NO_MODULE.search(text)
    if found and found.group(1).split(".")[0] not in ("galsim_deep", "tests"):
        return f"needs {found.group(1)}, which the lean environment lacks"
    if "MissingExtraError" in text or "needs the optional packages" in text:
        return "needs an optional extra the lean environment lacks"
    if "needs TensorFlow, which is not installed" in text:
        return "needs TensorFlow (a module without a portable copy), which the lean " \
               "environment lacks"
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    report = outcome.get_result()
    if LEAN and report.failed:
        reason = _optional_missing(str(report.longrepr))
        if reason:
            report.outcome = "skipped"
            report.longrepr = (str(collector.path), 0, f"Skipped: {reason}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if LEAN and report.failed and call.excinfo is not None:
        reason = _optional_missing(f"{call.excinfo.typename}: {call.excinfo.value}")
        if reason:
            report.outcome = "skipped"
            report.longrepr = (str(item.path), item.location[1] or 0, f"Skipped: {reason}")


# Test files costliest first, by the CPU seconds recorded in FILE_CPU_SECONDS: with
# `--dist loadfile --no-loadscope-reorder` (the Makefile's) the two workers then take the
# long training files at the start and share out the short ones at the end, and each
# file's module fixtures are built once.  Refresh the record with
#     GALSIM_DEEP_TEST_CPU=DIR pytest -n 2 --dist loadfile tests; cp DIR/cpu_seconds.json tests/
# (files it lacks run after those it has).
FILE_CPU_SECONDS = Path(__file__).with_name("cpu_seconds.json")


def pytest_collection_modifyitems(config, items):
    if not FILE_CPU_SECONDS.is_file():
        return
    cost = json.loads(FILE_CPU_SECONDS.read_text())
    items.sort(key=lambda item: -cost.get(item.nodeid.split("::")[0], 0.0))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test gets a fresh module cache and no extra index; never the user's ~/.cache."""
    monkeypatch.setenv("GALSIM_DEEP_CACHE", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("GALSIM_DEEP_INDEX", raising=False)
    monkeypatch.delenv("GALSIM_DEEP_OFFLINE", raising=False)


@pytest.fixture(scope="session")
def tiny_module_path(tmp_path_factory):
    """An untrained toy network module: 32x32 stamps at 0.03", latent size 5."""
    from tests.toy_modules import export_toy

    return export_toy("network", tmp_path_factory.mktemp("modules") / "toy-network")


@pytest.fixture(scope="session")
def gaussian_module_path(tmp_path_factory):
    """A module drawing round Gaussians centred on the stamp's true centre (32x32)."""
    from tests.toy_modules import export_toy

    return export_toy("gaussian", tmp_path_factory.mktemp("modules") / "toy-gaussian")


def built_once(tmp_path_factory, name, build):
    """The folder ``name``, filled by ``build(folder)`` once per test session.

    Under pytest-xdist each worker holds its own session fixtures, so a training that two
    workers' files need would run twice; here the first worker to ask builds it in the
    session's shared base folder, under a lock, while another waits, then both read it (the
    pattern of xdist's docs, "making session-scoped fixtures execute only once").  Its
    users treat it as read-only (they copy a run before training on).  A build that
    failed part-way leaves no completion mark, and the next caller starts it afresh.
    """
    root = tmp_path_factory.getbasetemp()
    if "PYTEST_XDIST_WORKER" in os.environ:
        root = root.parent
    folder = root / name
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / ".complete").is_file():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            (folder / ".complete").touch()
    return folder


def _build_mock_dataset(folder):
    from galsim_deep.data.build import build_dataset

    build_dataset("mock-cosmos", 24, folder / "mock.h5", stamp_size=32, pixel_scale=0.03,
                  seed=1, processes=1, progress=False)


@pytest.fixture(scope="session")
def mock_dataset_path(tmp_path_factory):
    """A tiny mock-COSMOS dataset (32x32 stamps at 0.03", 24 galaxies), read-only."""
    return built_once(tmp_path_factory, "mock_dataset", _build_mock_dataset) / "mock.h5"


@pytest.fixture(scope="session")
def eval_path(tmp_path_factory):
    """A tiny evaluation file: a new seed, every galaxy in the test split (32x32 at 0.03")."""
    from galsim_deep.data.build import build_dataset

    return build_dataset("mock-cosmos", 24, tmp_path_factory.mktemp("eval") / "eval.h5",
                         stamp_size=32, pixel_scale=0.03, seed=2, n_test=24, processes=1,
                         progress=False)


@pytest.fixture(scope="module")
def restore_op_determinism():
    """Module fixture form of :func:`tests.checks.op_determinism_restored` for training test files."""
    with op_determinism_restored():
        yield


def _tiny_recipe(dataset, folder):
    from galsim_deep.training.recipes import load_recipe

    return load_recipe("tiny", [f"dataset.path={dataset}", f"output_dir={folder / 'run'}"])


@pytest.fixture(scope="session")
def tiny_flow_vae_recipe(mock_dataset_path, tmp_path_factory):
    """The ``tiny`` recipe on ``mock_dataset_path`` (32x32 at 0.03", latent size 4), its VAE
    and latent flow trained once per session (checkpoints under its ``output_dir``, which
    tests copy before training on)."""
    from galsim_deep.training.flow_vae.train import train_flow_vae
    from galsim_deep.training.latent_flow import train_latent_flow

    def build(folder):
        recipe = _tiny_recipe(mock_dataset_path, folder)
        with op_determinism_restored():
            train_flow_vae(recipe, progress=False)
            train_latent_flow(recipe, progress=False)

    return _tiny_recipe(mock_dataset_path, built_once(tmp_path_factory, "tiny_flow_vae", build))


@pytest.fixture(scope="session")
def tiny_flow_vae_module_path(tiny_flow_vae_recipe, tmp_path_factory):
    """The Flow-VAE module (encode, decode, log_prob, sample) exported from
    ``tiny_flow_vae_recipe``."""
    from galsim_deep.training.families import get_family

    def build(folder):
        get_family("flow-vae").export(tiny_flow_vae_recipe, folder / "module")

    return built_once(tmp_path_factory, "tiny_flow_vae_module", build) / "module"
